"""What a digest says about each measure as of a date: values, RAG, direction, SPC, staleness."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from digest.insight import spc
from digest.insight.staleness import DueRules, is_stale

__all__ = ["DueRules", "compute", "direction", "is_stale", "rag", "split", "status"]
from digest.model import (
    MISSING_REASONS,
    Direction,
    Frequency,
    Measure,
    MeasureStatus,
    MissingCode,
    Rag,
)
from digest.units import UNITS

Days = npt.NDArray[np.datetime64]
Floats = npt.NDArray[np.float64]
Rows = npt.NDArray[np.intp]
_A = TypeVar("_A", Days, Floats)


@dataclass(frozen=True)
class Series:
    """One measure's observations up to the as-of date, oldest first."""

    dates: Days  # datetime64[D]
    values: Floats  # NaN where missing
    missing: MissingCode | None = None  # of the latest row
    note: str = ""  # of the latest row


def compute(
    measures: Sequence[Measure],
    observations: pd.DataFrame,
    on: date,
    spc_points: int = 24,
    history_points: int = 24,
    rebases: Mapping[str, Sequence[date]] | None = None,
    due: DueRules | None = None,
    last_shown: Mapping[str, Mapping[str, float]] | None = None,
) -> list[MeasureStatus]:
    """One status per measure, in the order given, from the rows with period_end <= `on`.

    `rebases` gives each measure's rebase dates (data/rebases.csv) and `due` when each
    period is due (the site's working days and [data]), both from the caller.
    `last_shown` is each measure's values by ISO period_end as digests last showed them.
    """
    series = split(observations, [m.id for m in measures], on)
    rebases = rebases or {}
    shown = last_shown or {}
    statuses = [
        status(
            m,
            series.get(m.id),
            on,
            spc_points=spc_points,
            history_points=history_points,
            rebases=rebases.get(m.id, ()),
            due=due,
        )
        for m in measures
    ]
    return [_with_revision(s, shown.get(s.measure.id, {})) for s in statuses]


def _with_revision(status: MeasureStatus, shown: Mapping[str, float]) -> MeasureStatus:
    """The status with `revised` set when its latest period was last shown differently.

    Compared as members see the values, so a change below the displayed precision is
    not a revision.
    """
    if status.value is None or status.period_end is None:
        return status
    before = shown.get(status.period_end.isoformat())
    if before is None or _as_shown(before, status.measure) == _as_shown(
        status.value, status.measure
    ):
        return status
    return replace(status, revised=before)


def split(observations: pd.DataFrame, ids: Sequence[str], on: date) -> dict[str, Series]:
    """Each wanted measure's rows up to `on`, oldest first, grouped in one pass."""
    period = observations["period_end"].to_numpy(dtype="datetime64[ns]")
    values = observations["value"].to_numpy(dtype=np.float64)
    slices = _rows_by_measure(observations["measure"], period, ids, on)
    # Only the latest row's code and note are shown, so only those are fetched.
    latest = np.array([r[-1] for r in slices.values()], dtype=np.intp)
    missing = observations["missing"].take(latest).tolist()
    notes = observations["note"].take(latest).tolist()
    return {
        measure_id: Series(
            dates=period[r].astype("datetime64[D]"),
            values=values[r],
            missing=_missing_code(code),
            note=note if isinstance(note, str) else "",
        )
        for (measure_id, r), code, note in zip(slices.items(), missing, notes, strict=True)
    }


