"""Benchmarks: run with `make bench`; they report numbers, they do not assert timings."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)
