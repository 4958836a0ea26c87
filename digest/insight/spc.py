"""XmR statistical process control by NHS England's "Making Data Count" rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from digest.model import Assurance, Polarity, SpcResult, Variation

MIN_POINTS = 12
"""Fewer points than this make no chart: variation is `insufficient-data`."""
SCREEN_FACTOR = 3.267
"""Moving ranges above this many times their mean are screened out (D4 for n=2)."""
LIMIT_FACTOR = 2.66
"""Process limits sit this many mean moving ranges either side of the mean (3 / d2)."""
RUN_LENGTH = 7
"""A shift: this many consecutive points on one side of the mean."""
TREND_LENGTH = 7
"""A trend: this many consecutive points each higher (or lower) than the one before."""

Floats = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Limits:
    """The centre line and process limits of an XmR chart."""

    mean: float
    lower: float
    upper: float


def moving_ranges(x: Floats) -> Floats:
    """|x[i] - x[i-1]| for each point after the first."""
    return np.abs(np.diff(x))


def screened_mean_moving_range(x: Floats) -> float:
    """Mean moving range after dropping ranges over 3.267 x the unscreened mean."""
    ranges = moving_ranges(x)
    if ranges.size == 0:
        return 0.0
    # Ranges of 3.267 x the mean or more go (Making Data Count), then the mean once more.
    kept = ranges[ranges < SCREEN_FACTOR * ranges.mean()]
    return float(kept.mean()) if kept.size else 0.0


def limits(x: Floats) -> Limits:
    """Mean and mean +/- 2.66 x the screened mean moving range."""
    mean = float(x.mean())
    width = LIMIT_FACTOR * screened_mean_moving_range(x)
    return Limits(mean, mean - width, mean + width)


def _in_runs(flags: Flags, length: int) -> Flags:
    """Marks every element of a run of at least `length` consecutive True values."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    marked = np.zeros(flags.size, dtype=bool)
    for start, end in zip(edges[0::2], edges[1::2], strict=True):
        if end - start >= length:
            marked[start:end] = True
    return marked


def outside_limits(x: Floats, chart: Limits) -> Flags:
    """Points strictly above the upper or below the lower process limit."""
    return (x > chart.upper) | (x < chart.lower)


def shift(x: Floats, chart: Limits, length: int = RUN_LENGTH) -> Flags:
    """Points in a run of `length` or more on one side of the mean; a point on it breaks the run."""
    return _in_runs(x > chart.mean, length) | _in_runs(x < chart.mean, length)


def _trend_points(steps: Flags, length: int) -> Flags:
    """Points joined by a run of `length - 1` or more qualifying steps."""
    in_run = _in_runs(steps, length - 1)
    # Step i joins points i and i+1, so a run of steps covers one point more.
    points = np.zeros(steps.size + 1, dtype=bool)
    points[:-1] |= in_run
    points[1:] |= in_run
    return points


def rising_trend(x: Floats, length: int = TREND_LENGTH) -> Flags:
    """Points in `length` or more consecutive strictly increasing points."""
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    return _trend_points(np.diff(x) > 0, length)


def falling_trend(x: Floats, length: int = TREND_LENGTH) -> Flags:
    """Points in `length` or more consecutive strictly decreasing points."""
    if x.size == 0:
        return np.zeros(0, dtype=bool)
    return _trend_points(np.diff(x) < 0, length)


def trend(x: Floats, length: int = TREND_LENGTH) -> Flags:
    """Points in a rising or falling trend of `length` or more; equal neighbours break it."""
    return rising_trend(x, length) | falling_trend(x, length)


def _two_of_three_on_side(near: Flags, side: Flags) -> Flags:
    """The near-limit points of every window of 3 with at least 2 near the limit and all 3
    on that side of the mean."""
    if near.size < 3:
        return np.zeros(near.size, dtype=bool)
    window = np.ones(3, dtype=np.int8)
    enough = np.convolve(near.astype(np.int8), window, mode="valid") >= 2
    all_on_side = np.convolve(side.astype(np.int8), window, mode="valid") == 3
    hits = enough & all_on_side
    # Point i lies in the windows starting at i-2, i-1 and i.
    covered = np.convolve(hits.astype(np.int8), np.ones(3, dtype=np.int8), mode="full") > 0
    return near & covered


def two_of_three(x: Floats, chart: Limits) -> Flags:
    """Points in 2 of 3 consecutive beyond two thirds of the way to a limit, same side."""
    # A point beyond the limit is also beyond two thirds (as the MDC tool has it since 2023).
    high = x > chart.mean + 2 / 3 * (chart.upper - chart.mean)
    low = x < chart.mean - 2 / 3 * (chart.mean - chart.lower)
    return _two_of_three_on_side(high, x > chart.mean) | _two_of_three_on_side(
        low, x < chart.mean
    )


def special_cause(x: Floats, chart: Limits) -> Flags:
    """Points that are part of any firing special-cause pattern."""
    return outside_limits(x, chart) | shift(x, chart) | trend(x) | two_of_three(x, chart)


def _latest_is_high(x: Floats, chart: Limits) -> bool:
    """Whether a special-cause latest point signals a high process rather than a low one.

    The rules are taken in order: outside the limits first (its side), then a trend (its
    direction), then 2-of-3 and a run (their side of the mean).
    """
    if outside_limits(x, chart)[-1]:
        return bool(x[-1] > chart.upper)
    if rising_trend(x)[-1]:
        return True
    if falling_trend(x)[-1]:
        return False
    return bool(x[-1] > chart.mean)


def _variation(x: Floats, chart: Limits, flags: Flags, polarity: Polarity) -> Variation:
    if not flags[-1]:
        return "common-cause"
    if polarity in ("info", "range"):
        return "neutral"
    high = _latest_is_high(x, chart)
    return "improvement" if high == (polarity == "higher") else "concern"


def _assurance(chart: Limits, polarity: Polarity, target: float | None) -> Assurance:
    """Whether the process will consistently meet (or miss) a target, green at or beyond it."""
    if target is None or polarity not in ("higher", "lower"):
        return "none"
    if polarity == "higher":
        meets, misses = chart.lower >= target, chart.upper < target
    else:
        meets, misses = chart.upper <= target, chart.lower > target
    if meets:
        return "pass"
    return "fail" if misses else "inconsistent"


def xmr(
    values: Sequence[float],
    polarity: Polarity,
    target: float | None,
    target_max: float | None = None,
) -> SpcResult:
    """XmR chart over `values` (oldest first, no NaNs) and the state of the latest point.

    `target_max` is accepted so callers can pass a measure's targets whole, but `range`
    measures carry no assurance, so it never changes the result.
    """
    del target_max
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("xmr needs finite values; drop missing ones first")
    if x.size < MIN_POINTS:
        no_flags = (False,) * int(x.size)
        return SpcResult(None, None, None, int(x.size), "insufficient-data", "none", no_flags)
    chart = limits(x)
    if chart.upper == chart.lower:  # no variation at all: nothing to judge a point against
        no_flags = (False,) * int(x.size)
        return SpcResult(chart.mean, chart.lower, chart.upper, int(x.size), "insufficient-data",
                         "none", no_flags)  # fmt: skip
    flags = special_cause(x, chart)
    return SpcResult(
        mean=chart.mean,
        lower=chart.lower,
        upper=chart.upper,
        points=int(x.size),
        variation=_variation(x, chart, flags, polarity),
        assurance=_assurance(chart, polarity, target),
        special_cause=tuple(bool(f) for f in flags),
    )
