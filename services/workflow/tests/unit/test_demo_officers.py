"""The demo officers (development only) staff each demo province at province, district
and commune level, and a commune has a receiver and a processor."""

from __future__ import annotations

import json
from collections import defaultdict

from workflow.domain.staff import check_roles
from workflow.services.officers import DEMO_FILE


def level(code: str) -> str:
    _, _, district, commune = code.split(".")
    if commune != "000":
        return "commune"
    return "district" if district != "000" else "province"


def test_each_demo_province_is_staffed_at_every_level() -> None:
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))["officers"]
    roles: dict[tuple[str, str], set[str]] = defaultdict(set)
    for officer in demo:
        check_roles(officer["roles"])
        province = officer["agency_code"].split(".")[1]
        roles[(province, level(officer["agency_code"]))].update(officer["roles"])
    provinces = {province for province, _ in roles}
    assert provinces == {"306", "394"}  # Bắc Kạn, Sóc Trăng
    for province in provinces:
        for unit_level in ("province", "district", "commune"):
            assert {"receiver", "processor", "approver"} <= roles[(province, unit_level)], (
                province, unit_level,
            )  # fmt: skip
    assert len({o["username"] for o in demo}) == len(demo)
