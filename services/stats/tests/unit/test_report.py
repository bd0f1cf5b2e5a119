"""The report's rows and the indicators from the counters of each group: pure rules,
nothing running."""

from __future__ import annotations

from stats.domain.report import Sums, combined, indicators, rows

GROUPS: dict[str, Sums] = {
    "A": ({}, {"received_online": 2, "resolved_on_time": 1, "ended": 1,
               "processing_hours": 16.0, "rated": 4.0, "rated_poor": 1.0}),
    # Received and ended before the period: nothing to show in it.
    "B": ({"received_direct": 1, "ended": 1}, {}),
    # Only a withdrawal in the period: shown.
    "C": ({}, {"withdrawn": 1}),
    # Only carried over: shown.
    "0": ({"received_direct": 1}, {}),
}  # fmt: skip


def test_a_group_with_nothing_in_any_column_is_left_out() -> None:
    found = rows(GROUPS, {"A": "Công an tỉnh Bắc Kạn"})
    assert [(r["key"], r["name"]) for r in found] == [
        ("0", "0"), ("A", "Công an tỉnh Bắc Kạn"), ("C", "C"),
    ]  # fmt: skip
    assert [(r["total"], r["carried_over_in_time"], r["withdrawn"]) for r in found] == [
        (1, 1, 0), (2, 0, 0), (0, 0, 1),
    ]  # fmt: skip


def test_the_indicators_of_an_agency_add_up_its_units() -> None:
    before, during = combined(GROUPS.values())
    assert before == {"received_direct": 2, "ended": 1}
    assert during["withdrawn"] == 1
    assert during["received_online"] == 2
    found = indicators(before, during)
    assert found["on_time_rate"] == {
        "numerator": 3, "denominator": 3, "value": 100.0, "late_for_supplements": 0,
    }  # fmt: skip
    assert found["online_rate"] == {"numerator": 2, "denominator": 2, "value": 100.0}
    assert found["online_payment_rate"] == {"numerator": 0, "denominator": 0, "value": None}
    assert found["satisfaction"] == {
        "overdue": 0, "handled": 3, "rated": 4.0, "rated_poor": 1.0, "value": 66.7,
    }  # fmt: skip
    assert found["average_processing_days"] == {"numerator": 2.0, "denominator": 1, "value": 2.0}
