"""Per-measure status as of a date: values, RAG, direction, last year, staleness, SPC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from digest.insight import indicators, spc
from digest.model import DataSettings, Frequency, Measure, Polarity, Span

ON = date(2026, 11, 26)


def measure(
    id: str = "m",
    polarity: Polarity = "higher",
    frequency: Frequency = "monthly",
    **fields: Any,
) -> Measure:
    fields.setdefault("unit", "percent")
    return Measure(id, f"Measure {id}", "social-care", polarity=polarity,
                   frequency=frequency, **fields)


def frame(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Rows of (measure, period_end, value or code or None[, note]) as data.py shapes them."""
    codes = {"c", ":", "z"}
    return pd.DataFrame({
        "measure": pd.Series([r[0] for r in rows], dtype="str"),
        "period_end": pd.to_datetime(pd.Series([r[1] for r in rows], dtype="str")).astype(
            "datetime64[ns]"),
        "value": pd.Series(
            [np.nan if r[2] is None or r[2] in codes else r[2] for r in rows], dtype="float64"),
        "missing": pd.Series([r[2] if r[2] in codes else None for r in rows], dtype=object),
        "note": pd.Series([r[3] if len(r) > 3 else "" for r in rows], dtype="str"),
    })


Row = tuple[Any, ...]


def monthly(measure_id: str, values: Sequence[float | str | None], last: str) -> list[Row]:
    """Rows for consecutive month ends finishing at `last`."""
    ends = pd.date_range(end=last, periods=len(values), freq="ME")
    return [(measure_id, d.date().isoformat(), v) for d, v in zip(ends, values, strict=True)]


def one(m: Measure, rows: list[tuple[Any, ...]], on: date = ON, **options: int) -> Any:
    return indicators.compute([m], frame(*rows), on, **options)[0]


def test_it_reports_latest_previous_and_change_in_percentage_points() -> None:
    s = one(measure(), monthly("m", [80.0, 82.5, 84.0], "2026-10-31"))
    assert s.period_end == date(2026, 10, 31)
    assert s.value == 84.0
    assert s.previous == 82.5
    assert s.previous_period_end == date(2026, 9, 30)
    assert s.change == pytest.approx(1.5)
    assert s.as_of == ON


def test_it_uses_only_rows_up_to_the_as_of_date() -> None:
    rows = monthly("m", [70.0, 71.0, 72.0], "2026-11-30")
    s = one(measure(), rows, on=date(2026, 10, 31))
    assert (s.period_end, s.value, s.previous) == (date(2026, 10, 31), 71.0, 70.0)
    earlier = one(measure(), rows, on=date(2026, 10, 30))
    assert (earlier.period_end, earlier.value, earlier.previous) == (date(2026, 9, 30), 70.0, None)


def test_rows_in_any_order_and_other_measures_do_not_matter() -> None:
    rows = monthly("a", [1.0, 2.0, 3.0], "2026-10-31") + monthly("b", [9.0, 8.0], "2026-09-30")
    rows += monthly("unasked", [5.0], "2026-10-31")
    rows.reverse()
    a, b = measure("a"), measure("b")
    statuses = indicators.compute([b, a], frame(*rows), ON)
    assert [s.measure.id for s in statuses] == ["b", "a"]
    assert (statuses[0].value, statuses[0].previous) == (8.0, 9.0)
    assert (statuses[1].value, statuses[1].previous) == (3.0, 2.0)
    assert [v for _, v in statuses[1].history] == [1.0, 2.0, 3.0]


def test_a_measure_without_rows_has_no_value_and_is_stale() -> None:
    s = one(measure("empty"), monthly("m", [1.0], "2026-10-31"))
    assert (s.period_end, s.value, s.previous, s.change) == (None, None, None, None)
    assert (s.rag, s.direction, s.variation, s.stale) == ("none", "none", "insufficient-data", True)
    assert s.history == ()


