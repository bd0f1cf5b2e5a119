"""A request's fingerprint for its Idempotency-Key."""

from __future__ import annotations

from shared.db.idempotency import NO_RETRY, Retry, request_hash


def test_a_request_without_a_key_is_not_fingerprinted() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise AssertionError("hashed although no key was given")

    assert Retry.of(None, {"form": Unprintable()}) is NO_RETRY


def test_a_request_with_a_key_is_fingerprinted_by_what_it_asked() -> None:
    retry = Retry.of("k-1", {"a": 1, "b": [2]})
    assert retry == Retry("k-1", request_hash({"b": [2], "a": 1}))
    assert Retry.of("k-1", {"a": 2}).fingerprint != retry.fingerprint
