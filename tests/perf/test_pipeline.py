"""A dossier end to end, on the four services as real processes, beside the raw limits:

- CPU per request kind in intake, from intake's own process accounting;
- the whole pipeline at stepped open-loop rates (`BENCH_RATES` dossiers/s, each step
  `BENCH_STEP_SECONDS` long, sends scheduled by intended time): achieved rate, latency
  from the intended send, lag p50/p99 from the event's `occurred_at` to each consumer's
  inbox row and to the SMS sent, and CPU per dossier of every process, PostgreSQL and
  RabbitMQ; the CPU-budget ceiling (cores ÷ Σ raw CPU per dossier) and the share reached;
- the drain of a backlog (`BENCH_BACKLOG` events) per consumer: events/s and CPU per event.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from shared.contracts import Envelope
from shared.testing.infra import ObjectStoreServer, eventually
from tests.perf.pipeline import (
    CONSUMERS,
    LAYOUT,
    PROCEDURE,
    Profiler,
    Stack,
    applied_times,
    close_stack,
    draft,
    last_outbox_id,
    open_stack,
    sms_sent_times,
    submit_one,
    submitted_times,
)
from tests.perf.raw import RawLimits
from tests.perf.support import Http, Infrastructure, Results, median, open_loop, own_cpu, percentile

RATES = [float(r) for r in os.environ.get("BENCH_RATES", "10,25,50,100,150").split(",")]
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "10"))
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "60"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "150"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "2000"))
CONCURRENCY = 8
IDLE_SECONDS = 5.0
CORES = os.cpu_count() or 1


@pytest.fixture(scope="module")
async def stack(
    rabbit: tuple[str, str],
    object_store_server: ObjectStoreServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    opened = await open_stack(
        rabbit[1], object_store_server, tmp_path_factory.mktemp("bench-services"), citizens=64
    )
    try:
        yield opened
    finally:
        await close_stack(opened)


async def _batch(count: int, work: Any) -> None:
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await work(i)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def _outbox_drained(stack: Stack) -> bool:
    rows = await stack.query(
        "intake", "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
    )
    return rows[0]["n"] == 0


async def test_intake_cpu_per_request_kind(
    stack: Stack, raw_limits: RawLimits, results: Results
) -> None:
    http = Http.of(stack.processes["intake"].url)
    citizens = stack.citizens
    pid = stack.pid("intake")
    section = f"intake: CPU per request (intake's processes, {stack.layout()}; {REQUESTS} each, concurrency {CONCURRENCY})"
    ids: list[str] = []

    async def kind(name: str, work: Any, *, settle: bool = False) -> float:
        await _batch(min(REQUESTS, 16), work)  # warm
        ids.clear()
        before = stack.cpu()["intake"]
        roles_before = stack.cpu_by_role("intake")
        started = time.perf_counter()
        await _batch(REQUESTS, work)
        wall = time.perf_counter() - started
        if settle:  # the relay's publishing of what was submitted counts too
            await eventually(lambda: _outbox_drained(stack), timeout=60, what="intake's outbox")
        per = (stack.cpu()["intake"] - before) / REQUESTS
        # Where it went, per role (with the relay in a process of its own).
        by_role = ", ".join(
            f"{role} {(used - roles_before[role]) / REQUESTS * 1000:.2f}"
            for role, used in stack.cpu_by_role("intake").items()
        )
        results.add(section, name, per * 1000, "ms CPU", raw=raw_limits.http.server * 1000,
                    raw_name="bare endpoint", note=f"{REQUESTS / wall:.0f}/s; {by_role}")  # fmt: skip
        return per

    async def ok(status_body: tuple[int, bytes], expected: int) -> bytes:
        status, body = status_body
        assert status == expected, body[:300]
        return body

    async def healthz(_i: int) -> None:
        await ok(await http.request("GET", "/healthz"), 200)

    async def procedure(_i: int) -> None:
        await ok(await http.request("GET", f"/api/v1/procedures/{PROCEDURE}"), 200)

    async def own_list(i: int) -> None:
        await ok(await http.request("GET", "/api/v1/dossiers", headers=citizens[i % 64].auth), 200)

    drafts: list[tuple[int, str]] = []

    async def create(i: int) -> None:
        c = citizens[i % 64]
        body = await ok(await http.request("POST", "/api/v1/dossiers", json_body=draft(c.phone),
                                           headers=c.auth), 201)  # fmt: skip
        import json

        drafts.append((i % 64, json.loads(body)["id"]))

    from tests.perf.pipeline import PDF
    from tests.perf.support import multipart

    attach_queue: list[tuple[int, str]] = []
    submit_queue: list[tuple[int, str]] = []

    async def attach(_i: int) -> None:
        who, dossier = attach_queue.pop()
        kind_, form = multipart(
            {"document_code": "TP1"}, [("file", "a.pdf", "application/pdf", PDF)]
        )
        await ok(await http.request("POST", f"/api/v1/dossiers/{dossier}/attachments", body=form,
                                    headers={**citizens[who].auth, "content-type": kind_}), 201)  # fmt: skip
        submit_queue.append((who, dossier))

    codes: list[str] = []

    async def submit(_i: int) -> None:
        who, dossier = submit_queue.pop()
        body = await ok(await http.request("POST", f"/api/v1/dossiers/{dossier}/submit",
                                           json_body={"commitment": True}, headers=citizens[who].auth), 200)  # fmt: skip
        import json

        codes.append(json.loads(body)["code"])

    async def tracking(i: int) -> None:  # public: a rate-limit hit and one read
        await ok(await http.request("GET", f"/api/v1/tracking/{codes[i % len(codes)]}"), 200)

    # What intake's processes use with no request at all (their loops, polls and
    # heartbeats): a kind of request that takes longer per request is billed more of it.
    idle_from, idle_started = stack.cpu()["intake"], time.perf_counter()
    await asyncio.sleep(IDLE_SECONDS)
    idle = (stack.cpu()["intake"] - idle_from) / (time.perf_counter() - idle_started)
    results.add(section, "idle (no request)", idle * 1000, "ms CPU per s")
    await kind("GET /healthz", healthz)
    reads = Profiler(pid, "intake-procedure")
    await kind(f"GET /api/v1/procedures/{PROCEDURE}", procedure)
    await reads.stop()
    await kind("GET /api/v1/dossiers (own list)", own_list)
    profiler = Profiler(pid, "intake-requests")
    costs = [await kind("POST /api/v1/dossiers (draft)", create)]
    attach_queue.extend(drafts)
    costs.append(await kind("POST .../attachments (2 KiB PDF)", attach))
    costs.append(await kind("POST .../submit (+ relay publishing)", submit, settle=True))
    await profiler.stop()
    reads = Profiler(pid, "intake-tracking")
    await kind("GET /api/v1/tracking/{code}", tracking)
    await reads.stop()
    total = sum(costs)
    raw = 3 * raw_limits.http.server + raw_limits.put_small.client
    results.add(section, "draft + attachment + submit", total * 1000, "ms CPU", raw=raw * 1000,
                raw_name="3 bare requests + 1 PUT client", note="goal <= 6 ms")  # fmt: skip
    await http.close()


async def test_pipeline_at_stepped_open_loop_rates(
    stack: Stack, raw_limits: RawLimits, results: Results
) -> None:
    http = Http.of(stack.processes["intake"].url, connections=256)
    infrastructure = Infrastructure()
    section = (
        f"end to end at stepped open-loop rates ({STEP_SECONDS:.0f} s per step; {stack.layout()})"
    )
    citizens = stack.citizens
    best = 0.0
    per_dossier_raw = None
    for rate in RATES:
        since = await last_outbox_id(stack)
        cpu, pg, mq, own = (
            stack.cpu(),
            infrastructure.postgres(),
            infrastructure.rabbitmq(),
            own_cpu(),
        )
        commits, counted = await stack.commits(), await stack.counts()
        profiler = (
            Profiler(stack.pid("intake"), f"intake-{rate:.0f}") if rate == RATES[-1] else None
        )
        began = time.perf_counter()
        failures: Counter[str] = Counter()
        latencies, lateness, failed = await open_loop(
            rate, STEP_SECONDS, lambda i: _submit(http, citizens[i % len(citizens)]),
            failures=failures,
        )  # fmt: skip
        sent = time.perf_counter() - began
        if profiler is not None:
            await profiler.stop()
        submitted = await submitted_times(stack, since)
        ids = list(submitted)

        async def settled(ids: list[uuid.UUID] = ids) -> bool:
            for service in CONSUMERS:
                if len(await applied_times(stack, service, ids)) < len(ids):
                    return False
            return len(await sms_sent_times(stack, ids)) >= len(ids)

        try:
            await eventually(settled, timeout=SETTLE_SECONDS, interval=0.5, what="the step applied")
            kept_up = True
        except TimeoutError:
            kept_up = False
        done = len(latencies)
        used = {k: v - cpu[k] for k, v in stack.cpu().items()}
        pg_used, mq_used = infrastructure.postgres() - pg, infrastructure.rabbitmq() - mq
        own_used = own_cpu() - own
        transactions = (await stack.commits() - commits) / max(done, 1)
        now = await stack.counts()
        publishes = (now["published"] - counted["published"]) / max(done, 1)
        consumes = (now["applied"] - counted["applied"]) / max(done, 1)
        per_dossier_raw = raw_limits.per_dossier(transactions, publishes, consumes)
        label = f"{rate:.0f}/s"
        results.add(section, f"{label}: dossiers completed per s", done / sent, "dossiers/s",
                    note=f"{failed} failed {dict(failures) or ''}, {'kept up' if kept_up else 'fell behind'}")  # fmt: skip
        results.add(section, f"{label}: flow latency p50 / p99 (from intended send)",
                    median(latencies) * 1000, "ms", note=f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
                    f"generator late p99 {percentile(lateness, 99) * 1000:.0f} ms")  # fmt: skip
        for service in CONSUMERS:
            applied = await applied_times(stack, service, ids)
            lags = [(applied[i] - submitted[i]).total_seconds() for i in ids if i in applied]
            results.add(section, f"{label}: lag to {service}'s inbox p50", median(lags) * 1000, "ms",
                        note=f"p99 {percentile(lags, 99) * 1000:.0f} ms, {len(lags)}/{len(ids)}")  # fmt: skip
        sent_at = await sms_sent_times(stack, ids)
        lags = [(sent_at[i] - submitted[i]).total_seconds() for i in ids if i in sent_at]
        results.add(section, f"{label}: lag to the SMS sent p50", median(lags) * 1000, "ms",
                    note=f"p99 {percentile(lags, 99) * 1000:.0f} ms")  # fmt: skip
        for name, value in (*used.items(), ("postgresql", pg_used), ("rabbitmq", mq_used),
                            ("load generator", own_used)):  # fmt: skip
            results.add(
                section, f"{label}: CPU per dossier, {name}", value / max(done, 1) * 1000, "ms"
            )
        total = (sum(used.values()) + pg_used + mq_used) / max(done, 1)
        results.add(section, f"{label}: CPU per dossier, system total", total * 1000, "ms",
                    raw=per_dossier_raw * 1000, raw_name="Σ raw CPU per dossier",
                    note=f"{transactions:.1f} tx, {publishes:.1f} publishes, {consumes:.1f} consumes per dossier")  # fmt: skip
        if kept_up and failed == 0 and done / sent >= 0.95 * rate:
            best = max(best, done / sent)
        else:
            break
    assert per_dossier_raw is not None
    ceiling = CORES / per_dossier_raw
    results.add(section, "sustained (highest step kept up)", best, "dossiers/s", raw=ceiling,
                raw_name="CPU-budget ceiling", note="goal >= 150/s")  # fmt: skip
    results.facts["cpu_budget_ceiling_dossiers_per_s"] = round(ceiling, 1)
    await http.close()


async def _submit(http: Http, citizen: Any) -> None:
    await submit_one(http, citizen)


async def _template(stack: Stack) -> Envelope:
    """The newest dossier.submitted intake wrote; one dossier is submitted first when the
    backlog benchmark runs alone (`-k backlog`)."""
    query = "SELECT envelope FROM outbox WHERE event_type = 'dossier.submitted' ORDER BY id DESC LIMIT 1"
    rows = await stack.query("intake", query)
    if not rows:
        http = Http.of(stack.processes["intake"].url)
        try:
            await submit_one(http, stack.citizens[0])
        finally:
            await http.close()
        rows = await stack.query("intake", query)
    import json

    return Envelope.model_validate(json.loads(rows[0]["envelope"]))


async def _fill(stack: Stack, service: str, template: Envelope, count: int) -> None:
    """`count` distinct dossier.submitted events straight into the consumer's queue."""
    connection = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = f"{stack.namespace}.{service}"
        batch = []
        for n in range(count):
            code = f"G01-BENCH-{uuid.uuid4().hex[:10]}"
            data = {**template.data, "dossier_id": str(uuid.uuid4())}
            envelope = template.model_copy(
                update={"id": uuid.uuid4(), "dossier_code": code, "data": data}
            )
            body = envelope.model_dump_json().encode()
            batch.append(channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                 message_id=str(envelope.id), type=envelope.type,
                                 content_type="application/json", app_id="intake"), queue))  # fmt: skip
            if len(batch) == 200 or n == count - 1:
                await asyncio.gather(*batch)
                batch = []
    finally:
        await connection.close()


