"""Quiescence and the ledger: what the four databases and the object store hold, joined
against what the client saw. It reads the tables and the store itself, never a service's
own counters or metrics.

- lost: a dossier intake accepted (or the client was told was accepted) that is missing
  in workflow's cases, notify's deliveries or stats' facts; a receipt workflow recorded
  (or the officer was told of) that intake, notify or stats does not show;
- duplicated: a second case, a second delivery or SMS for the same event and recipient,
  a second dossier of one journey, a dossier counted more than once in the report;
- orphans: an object without its attachment row, a row without its object;
- unexpected: an effect of a request the client saw refused;
- unknown requests: each either fully present or fully absent (a half is lost);
- faults: an answer 5xx other than a clear 503 problem (a part away is a 503, a 500 is a
  bug);
- parked: the messages in the parking queues, to equal those deliberately poisoned.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from minio import Minio

from shared.testing import infra
from tests.chaos.cluster import SERVICES, Cluster
from tests.chaos.load import AGENCY, OK, PROCEDURE, UNKNOWN, Load

ATTACHMENTS_BUCKET = "dossier-attachments"


async def queues(cluster: Cluster) -> dict[str, tuple[int, int]]:
    """(ready, unacknowledged) of every queue of the cluster's namespace, from the broker."""
    listed = await asyncio.to_thread(
        cluster.broker.ctl, "-q", "list_queues", "-p", cluster.vhost,
        "name", "messages_ready", "messages_unacknowledged", "--no-table-headers",
    )  # fmt: skip
    found = {}
    for line in listed.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(f"{cluster.namespace}."):
            found[parts[0]] = (int(parts[1]), int(parts[2]))
    return found


async def backlog(cluster: Cluster) -> dict[str, int]:
    """What is still moving: unpublished outbox rows, notify's pending deliveries, and the
    messages ready or unacknowledged in every queue but the parking ones."""
    moving: dict[str, int] = {}
    for service in SERVICES:
        rows = await cluster.query(
            service, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
        )
        moving[f"{service} outbox"] = rows[0]["n"]
    rows = await cluster.query(
        "notify", "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'"
    )
    moving["notify pending deliveries"] = rows[0]["n"]
    for name, (ready, unacked) in (await queues(cluster)).items():
        if not name.endswith(".parked"):
            moving[name] = ready + unacked
    return {k: v for k, v in moving.items() if v}


async def quiesce(cluster: Cluster, deadline: float = 180.0) -> None:
    """Wait, with a deadline, until nothing moves in two readings one after the other (a
    message between a relay's confirm and its queue shows in neither reading's outbox)."""
    calm = 0
    last: dict[str, int] = {}

    async def quiet() -> bool:
        nonlocal calm, last
        try:
            last = await backlog(cluster)
        except asyncpg.TooManyConnectionsError:
            # The machine's PostgreSQL is shared: a reading refused is a reading later.
            calm = 0
            return False
        calm = calm + 1 if not last else 0
        return calm >= 2

    try:
        await infra.eventually(quiet, timeout=deadline, interval=0.5, what="quiescence")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; still moving: {last}") from None


@dataclass
class Ledger:
    journeys: int = 0
    accepted: int = 0
    received: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    # Objects without a row that intake's sweeper removed before the ledger was read.
    swept: int = 0
    unknown_present: int = 0
    unknown_absent: int = 0
    parked: dict[str, int] = field(default_factory=dict)
    client: dict[str, Counter[str]] = field(default_factory=dict)

    def table(self, title: str) -> str:
        client = "; ".join(
            f"{kind} " + " ".join(f"{o}={n}" for o, n in sorted(c.items()))
            for kind, c in sorted(self.client.items())
        )
        rows = [
            ("journeys (client)", self.journeys), ("accepted by intake", self.accepted),
            ("received by an officer", self.received), ("lost", len(self.lost)),
            ("duplicated effects", len(self.duplicated)), ("orphans", len(self.orphans)),
            ("unexpected", len(self.unexpected)), ("5xx not a 503", len(self.faults)),
            ("orphan objects swept", self.swept),
            ("unknown: fully present", self.unknown_present),
            ("unknown: fully absent", self.unknown_absent),
            ("parked", sum(self.parked.values())),
        ]  # fmt: skip
        lines = [f"── ledger: {title}", *(f"   {name:<26}{value:>8}" for name, value in rows)]
        lines.append(f"   client: {client}")
        if self.parked:
            lines.append(f"   parked by queue: {self.parked}")
        for name in ("lost", "duplicated", "orphans", "unexpected", "faults"):
            for item in getattr(self, name)[:10]:
                lines.append(f"   {name}: {item}")
        return "\n".join(lines)


