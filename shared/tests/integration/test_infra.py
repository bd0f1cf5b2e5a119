"""The test harness's own start-up: the object store starts even when a port it was given
is taken between being found free and being bound."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio

from shared.testing import infra

pytestmark = pytest.mark.integration


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process holds, as one found free and then taken by someone else
    (bound, not listening: a client trying it is refused rather than left waiting)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


def test_the_object_store_starts_when_its_s3_port_was_taken_meanwhile(
    tmp_path: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    found_free = infra.free_port
    handed: list[int] = []

    def racing_free_port() -> int:
        # The 7th port of the first start is the S3 one (the order of weed's flags).
        port = taken_port if len(handed) == 6 else found_free()
        handed.append(port)
        return port

    monkeypatch.setattr(infra, "free_port", racing_free_port)
    with infra.seaweedfs(tmp_path) as server:
        assert server.endpoint != f"127.0.0.1:{taken_port}"
        client = Minio(
            server.endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            secure=False,
        )
        assert client.bucket_exists("dvc-ping") is False
    assert taken_port in handed
