"""What the catalogue's reference data may claim.

A procedure code is presented as national (the MaTTHC of the national database of
administrative procedures) only where a source for it was found; otherwise it is a local
code (`code_scope: local`) however it is shaped. Agency codes are e-IDs in the form of
Decision 20/2020/QĐ-TTg: the Ministry of Public Security is G01 and its units sit below
it (G01.xxx.xxx.xxx); each says whether it is the official e-ID or a demo code standing in
for one (`code_status`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from intake.domain.payments import fee_timing

NATIONAL_CODE = re.compile(r"^[123]\.\d{6}$")
MINISTRY = "G01"
UNIT_CODE = re.compile(r"^G01(\.\d{3}){3}$")


def reference_problems(
    procedures: Iterable[Mapping[str, Any]], agencies: Mapping[str, Any]
) -> list[str]:
    """What in the data would mislead (empty when nothing): in English, for the people who
    maintain the data files, not for citizens."""
    problems = []
    for procedure in procedures:
        code, scope = procedure["code"], procedure.get("code_scope")
        if scope not in ("national", "local"):
            problems.append(f"{code}: code_scope must be national or local")
        elif scope == "national" and not NATIONAL_CODE.match(code):
            problems.append(f"{code}: not shaped like a national code")
        elif scope == "national" and not procedure.get("code_source"):
            problems.append(f"{code}: a national code needs its source")
        expected = fee_timing(procedure["online_level"], procedure["fee_vnd"])
        if procedure.get("fee_timing") != expected:
            # Paid online before submission only where the whole procedure is online and
            # its fee fixed; a citizen could otherwise never submit, or submit unpaid.
            problems.append(f"{code}: fee_timing must be {expected}")
    if agencies.get("ministry", {}).get("code") != MINISTRY:
        problems.append("the Ministry of Public Security is G01 (Decision 20/2020/QĐ-TTg)")
    for agency in agencies["agencies"]:
        code = agency["code"]
        if not UNIT_CODE.match(code):
            problems.append(
                f"{code}: not a unit of the Ministry (G01) shaped as in Decision 20/2020"
            )
        elif agency.get("code_status") not in ("official", "demo"):
            problems.append(f"{code}: code_status must be official or demo")
    return problems
