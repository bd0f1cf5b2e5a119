"""The root conftest refuses a test that uses the real infrastructure without a marker."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_only_the_unmarked_test_using_the_infrastructure_is_named(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_unmarked(start_probe): ...

            @pytest.mark.integration
            def test_integration(database_url): ...

            @pytest.mark.e2e
            def test_e2e(rabbit): ...

            def test_plain(tmp_path): ...

            @pytest.fixture
            def start_probe(amqp_namespace): ...
            """
        )
    )
    # Loaded as a plugin: the probe lives outside the repository, where no conftest applies.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "--collect-only", "-q", "-p",
         "no:cacheprovider", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    # The node id is relative to pytest's root, which depends on where the clone lies.
    refused = [
        line.strip().rsplit("/", 1)[-1] for line in done.stderr.splitlines() if " uses " in line
    ]
    assert refused == ["test_probe.py::test_unmarked uses amqp_namespace, rabbit"]