def test_an_empty_frame_gives_a_status_for_every_measure() -> None:
    statuses = indicators.compute([measure("a"), measure("b")], frame(), ON)
    assert [s.stale for s in statuses] == [True, True]


def test_a_missing_code_in_the_latest_period_is_reported_with_its_reason() -> None:
    rows = monthly("m", [80.0, 82.0, "c"], "2026-10-31")
    rows[-1] = (*rows[-1], "fewer than 5 children")
    s = one(measure(target=80.0), rows)
    assert s.period_end == date(2026, 10, 31)
    assert (s.value, s.missing, s.note) == (None, "c", "fewer than 5 children")
    assert indicators.missing_reason(s) == "suppressed"
    assert (s.previous, s.change, s.rag, s.direction) == (82.0, None, "none", "none")
    assert s.history[-1] == (date(2026, 10, 31), None)
    assert not s.stale


@pytest.mark.parametrize("code", [":", "z"])
def test_every_missing_code_is_kept(code: str) -> None:
    assert one(measure(), monthly("m", [1.0, code], "2026-10-31")).missing == code


def test_an_empty_value_without_a_code_has_no_reason() -> None:
    s = one(measure(), monthly("m", [1.0, None], "2026-10-31"))
    assert (s.value, s.missing, indicators.missing_reason(s)) == (None, None, "")


def test_a_missing_previous_period_gives_no_change() -> None:
    s = one(measure(), monthly("m", [1.0, None, 3.0], "2026-10-31"))
    assert (s.previous, s.previous_period_end, s.change) == (None, date(2026, 9, 30), None)
    assert s.direction == "none"


def test_a_gap_in_the_data_makes_the_previous_the_row_before() -> None:
    s = one(measure(), [("m", "2026-07-31", 4.0), ("m", "2026-10-31", 5.0)])
    assert (s.previous, s.previous_period_end, s.change) == (4.0, date(2026, 7, 31), 1.0)


def test_last_year_is_the_same_month_end_a_year_before() -> None:
    rows = monthly("m", [float(v) for v in range(13)], "2026-10-31")
    assert one(measure(), rows).last_year == 0.0
    assert one(measure(), rows[1:]).last_year is None


def test_last_year_of_a_leap_february_is_the_february_before() -> None:
    rows = [("m", "2023-02-28", 1.0), ("m", "2024-02-29", 2.0), ("m", "2025-02-28", 3.0)]
    assert one(measure(), rows[:2]).last_year == 1.0
    assert one(measure(), rows).last_year == 2.0


def test_last_year_of_a_daily_measure_is_364_days_before_the_same_weekday() -> None:
    # DESIGN.md: Wednesday 25 November 2026 is compared with Wednesday 26 November 2025.
    rows = [("m", "2025-11-25", 7.0), ("m", "2025-11-26", 8.0), ("m", "2026-11-25", 9.0)]
    assert one(measure(frequency="daily"), rows).last_year == 8.0


def test_last_year_of_a_weekly_measure_is_52_weeks_before() -> None:
    rows = [("m", "2025-11-23", 6.0), ("m", "2025-11-22", 5.0), ("m", "2026-11-22", 9.0)]
    assert one(measure(frequency="weekly"), rows).last_year == 6.0


def test_last_year_is_none_when_that_period_is_missing() -> None:
    rows = [("m", "2025-10-31", ":"), ("m", "2026-10-31", 9.0)]
    assert one(measure(), rows).last_year is None


TEN_TO_FIFTEEN: dict[str, Any] = {"polarity": "range", "target": 10.0, "target_max": 15.0}


