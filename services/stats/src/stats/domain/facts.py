"""A dossier's events merged into what stats knows of it, whatever order they come in.

A time is kept from whichever event brings it first (set once), a flag once true stays
true, the due date is taken from the workflow event with the highest sequence, and a
supplement pause is keyed by its round, each of its ends set once; the national
portal's records count up (the highest written and the highest accepted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contracts import events as ev
from shared.contracts.envelope import EventData
from stats.domain.counting import Facts, Pause


@dataclass(frozen=True)
class PauseChange:
    """A pause's end (`requested_at` or `resumed_at`) an event brings, by round."""

    round: int
    values: dict[str, datetime]


def set_once(row: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Each value where the row has none yet: the first to bring it wins."""
    for name, value in values.items():
        if value is not None and row.get(name) is None:
            row[name] = value


def merge(row: dict[str, Any], data: EventData, sequence: int) -> PauseChange | None:
    """Merge the event (workflow's `sequence`, 0 when it has none) into the facts row, in
    place; returns the pause it changes, if any."""
    if isinstance(data, ev.WorkflowDossierEvent):
        set_once(row, {"received_at": data.received_at})
        if data.original_due_at is not None and sequence > row["due_sequence"]:
            row["due_at"], row["due_sequence"] = data.original_due_at, sequence
    match data:
        case ev.DossierSubmitted():
            set_once(row, {"submitted_at": data.submitted_at,
                           "applicant_name": data.applicant.full_name})  # fmt: skip
            row["fee_vnd"] = data.fee_vnd
            row["fee_timing"] = data.fee_timing
            row["digitised"] = row["digitised"] or bool(data.attachments)
        case ev.DossierReceived():
            row["online"] = data.channel == "online"
        case ev.DossierResultReady():
            set_once(row, {"resolved_at": data.resolved_at, "judgement": data.judgement.value,
                           "processing_hours": data.processing_working_hours})  # fmt: skip
            row["e_result"] = row["e_result"] or data.result_file is not None
        case ev.DossierRejected():
            set_once(row, {"rejected_at": data.rejected_at})
        case ev.DossierWithdrawn():
            set_once(row, {"withdrawn_at": data.withdrawn_at})
        case ev.DossierStopped():
            set_once(row, {"stopped_at": data.stopped_at})
        case ev.DossierReturned():
            set_once(row, {"returned_at": data.returned_at})
        case ev.DossierAwaitingFee():
            set_once(row, {"fee_wait_from": data.awaiting_since})
        case ev.DossierSyncQueued():
            row["national_queued"] = max(row["national_queued"], data.record_sequence)
        case ev.DossierSynced():
            row["national_synced"] = max(row["national_synced"], data.record_sequence)
        case ev.PaymentCompleted():
            row["paid_online"] = row["paid_online"] or data.method == "online"
            set_once(row, {"paid_at": data.paid_at})
        case ev.DossierSupplementRequested():
            return PauseChange(data.round, {"requested_at": data.requested_at})
        case ev.DossierResumed():
            return PauseChange(data.round, {"resumed_at": data.resumed_at})
    return None


def facts_of(row: Mapping[str, Any], rounds: Iterable[Mapping[Any, Any]]) -> Facts:
    """What the counters are computed from: the facts row and its pauses (a round known
    only by its resumption is no pause yet)."""
    return Facts(
        received_at=row["received_at"], online=row["online"], due_at=row["due_at"],
        resolved_at=row["resolved_at"], judgement=row["judgement"],
        rejected_at=row["rejected_at"], withdrawn_at=row["withdrawn_at"],
        stopped_at=row["stopped_at"], paid_at=row["paid_at"],
        pauses=tuple(Pause(p["requested_at"], p["resumed_at"]) for p in rounds
                     if p["requested_at"] is not None),
        processing_hours=row["processing_hours"], e_result=row["e_result"],
        digitised=row["digitised"], fee_vnd=row["fee_vnd"], fee_timing=row["fee_timing"],
        fee_wait_from=row["fee_wait_from"], paid_online=row["paid_online"],
        national_queued=row["national_queued"], national_synced=row["national_synced"],
    )  # fmt: skip
