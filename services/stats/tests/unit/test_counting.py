"""How a dossier counts, and how a period is cut: pure rules, nothing running."""

from __future__ import annotations

from datetime import date, datetime

from shared.contracts.events import VIETNAM
from stats.domain.counting import Facts, Pause, contribution, delta, pieces
from stats.domain.report import columns, rate, rate_text


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=VIETNAM)


def test_periods_are_cut_into_the_fewest_whole_units() -> None:
    cut = [(p.unit, p.start, p.end) for p in pieces(date(2025, 1, 15), date(2026, 3, 3))]
    assert cut == [
        ("d", date(2025, 1, 15), date(2025, 2, 1)),
        ("m", date(2025, 2, 1), date(2026, 3, 1)),
        ("d", date(2026, 3, 1), date(2026, 3, 3)),
    ]
    assert [(p.unit, p.start, p.end) for p in pieces(None, date(2025, 3, 2))] == [
        ("y", None, date(2025, 1, 1)),
        ("m", date(2025, 1, 1), date(2025, 3, 1)),
        ("d", date(2025, 3, 1), date(2025, 3, 2)),
    ]
    assert [p.unit for p in pieces(date(2024, 1, 1), date(2026, 1, 1))] == ["y"]


def test_a_dossier_never_received_counts_nowhere() -> None:
    assert contribution(Facts(rejected_at=at(3, 1))) == []


def test_a_dossier_counts_in_exactly_one_column_of_each_period() -> None:
    facts = Facts(
        received_at=at(3, 3), due_at=at(3, 10), resolved_at=at(3, 20), judgement="late",
        pauses=(Pause(at(3, 5), at(3, 7)),),
    )  # fmt: skip
    counters = contribution(facts)

    def report(start: date, end: date) -> dict[str, object]:
        before: dict[str, float] = {}
        during: dict[str, float] = {}
        for metric, on, value in counters:
            if on < start:
                before[metric] = before.get(metric, 0) + value
            elif on <= end:
                during[metric] = during.get(metric, 0) + value
        return columns(before, during)

    march_first_week = report(date(2025, 3, 1), date(2025, 3, 6))
    assert march_first_week["received_online"] == 1
    assert march_first_week["awaiting_supplement"] == 1
    # Still waiting for the supplement at midnight: carried over as such.
    second_week = report(date(2025, 3, 7), date(2025, 3, 14))
    assert second_week["carried_over_awaiting_supplement"] == 1
    assert second_week["carried_over_in_time"] == 0
    assert second_week["in_progress_overdue"] == 1
    third = report(date(2025, 3, 15), date(2025, 3, 31))
    assert third["carried_over_overdue"] == 1
    assert third["resolved_late"] == 1
    assert report(date(2025, 4, 1), date(2025, 4, 30))["total"] == 0


def test_changing_what_is_known_moves_only_the_difference() -> None:
    open_ = contribution(Facts(received_at=at(3, 3), due_at=at(3, 10)))
    done = contribution(Facts(received_at=at(3, 3), due_at=at(3, 10), withdrawn_at=at(3, 4)))
    change = delta(open_, done)
    assert change == {
        ("ended", date(2025, 3, 4)): 1,
        ("withdrawn", date(2025, 3, 4)): 1,
        ("due_or_ended", date(2025, 3, 10)): 1,
    }
    assert delta(done, done) == {}


def test_the_rate_is_written_as_in_the_seed() -> None:
    assert rate(11414, 11490) == 99.3
    assert rate_text(rate(11414, 11490)) == "99,3%"
    assert rate(0, 0) is None
    assert rate_text(None) == ""
