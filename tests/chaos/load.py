"""Citizens submitting dossiers (draft, one PDF, submit) and an officer receiving each one
that was accepted, at a fixed open-loop rate; every request is logged by the client with
its idempotency key and what the client saw: ok, failed (a definite refusal) or unknown
(timed out or cut off, so the client cannot tell whether it took effect).

A client retries what a real portal retries: a 5xx or a broken connection, with the
same `Idempotency-Key`, until its deadline. A request is unknown when it never got a
definite answer and at least one attempt may have reached the service."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.intake.tests.integration.support import PDF, Citizen
from tests.perf.support import multipart, open_loop

PROCEDURE = "1.990104"
AGENCY = "G01.306.000.000"  # Công an tỉnh Bắc Kạn, whose demo officers workflow seeds
OFFICER = {"username": "bk.tiepnhan", "password": "demo-officer-2026"}
OK, FAILED, UNKNOWN, NOT_SENT = "ok", "failed", "unknown", "not sent"
TIMEOUT = 10.0
# How long a client keeps retrying one request (a broker restart is shorter than this
# for the API: intake answers without the broker).
RETRY_FOR = 45.0
# How long the officer waits for an accepted dossier to reach the work list.
ARRIVAL_FOR = 180.0


def draft(phone: str, marker: str) -> dict[str, Any]:
    return {
        "procedure_code": PROCEDURE, "agency_code": AGENCY, "case_code": "own_information",
        "form": {"requester_name": "Nguyễn Văn An", "requester_phone": phone,
                 "subject_full_name": "Nguyễn Văn An", "subject_personal_id": "001190012345",
                 "requested_information": ["Nơi thường trú"], "purpose": marker},
        "notify_via": ["sms"], "result_delivery": {"method": "online"},
    }  # fmt: skip


@dataclass
class Call:
    kind: str
    key: str | None
    outcome: str
    status: int | None
    attempts: int
    body: Any = None


@dataclass
class Journey:
    """One citizen's dossier: `marker` (its form's purpose) finds it in every database."""

    marker: str
    calls: dict[str, Call] = field(default_factory=dict)
    code: str | None = None

    def outcome(self, kind: str) -> str:
        call = self.calls.get(kind)
        return call.outcome if call else NOT_SENT

    @property
    def submitted(self) -> str:
        """What the client knows of the submission: ok, failed (no effect allowed) or
        unknown. A journey that stopped before a definite submit never submitted."""
        if self.outcome("submit") in (OK, UNKNOWN):
            return self.outcome("submit")
        return FAILED


class Client:
    """HTTP to the services' API replicas in turn (round-robin), as a load balancer."""

    def __init__(self, urls: dict[str, list[str]]) -> None:
        self.urls = urls
        self._turn = {name: itertools.count() for name in urls}
        self._http = httpx.AsyncClient(timeout=TIMEOUT)
        # Every answer by (kind, status), retries included, and each 5xx answer that is not
        # a 503 problem (a fault of the service, not a part of it away).
        self.answers: Counter[tuple[str, int]] = Counter()
        self.faults: list[str] = []

    def base(self, service: str) -> str:
        replicas = self.urls[service]
        return replicas[next(self._turn[service]) % len(replicas)]

    async def call(
        self, kind: str, service: str, method: str, path: str, *, key: str | None = None,
        ok: tuple[int, ...] = (200, 201), retry: bool = True, after_ambiguous: bool = True,
        **kwargs: Any,
    ) -> Call:  # fmt: skip
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + RETRY_FOR
        ambiguous = False
        attempts = 0
        status: int | None = None
        while True:
            attempts += 1
            try:
                answer = await self._http.request(
                    method, self.base(service) + path, headers=headers, **kwargs
                )
            except httpx.ConnectError:
                status = None  # refused before anything was sent: no effect possible
            except httpx.TransportError:
                status, ambiguous = None, True  # timed out or cut off: maybe applied
                if not after_ambiguous:
                    return Call(kind, key, UNKNOWN, status, attempts)
            else:
                status = answer.status_code
                self.answers[(kind, status)] += 1
                if status >= 500 and not (
                    status == 503
                    and answer.headers.get("content-type", "").startswith(
                        "application/problem+json"
                    )
                ):
                    self.faults.append(f"{kind} {method} {path}: {status} {answer.text[:200]}")
                if status in ok:
                    return Call(kind, key, OK, status, attempts, answer.json())
                if status < 500:
                    return Call(kind, key, FAILED, status, attempts, answer.text[:300])
            if not retry or time.monotonic() > deadline:
                return Call(kind, key, UNKNOWN if ambiguous else FAILED, status, attempts)
            await asyncio.sleep(min(0.25 * attempts, 2.0))

    async def close(self) -> None:
        await self._http.aclose()