async def _inbox_count(stack: Stack, service: str) -> int:
    rows = await stack.query(service, "SELECT count(*) AS n FROM inbox")
    return int(rows[0]["n"])


async def _pending_sms(stack: Stack) -> int:
    rows = await stack.query(
        "notify", "SELECT count(*) AS n FROM deliveries WHERE sent_at IS NULL AND status <> 'dead'"
    )
    return int(rows[0]["n"])


async def _outbox_count(stack: Stack, service: str) -> int:
    rows = await stack.query(service, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
    return int(rows[0]["n"])


async def test_backlog_drain_per_consumer(
    stack: Stack, raw_limits: RawLimits, results: Results
) -> None:
    """Each consumer drains a backlog put in its queue while its processes were stopped.

    The rate: events over the time between the first and the last applied, from the
    times the inbox records. The CPU: from the first look that sees an event applied (so
    that starting is not counted as draining) until every event is applied, notify's SMS
    sent and the service's own outbox (what the events made it announce) published, of
    the processes that do that work (consume and relay; the idle API processes apart),
    per event applied after that look."""
    section = f"backlog drain per consumer ({BACKLOG} dossier.submitted events, process alone)"
    template = await _template(stack)
    working = ("all",) if LAYOUT == "all" else ("consume", "relay")
    for service in CONSUMERS:
        stack.stop(service)
        before = await _inbox_count(stack, service)
        since = (await stack.query(service, "SELECT now() AS t"))[0]["t"]
        await _fill(stack, service, template, BACKLOG)
        await stack.start(service)
        profilers = [
            Profiler(stack.process_of(service, role).process.pid, f"{service}-{role}-drain")
            for role in working
        ]
        first: tuple[float, int, dict[str, float]] | None = None
        ended = 0.0

        async def drained(service: str = service, before: int = before) -> bool:
            nonlocal first, ended
            n = await _inbox_count(stack, service) - before
            if first is None and n > 0:
                first = (time.perf_counter(), n, stack.cpu_by_role(service))
            if n < BACKLOG:
                return False
            ended = ended or time.perf_counter()
            if service == "notify" and await _pending_sms(stack) > 0:
                return False
            return await _outbox_count(stack, service) == 0

        await eventually(drained, timeout=900, interval=0.2, what=f"{service} drained")
        last = stack.cpu_by_role(service)
        for profiler in profilers:
            await profiler.stop()
        assert first is not None
        counted = BACKLOG - first[1]
        used = {role: (last[role] - first[2][role]) / counted for role in last}
        span = await stack.query(
            service,
            "SELECT count(*) AS n, extract(epoch FROM max(applied_at) - min(applied_at)) AS s"
            " FROM inbox WHERE applied_at >= $1",
            since,
        )
        rate = span[0]["n"] / max(float(span[0]["s"] or 0), 1e-3)
        results.add(section, f"{service}: events applied per s", rate, "events/s",
                    raw=raw_limits.consume.rate, raw_name="raw consume + ack rate",
                    note=f"goal >= 1000/s; first to last applied; CPU over the last {counted}; "
                    f"{ended - first[0]:.1f} s from the first look to the last applied")  # fmt: skip
        raw_cpu = raw_limits.consume.cpu + raw_limits.transaction.cpu
        per_role = ", ".join(f"{role} {value * 1000:.2f}" for role, value in used.items())
        results.add(section, f"{service}: CPU per event ({' + '.join(working)})",
                    sum(used[role] for role in working) * 1000, "ms", raw=raw_cpu * 1000,
                    raw_name="consume + one transaction",
                    note=f"goal <= 2 ms; by role (ms): {per_role}")  # fmt: skip
