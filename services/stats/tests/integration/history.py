"""A generated event history of a year of dossiers, and the report computed from it
directly, dossier by dossier, by the plain rules of DOMAIN.md: the reference the
service's pre-aggregated report is compared with."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.contracts import Envelope
from shared.contracts import events as ev

PROVINCE, DISTRICT, OTHER = "G01.306.000.000", "G01.306.058.000", "G01.394.000.000"
AGENCIES = {
    PROVINCE: ("Công an tỉnh Bắc Kạn", "province", None),
    DISTRICT: ("Công an thành phố Bắc Kạn", "district", PROVINCE),
    OTHER: ("Công an tỉnh Sóc Trăng", "province", None),
}
PROCEDURES = {
    "1.004194": ("Đăng ký tạm trú", "residence"),
    "2.001618": ("Cấp giấy chứng nhận đủ điều kiện về an ninh, trật tự", "conditional_business"),
    "1.003110": ("Đăng ký mẫu con dấu mới", "seals"),
}
START = datetime(2025, 1, 1, tzinfo=ev.VIETNAM)


def catalogue() -> Envelope:
    return Envelope.wrap(
        ev.CataloguePublished(
            catalogue_version="test",
            agencies=[ev.AgencyRef(code=c, name=n, level=lv, parent_code=p)
                      for c, (n, lv, p) in AGENCIES.items()],
            procedures=[ev.ProcedureTerms(code=c, name=n, field=f, online_level="full",
                                          processing_days=5)
                        for c, (n, f) in PROCEDURES.items()],
        ),
        source="intake", occurred_at=START - timedelta(days=400),
    )  # fmt: skip


@dataclass
class Truth:
    """What happened to one dossier, as the generator decided it."""

    code: str
    agency: str
    procedure: str
    online: bool
    received_at: datetime | None = None
    due_at: datetime | None = None
    end: tuple[datetime, str, str | None] | None = None  # when, kind, judgement
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    fee: int = 0
    paid_at: datetime | None = None


@dataclass
class _Emitter:
    """Workflow's events of one dossier, numbered as workflow numbers them."""

    events: list[Envelope]
    truth: Truth
    facts: dict[str, Any]
    sequence: int = 0

    def __call__(
        self, data_type: type[ev.WorkflowDossierEvent], at: datetime, **extra: Any
    ) -> None:
        self.sequence += 1
        t = self.truth
        data = data_type(**self.facts, actor=ev.Actor(kind="officer", name="Cán bộ"),
                         received_at=t.received_at, due_at=t.due_at, original_due_at=t.due_at,
                         **extra)  # fmt: skip
        self.events.append(Envelope.wrap(data, source="workflow", dossier_code=t.code,
                                         sequence=self.sequence, occurred_at=at))  # fmt: skip


@dataclass
class History:
    events: list[Envelope]
    truths: list[Truth]


