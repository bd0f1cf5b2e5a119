"""The dossier-code rule both issuers follow: intake online, workflow at the desk."""

from __future__ import annotations

from datetime import date

import pytest

from shared.contracts.codes import (
    DOSSIER_CODE,
    SEQUENCES,
    SequenceExhausted,
    issued_code,
    issuer_of,
    new_update_code,
)

AGENCY = "G01.306.000.000"
DAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("issuer", "nth", "code"),
    [
        ("online", 1, f"{AGENCY}-261201-0001"),
        ("online", 100, f"{AGENCY}-261201-0100"),
        ("online", 89_999, f"{AGENCY}-261201-89999"),
        ("desk", 1, f"{AGENCY}-261201-90001"),
        ("desk", 9_999, f"{AGENCY}-261201-99999"),
    ],
)
def test_each_issuer_numbers_in_its_own_range(issuer: str, nth: int, code: str) -> None:
    issued = issued_code(issuer, AGENCY, DAY, nth)  # type: ignore[arg-type]
    assert issued == code
    assert DOSSIER_CODE.match(issued)
    assert issuer_of(issued) == issuer


@pytest.mark.parametrize(("issuer", "nth"), [("online", 90_000), ("desk", 10_000)])
def test_an_issuer_stops_at_the_end_of_its_range(issuer: str, nth: int) -> None:
    with pytest.raises(SequenceExhausted):
        issued_code(issuer, AGENCY, DAY, nth)  # type: ignore[arg-type]


def test_the_two_ranges_never_meet() -> None:
    (online_first, online_last), (desk_first, desk_last) = SEQUENCES["online"], SEQUENCES["desk"]
    assert online_first == 1
    assert online_last < desk_first <= desk_last
    # The same agency's day never gives one code to both issuers.
    online = {issued_code("online", AGENCY, DAY, n) for n in (1, 9_999, 89_999)}
    desk = {issued_code("desk", AGENCY, DAY, n) for n in (1, 9_999)}
    assert not online & desk


@pytest.mark.parametrize("code", ["", "G01-261201", f"{AGENCY}-261201-90000", "x-261201-0001"])
def test_a_code_of_no_issuer_is_named_so(code: str) -> None:
    assert issuer_of(code) is None


@pytest.mark.parametrize("nth", [0, -1])
def test_counters_start_at_one(nth: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        issued_code("desk", AGENCY, DAY, nth)


def test_update_codes_are_unambiguous_and_differ() -> None:
    codes = {new_update_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and not set(c) & set("0O1IL") for c in codes)