def _rows_by_measure(
    measure: pd.Series, period: Days, ids: Sequence[str], on: date
) -> dict[str, Rows]:
    """Row numbers of each wanted measure with period_end <= `on`, in date order."""
    codes, uniques = pd.factorize(measure)
    code_of = {str(u): i for i, u in enumerate(uniques)}
    wanted = np.array([code_of[i] for i in set(ids) if i in code_of], dtype=np.intp)
    rows = np.flatnonzero((period <= np.datetime64(on, "D")) & np.isin(codes, wanted))
    # Sort by measure only (a radix sort when the codes fit 16 bits); each measure's
    # slice is small and is sorted by date on its own.
    key = codes[rows].astype(np.uint16) if len(uniques) <= 1 << 16 else codes[rows]
    rows = rows[np.argsort(key, kind="stable")]
    sorted_codes = codes[rows]
    slices: dict[str, Rows] = {}
    for measure_id in dict.fromkeys(ids):
        code = code_of.get(measure_id)
        if code is None:
            continue
        lo, hi = np.searchsorted(sorted_codes, [code, code + 1])
        if hi > lo:
            mine = rows[lo:hi]
            slices[measure_id] = mine[np.argsort(period[mine], kind="stable")]
    return slices


def _missing_code(value: object) -> MissingCode | None:
    if value == "c":
        return "c"
    if value == ":":
        return ":"
    if value == "z":
        return "z"
    return None


def _date(day: np.datetime64) -> date:
    result: date = day.astype("datetime64[D]").item()
    return result


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def status(
    measure: Measure,
    series: Series | None,
    on: date,
    *,
    spc_points: int = 24,
    history_points: int = 24,
    rebases: Sequence[date] = (),
    due: DueRules | None = None,
) -> MeasureStatus:
    """What a digest says about one measure, from its observations up to `on`."""
    if series is None:
        series = Series(np.array([], dtype="datetime64[D]"), np.array([], dtype=np.float64))
    dates, values = series.dates, series.values
    period_end = _date(dates[-1]) if dates.size else None
    value = _value(values[-1]) if values.size else None
    # The previous period is the row before the latest, whether or not it has a value.
    previous = _value(values[-2]) if values.size > 1 else None
    present = values[~np.isnan(values)]
    spc_dates, spc_values = spc_window(dates, values, rebases, spc_points)
    return MeasureStatus(
        measure=measure,
        as_of=on,
        period_end=period_end,
        value=value,
        missing=series.missing if value is None else None,
        note=series.note,
        previous=previous,
        previous_period_end=_date(dates[-2]) if dates.size > 1 else None,
        change=value - previous if value is not None and previous is not None else None,
        last_year=_last_year(dates, values, measure.frequency),
        rag=rag(measure, value),
        direction=direction(measure, value, previous),
        spc=spc.xmr(
            spc_values.tolist(),
            measure.polarity,
            measure.target,
            measure.target_max,
        ),
        stale=present.size == 0 or is_stale(period_end, measure.frequency, on, due),
        history=_history(_tail(dates, history_points), _tail(values, history_points)),
        spc_points=tuple(zip(spc_dates.tolist(), spc_values.tolist(), strict=True)),
    )


def spc_window(
    dates: Days, values: Floats, rebases: Sequence[date], count: int
) -> tuple[Days, Floats]:
    """The dates and values the XmR chart is drawn over: the latest `count` values present,
    since the latest rebase that has at least 12 of them on or after it (DESIGN: a rebase
    with fewer points since it does not yet restart the limits)."""
    present = ~np.isnan(values)
    dates, values = dates[present], values[present]
    start = 0
    for rebase in sorted(rebases, reverse=True):
        first = int(np.searchsorted(dates, np.datetime64(rebase, "D")))
        if dates.size - first >= spc.MIN_POINTS:
            start = first
            break
    return _tail(dates[start:], count), _tail(values[start:], count)


def _history(dates: Days, values: Floats) -> tuple[tuple[date, float | None], ...]:
    days: list[date] = dates.tolist()
    return tuple(
        (d, None if v != v else v)  # v != v only for NaN
        for d, v in zip(days, values.tolist(), strict=True)
    )


def _tail(items: _A, count: int) -> _A:
    """The last `count` items (none for a count of 0, unlike items[-0:])."""
    return items[max(len(items) - count, 0) :]


