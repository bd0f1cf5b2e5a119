"""Benchmarks: run with `make bench`; they report numbers, they do not assert timings.

Every benchmark adds its figures to one `Results`, each beside the raw limit it depends
on (measured first, in the same run, by `raw_limits`); at the end of the session they are
written to `bench-results.json` (`BENCH_RESULTS` to choose another path) and printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.perf.raw import RawLimits, measure_raw_limits
from tests.perf.support import Results, machine_busy, machine_facts

RESULTS = pytest.StashKey[Results]()
# The raw limits first: every later figure is given as a ratio of one of them.
FIRST = ("test_raw.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.path.name not in FIRST)


def pytest_configure(config: pytest.Config) -> None:
    results = Results(machine=machine_facts())
    config.stash[RESULTS] = results


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest) -> Results:
    return request.config.stash[RESULTS]


@pytest.fixture(scope="session")
async def raw_limits(
    results: Results, rabbit: tuple[str, str], object_store_server: object
) -> RawLimits:
    """The raw operations a dossier needs, measured once per run before anything else."""
    from shared.testing.infra import ObjectStoreServer

    assert isinstance(object_store_server, ObjectStoreServer)
    with machine_busy() as busy:
        raw = await measure_raw_limits(rabbit[1], object_store_server, results)
    results.facts["machine_busy_during_raw_limits"] = round(busy.share, 3)
    return raw


@pytest.fixture(autouse=True)
def busy_while_measured(request: pytest.FixtureRequest, results: Results) -> Iterator[None]:
    """The whole machine's CPU share in use during each benchmark (others' work included)."""
    with machine_busy() as busy:
        yield
    results.facts.setdefault("machine_busy", {})[request.node.name] = round(busy.share, 3)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    results = terminalreporter.config.stash.get(RESULTS, None)
    if results is None or not results.figures:
        return
    path = Path(os.environ.get("BENCH_RESULTS", "bench-results.json"))
    results.machine["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results.write(path)
    terminalreporter.write_sep("=", f"benchmark figures (also in {path})")
    terminalreporter.write_line(results.table())
