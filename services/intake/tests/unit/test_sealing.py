"""Keyed digests: stored ones (update code hashes, rate-limit buckets, idempotency
scopes) must still match after an upgrade, and never across purposes."""

from __future__ import annotations

from intake.services.sealing import (
    keyed_digest,
    pseudonym,
    update_code_digest,
    update_code_matches,
)

SECRET = "s3cret"


def test_digests_are_those_earlier_versions_stored() -> None:
    assert update_code_digest(SECRET, "abcd2345") == (
        "5f28bfa624a19ff575691091769fe80e51cba970a2d53e005048de047c1d9af8"
    )
    assert pseudonym(SECRET, "login-ip:203.0.113.7") == "1170a5cfbfe8d0a369fc6ef6a9cb45fe"
    assert keyed_digest(SECRET, "registration-password", "matkhau2024") == (
        "b4e84295b58c88522e53fce7b7ef4389fbd2b9b4cfaf4e7a441d181d337b3a0e"
    )


def test_a_digest_made_for_one_purpose_matches_no_other() -> None:
    digests = {keyed_digest(SECRET, purpose, "001099012345") for purpose in ("a", "b", "c")}
    assert len(digests) == 3
    assert keyed_digest("other", "a", "001099012345") not in digests


def test_an_update_code_matches_as_typed_from_an_sms() -> None:
    stored = update_code_digest(SECRET, "ABCD2345")
    assert update_code_matches(SECRET, stored, " abcd2345 ")
    assert not update_code_matches(SECRET, stored, "ABCD2346")
    assert not update_code_matches(SECRET, None, "ABCD2345")
