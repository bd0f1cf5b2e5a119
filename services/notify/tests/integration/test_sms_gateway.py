"""The HTTP SMS gateway adapter against a real HTTP server playing the gateway."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from notify.adapters.channels import HttpSmsProvider
from notify.domain.delivery import PermanentSendError, TransientSendError


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body["auth"] = self.headers.get("Authorization")
            received.append(body)
            status = {"0911111111": 503, "0922222222": 400}.get(body["to"], 200)
            answer = json.dumps({"id": f"msg-{len(received)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/sms", received
    server.shutdown()


async def test_the_gateway_contract(gateway: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = gateway
    provider = HttpSmsProvider(url, "khoa-bi-mat", "DICHVUCONG", timeout=5)
    receipt = await provider.send("0912 345 678", "Ho so G01 da tiep nhan")
    assert receipt.reference == "msg-1"
    assert received[0] == {"to": "0912345678", "text": "Ho so G01 da tiep nhan",
                           "sender": "DICHVUCONG", "auth": "Bearer khoa-bi-mat"}  # fmt: skip
    with pytest.raises(TransientSendError):
        await provider.send("0911111111", "x")
    with pytest.raises(PermanentSendError):
        await provider.send("0922222222", "x")
    with pytest.raises(PermanentSendError):
        await provider.send("12345", "x")  # never reaches the gateway
    assert len(received) == 3


async def test_an_unreachable_gateway_is_a_transient_failure() -> None:
    provider = HttpSmsProvider("http://127.0.0.1:9/sms", "k", "DICHVUCONG", timeout=2)
    with pytest.raises(TransientSendError):
        await provider.send("0912345678", "x")