def _store(cluster: Cluster) -> Minio:
    store = cluster.store.server
    return Minio(store.endpoint, access_key=store.access_key, secret_key=store.secret_key,
                 secure=False)  # fmt: skip


def _objects(cluster: Cluster, bucket: str) -> set[str]:
    client = _store(cluster)
    if not client.bucket_exists(bucket):
        return set()
    return {str(o.object_name) for o in client.list_objects(bucket, recursive=True)}


Row = dict[str, Any]


@dataclass
class Snapshot:
    """What the four databases, the store and the parking queues hold, read after
    quiescence: the ledger is computed from this and the client's log alone."""

    dossiers: list[Row]  # intake: id, code, marker (the form's purpose), received_at
    attachments: list[Row]  # intake: bucket, object_key
    cases: list[Row]  # workflow: code, received
    deliveries: list[Row]  # notify: event_id, event_type, dossier_code, channel, recipient
    sms: list[Row]  # notify's development SMS box: phone, text
    facts: list[Row]  # stats: code, received_at
    counted: int  # stats' report: dossiers received this year, agency and procedure
    stored: set[str]  # the attachments bucket's object keys
    parked: dict[str, int] = field(default_factory=dict)


async def snapshot(cluster: Cluster) -> Snapshot:
    async def q(service: str, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await cluster.query(service, sql, *args)]

    counted = await q(
        "stats",
        "SELECT coalesce(sum(value), 0) AS n FROM counts WHERE metric = 'received_online'"
        " AND unit = 'y' AND agency_code = $1 AND procedure_code = $2",
        AGENCY, PROCEDURE,
    )  # fmt: skip
    parked = {
        name.removeprefix(f"{cluster.namespace}."): ready + unacked
        for name, (ready, unacked) in (await queues(cluster)).items()
        if name.endswith(".parked") and ready + unacked
    }
    return Snapshot(
        dossiers=await q("intake", "SELECT id, code, form->>'purpose' AS marker, received_at"
                                   " FROM dossiers"),
        attachments=await q("intake", "SELECT bucket, object_key FROM attachments"),
        cases=await q("workflow", "SELECT code, received_by IS NOT NULL AS received FROM cases"),
        deliveries=await q("notify", "SELECT event_id, event_type, dossier_code, channel,"
                                     " recipient FROM deliveries"),
        sms=await q("notify", "SELECT phone, text FROM dev_sms"),
        facts=await q("stats", "SELECT code, received_at FROM facts"),
        counted=int(counted[0]["n"]),
        stored=await asyncio.to_thread(_objects, cluster, ATTACHMENTS_BUCKET),
        parked=parked,
    )  # fmt: skip


async def read_ledger(cluster: Cluster, loads: list[Load]) -> Ledger:
    return tally(await snapshot(cluster), loads)