@pytest.mark.parametrize(
    ("fields", "value", "expected"),
    [
        ({"polarity": "higher", "target": 80.0}, 80.0, "green"),
        ({"polarity": "higher", "target": 80.0}, 79.9, "red"),
        ({"polarity": "higher", "target": 80.0, "tolerance": 5.0}, 75.0, "amber"),
        ({"polarity": "higher", "target": 80.0, "tolerance": 5.0}, 74.9, "red"),
        ({"polarity": "lower", "target": 20.0}, 20.0, "green"),
        ({"polarity": "lower", "target": 20.0}, 20.1, "red"),
        ({"polarity": "lower", "target": 20.0, "tolerance": 2.0}, 22.0, "amber"),
        ({"polarity": "lower", "target": 20.0, "tolerance": 2.0}, 22.5, "red"),
        ({"polarity": "range", "target": 10.0, "target_max": 15.0}, 10.0, "green"),
        ({"polarity": "range", "target": 10.0, "target_max": 15.0}, 15.0, "green"),
        ({"polarity": "range", "target": 10.0, "target_max": 15.0}, 15.5, "red"),
        ({**TEN_TO_FIFTEEN, "tolerance": 1.0}, 9.0, "amber"),
        ({**TEN_TO_FIFTEEN, "tolerance": 1.0}, 16.0, "amber"),
        ({**TEN_TO_FIFTEEN, "tolerance": 1.0}, 8.5, "red"),
        ({"polarity": "higher"}, 50.0, "none"),
        ({"polarity": "info"}, 50.0, "none"),
        ({"polarity": "higher", "target": 80.0}, None, "none"),
    ],
)
def test_rag_follows_polarity_target_and_tolerance(
    fields: dict[str, Any], value: float | None, expected: str
) -> None:
    assert indicators.rag(measure(**fields), value) == expected


@pytest.mark.parametrize(
    ("fields", "value", "previous", "expected"),
    [
        ({"polarity": "higher"}, 5.0, 4.0, "improving"),
        ({"polarity": "higher"}, 3.0, 4.0, "worsening"),
        ({"polarity": "lower"}, 3.0, 4.0, "improving"),
        ({"polarity": "lower"}, 5.0, 4.0, "worsening"),
        ({"polarity": "lower"}, 4.0, 4.0, "no-change"),
        ({"polarity": "info"}, 5.0, 4.0, "up"),
        ({"polarity": "info"}, 3.0, 4.0, "down"),
        ({"polarity": "info"}, 4.0, 4.0, "no-change"),
        ({"polarity": "range", "target": 10.0, "target_max": 20.0}, 17.0, 22.0, "improving"),
        ({"polarity": "range", "target": 10.0, "target_max": 20.0}, 8.0, 12.0, "worsening"),
        ({"polarity": "range", "target": 10.0, "target_max": 20.0}, 14.0, 16.0, "no-change"),
        ({"polarity": "range"}, 5.0, 4.0, "up"),
        ({"polarity": "higher"}, None, 4.0, "none"),
        ({"polarity": "higher"}, 4.0, None, "none"),
    ],
)
def test_direction_follows_polarity(
    fields: dict[str, Any], value: float | None, previous: float | None, expected: str
) -> None:
    assert indicators.direction(measure(**fields), value, previous) == expected


def test_the_status_carries_rag_and_direction() -> None:
    s = one(measure(polarity="lower", target=10.0, tolerance=1.0),
            monthly("m", [12.0, 10.5], "2026-10-31"))
    assert (s.rag, s.direction) == ("amber", "improving")


@pytest.mark.parametrize(
    ("frequency", "latest", "stale"),
    [
        # ON is Thursday 26 November 2026: Wednesday's daily value is due.
        ("daily", date(2026, 11, 26), False),
        ("daily", date(2026, 11, 25), False),
        ("daily", date(2026, 11, 24), True),
        # The week ending Thursday 19 November was due 3 working days later (24th).
        ("weekly", date(2026, 11, 19), False),
        ("weekly", date(2026, 11, 12), True),
        # October was due 10 working days after it ended: Friday 13 November.
        ("monthly", date(2026, 10, 31), False),
        ("monthly", date(2026, 9, 30), True),
        # July-September was due 30 working days after 30 September: 11 November.
        ("quarterly", date(2026, 9, 30), False),
        ("quarterly", date(2026, 6, 30), True),
        ("annual", date(2024, 11, 26), False),
        ("annual", date(2024, 11, 25), True),
        ("monthly", None, True),
    ],
)
def test_stale_rules_per_frequency(frequency: Frequency, latest: date | None, stale: bool) -> None:
    assert indicators.is_stale(latest, frequency, ON) is stale


