"""The catalogue's reference data says what is official and what stands in for it: a
procedure code is national only where a source was found, and every agency code says
whether it is a Decision 20/2020 e-ID or a demo code shaped like one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from intake.domain.reference import reference_problems
from intake.services.catalogue import DATA_DIR


def data(name: str) -> Any:
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))


# Found: 1.004194 in seed 004; the other ten in a public copy of the Ministry's
# published residence procedures ("Số hồ sơ TTHC ..."), not in the seeds.
NATIONAL = {"1.004194", "1.004222", "1.003197", "1.002755", "1.010028", "1.010038",
            "1.010039", "1.010040", "1.010041", "2.001159", "1.003677"}  # fmt: skip


def test_the_shipped_catalogue_says_which_codes_are_national() -> None:
    procedures, agencies = data("procedures"), data("agencies")
    assert reference_problems(procedures["procedures"], agencies) == []
    scopes = {p["code"]: p["code_scope"] for p in procedures["procedures"]}
    assert {c for c, s in scopes.items() if s == "national"} == NATIONAL
    assert scopes["1.990101"] == "local"
    timing = {p["code"]: p["fee_timing"] for p in procedures["procedures"]}
    # Fully online with a fee; free; partly online with a fee (paid at the desk).
    assert (timing["1.004194"], timing["1.990104"], timing["1.990108"]) == (
        "before_submission", "on_result", "on_result",
    )  # fmt: skip
    assert all(a["code_status"] == "demo" for a in agencies["agencies"])
    assert agencies["ministry"] == {"code": "G01", "name": "Bộ Công an", "code_status": "official"}


PROC = {"code": "1.004194", "code_scope": "national", "code_source": "seed 004",
        "online_level": "full", "fee_vnd": 7000, "fee_timing": "before_submission"}  # fmt: skip
AGENCIES = {"ministry": {"code": "G01", "name": "Bộ Công an", "code_status": "official"},
            "agencies": [{"code": "G01.306.000.000", "code_status": "demo"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("procedure", "agencies", "problem"),
    [
        ({**PROC, "code_scope": None}, AGENCIES, "1.004194: code_scope must be national or local"),
        ({**PROC, "code_source": ""}, AGENCIES, "1.004194: a national code needs its source"),
        ({**PROC, "code": "TT-01"}, AGENCIES, "TT-01: not shaped like a national code"),
        (PROC, {**AGENCIES, "agencies": [{"code": "H06.1", "code_status": "demo"}]},
         "H06.1: not a unit of the Ministry (G01) shaped as in Decision 20/2020"),
        (PROC, {**AGENCIES, "agencies": [{"code": "G01.306.000.000"}]},
         "G01.306.000.000: code_status must be official or demo"),
        (PROC, {**AGENCIES, "ministry": {"code": "G02", "code_status": "official"}},
         "the Ministry of Public Security is G01 (Decision 20/2020/QĐ-TTg)"),
        ({**PROC, "fee_timing": "on_result"}, AGENCIES,
         "1.004194: fee_timing must be before_submission"),
        ({**PROC, "fee_timing": None}, AGENCIES,
         "1.004194: fee_timing must be before_submission"),
        ({**PROC, "fee_vnd": 0}, AGENCIES, "1.004194: fee_timing must be on_result"),
        ({**PROC, "online_level": "partial"}, AGENCIES, "1.004194: fee_timing must be on_result"),
    ],
)  # fmt: skip
def test_reference_data_that_would_mislead_is_named(
    procedure: dict[str, Any], agencies: dict[str, Any], problem: str
) -> None:
    assert reference_problems([procedure], agencies) == [problem]
