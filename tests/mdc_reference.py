"""An independent reading of NHS England's Making Data Count XmR rules, as a test oracle.

Written from the rule text of DESIGN.md and NHSRplotthedots' definitions (its
ptd_spc_standard, ptd_calculate_point_type and ptd_calculate_assurance_type), not from
digest/insight/spc.py: exact rational arithmetic instead of floats, and every rule as a
plain scan over the windows that contain a point instead of array convolutions.

One deliberate difference from NHSRplotthedots: a target exactly on a process limit is
met there ("green at or beyond it", DESIGN.md), so it counts as a pass, not inconsistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

MIN_POINTS = 12
WINDOW = 7  # a run or a trend


@dataclass(frozen=True)
class Chart:
    centre: Fraction
    spread: Fraction  # the screened mean moving range
    values: tuple[Fraction, ...]

    @property
    def upper(self) -> Fraction:
        return self.centre + Fraction(266, 100) * self.spread

    @property
    def lower(self) -> Fraction:
        return self.centre - Fraction(266, 100) * self.spread

    def sign(self, i: int) -> int:
        """+1 above the centre line, -1 below, 0 on it."""
        y = self.values[i]
        return (y > self.centre) - (y < self.centre)

    def outside(self, i: int) -> bool:
        return not self.lower <= self.values[i] <= self.upper

    def near(self, i: int) -> bool:
        """Beyond two thirds of the way to a limit, on the point's own side (or beyond it)."""
        distance = abs(self.values[i] - self.centre)
        return distance > Fraction(2, 3) * Fraction(266, 100) * self.spread


def chart(values: Sequence[float]) -> Chart | None:
    """The chart, or None when there is nothing to judge (too few points, no variation)."""
    ys = tuple(Fraction(v) for v in values)
    if len(ys) < MIN_POINTS:
        return None
    ranges = [abs(b - a) for a, b in pairwise(ys)]
    first = sum(ranges, Fraction(0)) / len(ranges)
    kept = [r for r in ranges if r < Fraction(3267, 1000) * first]
    spread = sum(kept, Fraction(0)) / len(kept) if kept else Fraction(0)
    if spread == 0:
        return None
    return Chart(sum(ys, Fraction(0)) / len(ys), spread, ys)


def _windows(n: int, i: int, size: int) -> list[range]:
    """Every window of `size` consecutive indices (within 0..n-1) that contains i."""
    return [range(s, s + size) for s in range(i - size + 1, i + 1) if s >= 0 and s + size <= n]


def in_run(c: Chart, i: int) -> bool:
    return any(
        len({c.sign(j) for j in w}) == 1 and c.sign(i) != 0 for w in _windows(len(c.values), i, WINDOW)
    )


def trend_direction(c: Chart, i: int) -> int:
    """+1 if point i is in 7 strictly rising points, -1 if in 7 strictly falling, else 0."""
    ys = c.values
    for w in _windows(len(ys), i, WINDOW):
        steps = [ys[j + 1] - ys[j] for j in list(w)[:-1]]
        if all(s > 0 for s in steps):
            return 1
        if all(s < 0 for s in steps):
            return -1
    return 0


def in_two_of_three(c: Chart, i: int) -> bool:
    if not c.near(i) or c.sign(i) == 0:
        return False
    side = c.sign(i)
    for w in _windows(len(c.values), i, 3):
        if all(c.sign(j) == side for j in w) and sum(c.near(j) for j in w) >= 2:
            return True
    return False


def special(c: Chart, i: int) -> bool:
    return c.outside(i) or in_run(c, i) or trend_direction(c, i) != 0 or in_two_of_three(c, i)


def latest_direction(c: Chart) -> int:
    """Which way the latest point signals, taking the rules in DESIGN's order."""
    last = len(c.values) - 1
    if c.outside(last):
        return c.sign(last)
    trend = trend_direction(c, last)
    return trend if trend else c.sign(last)


def variation(values: Sequence[float], polarity: str) -> str:
    c = chart(values)
    if c is None:
        return "insufficient-data"
    if not special(c, len(c.values) - 1):
        return "common-cause"
    if polarity not in ("higher", "lower"):
        return "neutral"
    good = 1 if polarity == "higher" else -1
    return "improvement" if latest_direction(c) == good else "concern"


def assurance(values: Sequence[float], polarity: str, target: float | None) -> str:
    c = chart(values)
    if c is None or target is None or polarity not in ("higher", "lower"):
        return "none"
    t = Fraction(target)
    if polarity == "higher":
        return "pass" if t <= c.lower else "fail" if t > c.upper else "inconsistent"
    return "pass" if t >= c.upper else "fail" if t < c.lower else "inconsistent"


def flags(values: Sequence[float]) -> list[bool]:
    """Which points are special cause (all False without a chart)."""
    c = chart(values)
    return [special(c, i) for i in range(len(values))] if c else [False] * len(values)


def boundaries(values: Sequence[float], target: float | None) -> list[Fraction]:
    """The lines a point or target is judged against, for tests that keep clear of them."""
    c = chart(values)
    if c is None:
        return []
    third = Fraction(2, 3) * Fraction(266, 100) * c.spread
    lines = [c.centre, c.upper, c.lower, c.centre + third, c.centre - third]
    return lines + ([Fraction(target)] if target is not None else [])