def test_a_daily_measure_is_not_stale_on_a_monday_or_after_a_bank_holiday() -> None:
    # Friday's value is the latest expected on Monday; none is expected for the weekend.
    assert not indicators.is_stale(date(2026, 11, 27), "daily", date(2026, 11, 30))
    assert indicators.is_stale(date(2026, 11, 26), "daily", date(2026, 11, 30))
    christmas = _Holidays({date(2026, 12, 25), date(2026, 12, 28)})
    due = indicators.DueRules(christmas)
    assert not indicators.is_stale(date(2026, 12, 24), "daily", date(2026, 12, 29), due)
    assert indicators.is_stale(date(2026, 12, 24), "daily", date(2026, 12, 30), due)


def test_a_missing_month_is_stale_once_it_is_due() -> None:
    # October 2026 is due 10 working days after 31 October: Friday 13 November.
    assert not indicators.is_stale(date(2026, 9, 30), "monthly", date(2026, 11, 12))
    assert indicators.is_stale(date(2026, 9, 30), "monthly", date(2026, 11, 13))
    late = indicators.DueRules(data=DataSettings(monthly_due=Span(20, "days")))
    assert not indicators.is_stale(date(2026, 9, 30), "monthly", date(2026, 11, 19), late)
    assert indicators.is_stale(date(2026, 9, 30), "monthly", date(2026, 11, 20), late)


def test_a_new_year_does_not_confuse_the_month_count() -> None:
    # December 2026 is due 10 working days after the 31st (Friday 1 January a holiday).
    holidays = indicators.DueRules(_Holidays({date(2027, 1, 1)}))
    assert not indicators.is_stale(date(2026, 11, 30), "monthly", date(2027, 1, 14), holidays)
    assert indicators.is_stale(date(2026, 11, 30), "monthly", date(2027, 1, 15), holidays)
    assert not indicators.is_stale(date(2026, 9, 30), "quarterly", date(2027, 1, 15))
    assert indicators.is_stale(date(2026, 6, 30), "quarterly", date(2027, 1, 15))


class _Holidays:
    """Weekends and the given days are not working days."""

    def __init__(self, days: set[date]) -> None:
        self.days = days

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.days

    def add_working_days(self, day: date, n: int) -> date:
        for _ in range(n):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return day


def test_a_status_is_stale_by_its_latest_period() -> None:
    assert one(measure(), monthly("m", [1.0], "2026-09-30")).stale
    assert not one(measure(), monthly("m", [1.0], "2026-10-31")).stale


def test_a_measure_whose_values_are_all_missing_is_stale() -> None:
    assert one(measure(), monthly("m", ["c", "c"], "2026-10-31")).stale


def test_spc_runs_over_the_latest_points_with_a_value() -> None:
    values: list[float | str | None] = [float(v % 5) for v in range(30)]
    values[-3] = ":"
    s = one(measure(target=1.0), monthly("m", values, "2026-10-31"))
    present = [v for v in values if isinstance(v, float)]
    assert s.spc == spc.xmr(present[-24:], "higher", 1.0)
    assert s.spc.points == 24


def test_spc_points_sets_the_window() -> None:
    rows = monthly("m", [float(v % 3) for v in range(30)], "2026-10-31")
    assert one(measure(), rows, spc_points=12).spc.points == 12
    assert one(measure(), rows, spc_points=11).variation == "insufficient-data"
    assert one(measure(), rows, spc_points=0).spc.points == 0