def tally(snap: Snapshot, loads: list[Load]) -> Ledger:
    """The ledger of a snapshot against the client's log of every load."""
    ledger = Ledger()
    dossiers, cases, deliveries, facts = snap.dossiers, snap.cases, snap.deliveries, snap.facts
    accepted = {r["code"]: r for r in dossiers if r["code"] is not None}
    by_marker = Counter(r["marker"] for r in dossiers)
    accepted_markers = {r["marker"] for r in accepted.values()}
    case_of = {r["code"]: r for r in cases}
    fact_of = {r["code"]: r for r in facts}
    told = Counter((r["event_type"], r["dossier_code"]) for r in deliveries)
    ledger.accepted, ledger.received = len(accepted), sum(1 for r in cases if r["received"])

    # lost: every accepted dossier reached the three consumers; every receipt, the three
    # that show it.
    for code in accepted:
        if code not in case_of:
            ledger.lost.append(f"{code}: accepted, no case in workflow")
        if not told[("dossier.submitted", code)]:
            ledger.lost.append(f"{code}: accepted, no delivery in notify")
        if code not in fact_of:
            ledger.lost.append(f"{code}: accepted, no fact in stats")
    for code, case in case_of.items():
        if code not in accepted:
            ledger.unexpected.append(f"{code}: a case of no dossier intake accepted")
        if not case["received"]:
            continue
        if accepted.get(code) is None or accepted[code]["received_at"] is None:
            ledger.lost.append(f"{code}: received, intake does not show it")
        if not told[("dossier.received", code)]:
            ledger.lost.append(f"{code}: received, no delivery in notify")
        if code not in fact_of or fact_of[code]["received_at"] is None:
            ledger.lost.append(f"{code}: received, stats does not show it")

    # duplicated effects
    for (event_type, code), n in told.items():
        if n > 1:
            ledger.duplicated.append(f"{code}: {n} deliveries for {event_type}")
    for (event, channel, _recipient), n in Counter(
        (r["event_id"], r["channel"], r["recipient"]) for r in deliveries
    ).items():
        if n > 1:
            ledger.duplicated.append(f"event {event}: {n} {channel} to one recipient")
    for (_, text), n in Counter((r["phone"], r["text"]) for r in snap.sms).items():
        if n > 1:
            ledger.duplicated.append(f"{n} identical SMS sent: {text[:60]!r}")
    for marker, n in by_marker.items():
        if n > 1:
            ledger.duplicated.append(f"{marker}: {n} dossiers")
    in_report = snap.counted
    received_facts = sum(1 for r in facts if r["received_at"] is not None)
    if in_report > received_facts:
        ledger.duplicated.append(f"report counts {in_report} received, facts {received_facts}")
    elif in_report < received_facts:
        ledger.lost.append(f"report counts {in_report} received, facts {received_facts}")

    # orphans: the store against intake's rows
    stored = snap.stored
    rows = {r["object_key"] for r in snap.attachments if r["bucket"] == ATTACHMENTS_BUCKET}
    ledger.orphans += [f"object {k} without a row" for k in sorted(stored - rows)]
    ledger.orphans += [f"row of {k} without its object" for k in sorted(rows - stored)]

    # the client's view against the databases
    for load in loads:
        ledger.faults += load.faults
        for name, counter in load.summary().items():
            ledger.client.setdefault(name, Counter()).update(counter)
        for journey in load.journeys:
            ledger.journeys += 1
            present = journey.marker in accepted_markers
            state = journey.submitted
            if state == OK and journey.code not in accepted:
                ledger.lost.append(f"{journey.code}: the citizen was told it was accepted")
            elif state == UNKNOWN:
                if present:
                    ledger.unknown_present += 1
                else:
                    ledger.unknown_absent += 1
            elif state != OK and present:
                ledger.unexpected.append(f"{journey.marker}: submit refused, yet accepted")
            if journey.outcome("draft") not in (OK, UNKNOWN) and by_marker[journey.marker]:
                ledger.unexpected.append(f"{journey.marker}: draft refused, yet made")
            receipt = journey.outcome("receive")
            done = bool(case_of.get(journey.code or "", {}).get("received"))
            if receipt == OK and not done:
                ledger.lost.append(f"{journey.code}: the officer was told it was received")
            elif receipt not in (OK, UNKNOWN) and done:
                ledger.unexpected.append(f"{journey.code}: receipt refused, yet received")
            elif receipt == UNKNOWN and done:
                ledger.unknown_present += 1
            elif receipt == UNKNOWN:
                ledger.unknown_absent += 1
            if journey.calls.get("arrival") is not None:
                ledger.lost.append(f"{journey.code}: never reached the officers' work list")

    ledger.parked = dict(snap.parked)
    return ledger


def assert_clean(ledger: Ledger, parked: dict[str, int] | None = None) -> None:
    problems: dict[str, Any] = {
        name: getattr(ledger, name)
        for name in ("lost", "duplicated", "orphans", "unexpected", "faults")
        if getattr(ledger, name)
    }
    assert not problems, problems
    assert ledger.parked == (parked or {}), ledger.parked
    assert ledger.accepted > 0