def generate(seed: int, count: int = 300) -> History:
    rng = random.Random(seed)
    events: list[Envelope] = [catalogue()]
    truths = []
    for number in range(count):
        agency = rng.choice(list(AGENCIES))
        procedure = rng.choice(list(PROCEDURES))
        name, field_ = PROCEDURES[procedure]
        code = f"{agency}-{number:05d}"
        # From two months before the year (carried over) to its end.
        submitted = START + timedelta(days=rng.uniform(-60, 360), hours=rng.uniform(-5, 5))
        truth = Truth(code, agency, procedure, rng.random() < 0.8, fee=rng.choice([0, 30000]))
        facts = {"procedure_code": procedure, "procedure_name": name, "field": field_,
                 "agency_code": agency, "agency_name": AGENCIES[agency][0]}  # fmt: skip
        workflow = _Emitter(events, truth, facts)
        events.append(Envelope.wrap(
            ev.DossierSubmitted(
                **facts, status=ev.DossierStatus.SUBMITTED, dossier_id=uuid.uuid4(),
                online_level="full", submitted_at=submitted,
                applicant=ev.Applicant(kind="citizen", full_name="Nguyễn Văn An"), form={},
                attachments=[], result_delivery=ev.ResultDelivery(method="in_person"),
                recipient=ev.Recipient(full_name="Nguyễn Văn An"), update_code="X",
                # Paid online: waited for from receipt until paid.
                fee_vnd=truth.fee, fee_timing="before_submission",
            ),
            source="intake", dossier_code=code, sequence=1, occurred_at=submitted,
        ))  # fmt: skip
        if truth.fee and rng.random() < 0.6:
            # Paid online with the submission, or later at the desk.
            paid = submitted + timedelta(days=rng.choice([0, 0, 3, 12]), minutes=5)
            truth.paid_at = paid
            events.append(Envelope.wrap(
                ev.PaymentCompleted(**facts, status=ev.DossierStatus.SUBMITTED,
                                    amount_vnd=truth.fee, method="online", reference="GD",
                                    paid_at=paid),
                source="intake", dossier_code=code, sequence=2, occurred_at=paid,
            ))  # fmt: skip
        if rng.random() < 0.08:
            # Refused at the desk, never received: in no column of the report.
            workflow(ev.DossierRejected, submitted + timedelta(hours=3),
                     status=ev.DossierStatus.REJECTED, reason="Sai thẩm quyền",
                     rejected_at=submitted + timedelta(hours=3), stage="intake")  # fmt: skip
            truths.append(truth)
            continue
        at = submitted + timedelta(hours=rng.uniform(1, 60))
        truth.received_at = at
        truth.due_at = at + timedelta(days=rng.choice([3, 5, 10, 15]))
        workflow(ev.DossierReceived, at, status=ev.DossierStatus.RECEIVED,
                 channel="online" if truth.online else "direct", counted_from=at,
                 rule_set="nd-107-2021")  # fmt: skip
        for round_ in (1, 2):
            if rng.random() > 0.25:
                break
            requested = at + timedelta(days=rng.uniform(0.2, 4))
            workflow(ev.DossierSupplementRequested, requested,
                     status=ev.DossierStatus.SUPPLEMENT_REQUESTED, requested_at=requested,
                     items=[ev.SupplementItem(description="Thiếu giấy tờ")], round=round_)  # fmt: skip
            if rng.random() < 0.15:
                truth.pauses.append((requested, None))
                at = requested
                break
            resumed = requested + timedelta(days=rng.uniform(0.5, 20))
            truth.due_at = truth.due_at + (resumed - requested)
            truth.pauses.append((requested, resumed))
            workflow(ev.DossierResumed, resumed, status=ev.DossierStatus.IN_PROGRESS,
                     round=round_, resumed_at=resumed, paused_working_hours=1)  # fmt: skip
            at = resumed
        if truth.pauses and truth.pauses[-1][1] is None:
            chance = rng.random()
            if chance < 0.5:
                truths.append(truth)  # still waiting for the citizen
                continue
            if chance < 0.75:
                # The citizen's supplement deadline passed: the receiver stopped it.
                stopped = at + timedelta(days=rng.uniform(5, 20))
                truth.end = (stopped, "stopped", None)
                workflow(ev.DossierStopped, stopped, status=ev.DossierStatus.STOPPED,
                         reason="Quá hạn bổ sung hồ sơ", stopped_at=stopped)  # fmt: skip
                truths.append(truth)
                continue
        if rng.random() < 0.1:
            extended_at = at + timedelta(days=1)
            workflow(ev.DossierDeadlineExtended, extended_at,
                     status=ev.DossierStatus.IN_PROGRESS, new_due_at=truth.due_at + timedelta(days=7),
                     reason="Chờ xác minh")  # fmt: skip
        outcome = rng.random()
        end_at = at + timedelta(days=rng.uniform(0.1, 25))
        if outcome < 0.65:
            assert truth.due_at is not None
            judgement = (
                "late" if end_at > truth.due_at
                else "early" if end_at.astimezone(ev.VIETNAM).date()
                < truth.due_at.astimezone(ev.VIETNAM).date()
                else "on_time"
            )  # fmt: skip
            truth.end = (end_at, "resolved", judgement)
            workflow(ev.DossierResultReady, end_at, status=ev.DossierStatus.RESULT_READY,
                     resolved_at=end_at, judgement=ev.Judgement(judgement), result_summary="Xong",
                     processing_working_hours=16.0)  # fmt: skip
            if rng.random() < 0.7:
                workflow(ev.DossierReturned, end_at + timedelta(days=2),
                         status=ev.DossierStatus.RETURNED, returned_at=end_at + timedelta(days=2),
                         originals_verified=True)  # fmt: skip
        elif outcome < 0.75:
            truth.end = (end_at, "rejected", None)
            workflow(ev.DossierRejected, end_at, status=ev.DossierStatus.REJECTED,
                     reason="Không đủ điều kiện", rejected_at=end_at, stage="processing")  # fmt: skip
        elif outcome < 0.82:
            truth.end = (end_at, "withdrawn", None)
            events.append(Envelope.wrap(
                ev.DossierWithdrawn(**facts, status=ev.DossierStatus.WITHDRAWN,
                                    dossier_id=uuid.uuid4(), reason="Không cần",
                                    withdrawn_at=end_at),
                source="intake", dossier_code=code, sequence=2, occurred_at=end_at,
            ))  # fmt: skip
        truths.append(truth)
    return History(events, truths)