def _last_year(dates: Days, values: Floats, frequency: Frequency) -> float | None:
    """The value for the same period a year before the latest, when the data has it."""
    if dates.size == 0:
        return None
    wanted = np.datetime64(year_before(_date(dates[-1]), frequency), "D")
    i = int(np.searchsorted(dates, wanted))
    if i < dates.size and dates[i] == wanted:
        return _value(values[i])
    return None


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def _same_day_years_before(day: date, years: int) -> date:
    """The same date `years` earlier; 29 February becomes 28 February."""
    if day.month == 2 and day.day == 29:
        return date(day.year - years, 2, 28)
    return day.replace(year=day.year - years)


def year_before(period_end: date, frequency: Frequency) -> date:
    """The period_end of the same period a year earlier.

    Daily and weekly periods go back 364 days (52 weeks), so a Monday is compared with a
    Monday; month-end periods go to the end of the same month (2024-02-29 -> 2023-02-28,
    2025-02-28 -> 2024-02-29); any other date to the same date a year before.
    """
    if frequency in ("daily", "weekly"):
        return period_end - timedelta(weeks=52)
    if frequency != "daily" and period_end == _month_end(period_end.year, period_end.month):
        return _month_end(period_end.year - 1, period_end.month)
    return _same_day_years_before(period_end, 1)


def rag(measure: Measure, value: float | None) -> Rag:
    """Green at or beyond the target, amber within the tolerance of it, red beyond that.

    Judged on the value as members see it, rounded to the measure's decimals, in decimal
    arithmetic: 79.96 shown as "80.0%" meets a target of 80, and 61.9 is exactly 2.5
    short of 64.4 (binary floats would make it 2.5000000000000036).
    """
    target = measure.target
    if value is None or target is None or measure.polarity == "info":
        return "none"
    shown = _as_shown(value, measure)
    goal, tolerance = _decimal(target), _decimal(measure.tolerance or 0.0)
    zero = Decimal(0)
    if measure.polarity == "range":
        if measure.target_max is None:
            return "none"
        shortfall = max(goal - shown, shown - _decimal(measure.target_max), zero)
    elif measure.polarity == "higher":
        shortfall = max(goal - shown, zero)
    else:
        shortfall = max(shown - goal, zero)
    if shortfall == 0:
        return "green"
    return "amber" if shortfall <= tolerance else "red"


def _as_shown(value: float, measure: Measure) -> Decimal:
    decimals = measure.decimals if measure.decimals is not None else UNITS[measure.unit].decimals
    return Decimal(f"{value:.{decimals}f}")


def _decimal(number: float) -> Decimal:
    # repr gives the shortest text that reads back as the same float: 64.4, not 64.40000000000000568.
    return Decimal(repr(number))


def direction(measure: Measure, value: float | None, previous: float | None) -> Direction:
    """Improving or worsening by polarity; up or down for `info` and an unbounded range.

    For `range`, moving closer to the middle of the range is improving.
    """
    if value is None or previous is None:
        return "none"
    if value == previous:
        return "no-change"
    low, high = measure.target, measure.target_max
    if measure.polarity == "range" and low is not None and high is not None:
        middle = (low + high) / 2
        return _compare(abs(previous - middle), abs(value - middle), "improving", "worsening")
    if measure.polarity in ("info", "range"):
        return "up" if value > previous else "down"
    if measure.polarity == "higher":
        return _compare(value, previous, "improving", "worsening")
    return _compare(previous, value, "improving", "worsening")


def _compare(a: float, b: float, above: Direction, below: Direction) -> Direction:
    """`above` when a > b, `below` when a < b, else no-change."""
    if a > b:
        return above
    return below if a < b else "no-change"


def missing_reason(status: MeasureStatus) -> str:
    """Why the latest value is missing, in words ("suppressed"), or "" when it is not."""
    return MISSING_REASONS[status.missing] if status.missing is not None else ""