@dataclass
class Load:
    client: Client
    citizens: list[Citizen]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    journeys: list[Journey] = field(default_factory=list)
    officer: dict[str, str] = field(default_factory=dict)
    submitted_at: list[float] = field(default_factory=list)
    # The client's 5xx answers other than a 503 problem, copied from it after the run.
    faults: list[str] = field(default_factory=list)

    async def sign_in(self) -> None:
        call = await self.client.call("sign-in", "workflow", "POST", "/api/v1/auth/token",
                                      data=OFFICER)  # fmt: skip
        assert call.outcome == OK, call
        self.officer = {"Authorization": f"Bearer {call.body['access_token']}"}

    async def journey(self, n: int) -> None:
        citizen = self.citizens[n % len(self.citizens)]
        journey = Journey(f"Bổ sung hồ sơ xin việc — {self.run}-{n}")
        self.journeys.append(journey)
        calls = journey.calls
        calls["draft"] = await self.client.call(
            "draft", "intake", "POST", "/api/v1/dossiers", key=f"{self.run}-{n}-draft",
            json=draft(citizen.phone, journey.marker), headers=citizen.auth,
        )  # fmt: skip
        if calls["draft"].outcome != OK:
            return
        dossier = calls["draft"].body["id"]
        kind, form = multipart(
            {"document_code": "TP1"}, [("file", "to-khai.pdf", "application/pdf", PDF)]
        )
        # No key for an upload (API.md): a retry after an ambiguous one could store the
        # file twice, so the client retries only refusals it can tell had no effect.
        calls["attachment"] = await self.client.call(
            "attachment", "intake", "POST", f"/api/v1/dossiers/{dossier}/attachments",
            content=form, headers={**citizen.auth, "content-type": kind}, after_ambiguous=False,
        )  # fmt: skip
        if calls["attachment"].outcome == FAILED:
            return
        calls["submit"] = await self.client.call(
            "submit", "intake", "POST", f"/api/v1/dossiers/{dossier}/submit",
            key=f"{self.run}-{n}-submit", json={"commitment": True}, headers=citizen.auth,
        )  # fmt: skip
        if calls["submit"].outcome != OK:
            return
        self.submitted_at.append(time.monotonic())
        journey.code = str(calls["submit"].body["code"])
        await self.receive(journey)

    async def receive(self, journey: Journey) -> None:
        """The officer receives the dossier once it is in the work list."""
        deadline = time.monotonic() + ARRIVAL_FOR
        path = f"/api/v1/dossiers/{journey.code}"
        while True:
            seen = await self.client.call("look", "workflow", "GET", path, retry=False,
                                          headers=self.officer)  # fmt: skip
            if seen.outcome == OK:
                break
            if time.monotonic() > deadline:
                journey.calls["arrival"] = seen
                return
            await asyncio.sleep(0.5)
        journey.calls["receive"] = await self.client.call(
            "receive", "workflow", "POST", f"{path}/receive", key=f"{self.run}-{journey.code}",
            headers=self.officer,
        )  # fmt: skip

    async def drive(self, rate: float, duration: float) -> None:
        await open_loop(rate, duration, self.journey, limit=200)

    def summary(self) -> dict[str, Counter[str]]:
        kinds: dict[str, Counter[str]] = {}
        for journey in self.journeys:
            for kind, call in journey.calls.items():
                kinds.setdefault(kind, Counter())[call.outcome] += 1
        return kinds

    def log_lines(self) -> list[str]:
        """The client's log: every request with its key and what the client saw."""
        return [
            json.dumps({"journey": j.marker, "kind": c.kind, "key": c.key, "outcome": c.outcome,
                        "status": c.status, "attempts": c.attempts}, ensure_ascii=False)
            for j in self.journeys for c in j.calls.values()
        ]  # fmt: skip
