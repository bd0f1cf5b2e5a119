"""The processing report's columns (DOMAIN.md, Biểu II.06a/VPCP/KSTT) from the counters of
one group: what was counted before the period, and during it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COLUMNS = (
    "carried_over_in_time", "carried_over_overdue", "carried_over_awaiting_supplement",
    "received", "received_online", "received_direct", "total", "resolved", "resolved_early",
    "resolved_on_time", "resolved_late", "on_time_rate", "in_progress_in_time",
    "in_progress_overdue", "awaiting_supplement", "awaiting_fee", "stopped",
    "returned_rejected", "withdrawn",
)  # fmt: skip
COUNTS = tuple(c for c in COLUMNS if c != "on_time_rate")
# Where each dossier to be resolved in the period stands at its end: exactly one of these,
# so that on every row `total` is their sum (seed 001's table adds up the same way).
OUTCOMES = (
    "resolved", "in_progress_in_time", "in_progress_overdue", "awaiting_supplement",
    "awaiting_fee", "stopped", "returned_rejected", "withdrawn",
)  # fmt: skip
# The fields of procedures as the report names them when grouped by field.
FIELDS = {
    "residence": "Cư trú",
    "citizen_id": "Căn cước",
    "seals": "Quản lý con dấu",
    "conditional_business": "Ngành, nghề đầu tư kinh doanh có điều kiện về an ninh, trật tự",
    "fire_safety": "Phòng cháy, chữa cháy",
    "weapons": "Vũ khí, vật liệu nổ, công cụ hỗ trợ",
}

# One group's counters: summed before the period, and during it.
Sums = tuple[Mapping[str, float], Mapping[str, float]]


def rate(numerator: float, denominator: float) -> float | None:
    """A percentage with one decimal, rounded half up as the official tables do."""
    if not denominator:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rate_text(value: float | None) -> str:
    """99.3 → "99,3%" (Vietnamese decimal comma)."""
    return "" if value is None else f"{value:.1f}".replace(".", ",") + "%"


def _open(before: Mapping[str, float], during: Mapping[str, float], prefix: str) -> float:
    """How many spans of `prefix` are open at the end of the period."""
    started = before.get(f"{prefix}_start", 0) + during.get(f"{prefix}_start", 0)
    return started - before.get(f"{prefix}_end", 0) - during.get(f"{prefix}_end", 0)


def columns(before: Mapping[str, float], during: Mapping[str, float]) -> dict[str, Any]:
    """One row of the report. `before`: counters summed before the period; `during`: in it."""

    def b(metric: str) -> int:
        return int(before.get(metric, 0))

    def d(metric: str) -> int:
        return int(during.get(metric, 0))

    def upto_end(metric: str) -> int:
        return b(metric) + d(metric)

    def open_at_start(prefix: str) -> int:
        return b(f"{prefix}_start") - b(f"{prefix}_end")

    def open_at_end(prefix: str) -> int:
        return int(_open(before, during, prefix))

    received_before = b("received_online") + b("received_direct")
    carried = received_before - b("ended")
    carried_awaiting = open_at_start("pause")
    carried_overdue = b("due") - b("due_or_ended") - open_at_start("pause_due")
    received_online, received_direct = d("received_online"), d("received_direct")
    received_by_end = received_before + received_online + received_direct
    still_open = received_by_end - upto_end("ended")
    awaiting, awaiting_fee = open_at_end("pause"), open_at_end("fee_wait")
    waiting_overdue = open_at_end("pause_due") + open_at_end("fee_wait_due")
    in_progress_overdue = upto_end("due") - upto_end("due_or_ended") - waiting_overdue
    early, on_time, late = d("resolved_early"), d("resolved_on_time"), d("resolved_late")
    resolved = early + on_time + late
    on_time_rate = rate(early + on_time, resolved)
    return {
        "carried_over_in_time": carried - carried_awaiting - carried_overdue,
        "carried_over_overdue": carried_overdue,
        "carried_over_awaiting_supplement": carried_awaiting,
        "received": received_online + received_direct,
        "received_online": received_online,
        "received_direct": received_direct,
        "total": carried + received_online + received_direct,
        "resolved": resolved,
        "resolved_early": early,
        "resolved_on_time": on_time,
        "resolved_late": late,
        "on_time_rate": on_time_rate,
        "on_time_rate_text": rate_text(on_time_rate),
        "in_progress_in_time": still_open - awaiting - awaiting_fee - in_progress_overdue,
        "in_progress_overdue": in_progress_overdue,
        "awaiting_supplement": awaiting,
        "awaiting_fee": awaiting_fee,
        "stopped": d("stopped"),
        "returned_rejected": d("rejected"),
        "withdrawn": d("withdrawn"),
    }


def rows(groups: Mapping[str, Sums], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The report's rows in key order; a group with nothing to show in any column is left
    out (a carried-over dossier counts in `total`)."""
    found = []
    for key in sorted(groups):
        row = columns(*groups[key])
        if row["total"] or row["returned_rejected"] or row["withdrawn"] or row["stopped"]:
            found.append({"key": key, "name": names.get(key, key), **row})
    return found