def test_spc_sees_the_special_cause_of_the_latest_point() -> None:
    values = [8.0, 14.0] * 6 + [40.0]
    assert one(measure(), monthly("m", values, "2026-10-31")).variation == "improvement"
    assert one(measure(polarity="lower"), monthly("m", values, "2026-10-31")).variation == (
        "concern"
    )


def test_history_is_the_latest_points_oldest_first_with_gaps() -> None:
    s = one(measure(), monthly("m", [1.0, 2.0, None, 4.0], "2026-10-31"), history_points=3)
    assert s.history == (
        (date(2026, 8, 31), 2.0),
        (date(2026, 9, 30), None),
        (date(2026, 10, 31), 4.0),
    )
    assert one(measure(), monthly("m", [1.0], "2026-10-31"), history_points=0).history == ()


def test_microsecond_dates_are_read_as_well() -> None:
    data = frame(*monthly("m", [1.0, 2.0], "2026-10-31"))
    data["period_end"] = data["period_end"].astype("datetime64[us]")
    s = indicators.compute([measure()], data, ON)[0]
    assert (s.period_end, s.value) == (date(2026, 10, 31), 2.0)


def test_grouping_matches_a_plain_filter_per_measure() -> None:
    rng = np.random.default_rng(7)
    days = pd.date_range("2025-01-01", periods=400, freq="D")
    data = pd.DataFrame({
        "measure": pd.Series(rng.choice(["a", "b", "c", "d"], 1200), dtype="str"),
        "period_end": rng.choice(days.to_numpy(), 1200),
        "value": rng.normal(50, 10, 1200).round(1),
    }).drop_duplicates(["measure", "period_end"]).reset_index(drop=True)
    data.loc[data.index % 11 == 0, "value"] = np.nan
    data["missing"] = pd.Series([None] * len(data), dtype=object)
    data["note"] = ""
    on = date(2025, 11, 1)
    measures = [measure(i, frequency="daily") for i in ("d", "a", "x", "c")]
    for s in indicators.compute(measures, data, on, history_points=30):
        rows = data[(data["measure"] == s.measure.id) & (data["period_end"] <= pd.Timestamp(on))]
        rows = rows.sort_values("period_end").tail(30)
        expected = [(d.date(), None if np.isnan(v) else v)
                    for d, v in zip(rows["period_end"], rows["value"], strict=True)]
        assert list(s.history) == expected


def test_rag_is_judged_on_the_value_as_members_see_it() -> None:
    from dataclasses import replace as changed

    base = _measure_for_rag()
    shown_as_80 = changed(base, target=80.0, tolerance=None, decimals=1)
    assert indicators.rag(shown_as_80, 79.96) == "green"  # "80.0%" meets 80
    assert indicators.rag(shown_as_80, 79.94) == "red"  # "79.9%"
    edge = changed(base, target=64.4, tolerance=2.5, decimals=1)
    assert indicators.rag(edge, 61.9) == "amber"  # exactly 2.5 short, not 2.5000000000000036
    assert indicators.rag(edge, 61.8) == "red"


def _measure_for_rag() -> Measure:
    return Measure(
        id="visits", title="Visits in time", scorecard="social-care", unit="percent",
        polarity="higher", frequency="monthly",
    )  # fmt: skip


def test_the_charted_points_keep_their_own_dates_when_the_window_has_gaps() -> None:
    # 30 months, one missing value in the last 24 rows, and a spike in June 2025: the
    # special-cause point must be named with June's date, not a neighbour's.
    values: list[float | None] = [10.0, 11.0] * 15
    values[25] = None  # June 2026 not available
    values[13] = 40.0  # June 2025
    rows = monthly("m", values, "2026-10-31")
    s = one(measure(), rows)
    dates = [d for d, _ in s.spc_points]
    assert len(dates) == s.spc.points == 24 and date(2026, 6, 30) not in dates
    flagged = [d for (d, _), f in zip(s.spc_points, s.spc.special_cause, strict=True) if f]
    assert date(2025, 6, 30) in flagged