def _midnight(on: date) -> datetime:
    return datetime.combine(on, time(0), ev.VIETNAM).astimezone(UTC)


def expected_report(truths: list[Truth], start: date, end: date, agencies: set[str]) -> dict:
    """The report by the plain rules, dossier by dossier, per agency."""
    s, e = _midnight(start), _midnight(end + timedelta(days=1))
    rows: dict[str, dict[str, int]] = {}
    for t in truths:
        if t.agency not in agencies or t.received_at is None or t.received_at >= e:
            continue
        ended = t.end[0] if t.end else None
        if ended is not None and ended < s:
            continue
        row = rows.setdefault(t.agency, {})

        def add(column: str, row: dict[str, int] = row) -> None:
            row[column] = row.get(column, 0) + 1

        assert t.due_at is not None

        def waiting(m: datetime, t: Truth = t, ended: datetime | None = ended) -> bool:
            # Each wait until the supplement or the end (the generator's rounds never overlap).
            stops = [(r, min(x for x in (back, ended) if x is not None) if back or ended
                      else None) for r, back in t.pauses if ended is None or r < ended]  # fmt: skip
            return any(r < m and (stop is None or stop >= m) for r, stop in stops)

        def unpaid(m: datetime, t: Truth = t, ended: datetime | None = ended) -> bool:
            assert t.received_at is not None
            if not t.fee or (t.paid_at is not None and t.paid_at <= t.received_at):
                return False
            stop = min((x for x in (t.paid_at, ended) if x is not None), default=None)
            return stop is None or stop >= m

        if t.received_at < s:
            add("carried_over_awaiting_supplement" if waiting(s)
                else "carried_over_overdue" if t.due_at < s else "carried_over_in_time")  # fmt: skip
        else:
            add("received_online" if t.online else "received_direct")
        if t.end is not None and ended is not None and ended < e:
            _, kind, judgement = t.end
            add(f"resolved_{judgement}" if kind == "resolved" else
                "returned_rejected" if kind == "rejected" else kind)  # fmt: skip
        elif waiting(e):
            add("awaiting_supplement")
        elif unpaid(e):
            add("awaiting_fee")
        else:
            add("in_progress_overdue" if t.due_at < e else "in_progress_in_time")
    return rows