def combined(groups: Iterable[Sums]) -> tuple[dict[str, float], dict[str, float]]:
    """The groups' counters added up, before and during the period."""
    before: dict[str, float] = defaultdict(float)
    during: dict[str, float] = defaultdict(float)
    for b, d in groups:
        for metric, value in b.items():
            before[metric] += value
        for metric, value in d.items():
            during[metric] += value
    return before, during


def add(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The totals row: counts added, the rate recomputed from them."""
    total: dict[str, Any] = {c: sum(int(r[c]) for r in rows) for c in COUNTS}
    total["on_time_rate"] = rate(
        total["resolved_early"] + total["resolved_on_time"], total["resolved"]
    )
    total["on_time_rate_text"] = rate_text(total["on_time_rate"])
    return total


def indicators(before: Mapping[str, float], during: Mapping[str, float]) -> dict[str, Any]:
    """The service-quality indicators of Decision 766 (DOMAIN.md), each with its numerator
    and denominator; `null` where the denominator is 0."""
    row = columns(before, during)

    def ratio(numerator: float, denominator: float) -> dict[str, Any]:
        return {"numerator": numerator, "denominator": denominator,
                "value": rate(numerator, denominator)}  # fmt: skip

    handled = row["total"]
    overdue = row["resolved_late"] + row["in_progress_overdue"]
    rated = during.get("rated", 0)
    poor = during.get("rated_poor", 0)
    # Decision 766: more than one supplement request counts the dossier as late. Those
    # resolved in time in the period, and those still in progress in time at its end.
    resupplemented = int(
        during.get("resolved_timely_resupplemented", 0)
        + _open(before, during, "resupplemented")
        - _open(before, during, "resupplemented_due")
    )
    timely = row["resolved_early"] + row["resolved_on_time"] + row["in_progress_in_time"]
    # Both shares over the dossiers handled (not the poor ratings over the rated ones).
    satisfaction = (
        max(Decimal(0), 1 - Decimal(overdue) / handled - Decimal(poor) / handled) * 100
        if handled else None
    )  # fmt: skip
    hours = float(during.get("processing_hours", 0))
    return {
        "on_time_rate": {**ratio(timely - resupplemented, handled),
                         "late_for_supplements": resupplemented},
        "online_rate": ratio(row["received_online"], row["received"]),
        "online_payment_rate": ratio(during.get("paid_online", 0), during.get("fee_due", 0)),
        # Of the dossiers received in the period, those whose current status the national
        # portal has (Decision 766's synchronisation rate).
        "national_sync_rate": ratio(during.get("national_synced", 0), row["received"]),
        "digitisation_rate": ratio(during.get("digitised", 0), row["resolved"]),
        "e_result_rate": ratio(during.get("e_result", 0), row["resolved"]),
        "satisfaction": {
            "overdue": overdue, "handled": handled, "rated": rated, "rated_poor": poor,
            "value": None if satisfaction is None
            else float(satisfaction.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
        },
        "average_processing_days": {
            "numerator": round(hours / 8, 2), "denominator": row["resolved"],
            "value": round(hours / 8 / row["resolved"], 1) if row["resolved"] else None,
        },
    }  # fmt: skip
