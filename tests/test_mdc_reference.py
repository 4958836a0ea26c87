"""spc.xmr against tests/mdc_reference.py, an independent reading of the same rules."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import pairwise

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from digest.insight import spc
from tests import mdc_reference as ref

POLARITIES = ("higher", "lower", "info", "range")

# Small integers give ties (trends broken), points exactly on the mean (runs broken) and
# constant stretches (no variation); shifts and steps give runs, trends and outliers.
pieces = st.one_of(
    st.lists(st.integers(0, 6).map(float), min_size=1, max_size=8),
    st.lists(st.integers(-50, 50).map(lambda v: v / 10), min_size=1, max_size=8),
    st.tuples(st.integers(-20, 20), st.integers(1, 12)).map(lambda p: [float(p[0])] * p[1]),
    st.tuples(st.integers(-20, 20), st.integers(-3, 3), st.integers(2, 10)).map(
        lambda p: [float(p[0] + p[1] * k) for k in range(p[2])]
    ),
)
series = st.lists(pieces, min_size=1, max_size=6).map(lambda ps: [v for p in ps for v in p])
targets = st.one_of(st.none(), st.integers(-20, 20).map(float))


def clear_of_boundaries(values: list[float], target: float | None) -> bool:
    """No point, target or moving range within float rounding of a line it is judged by.

    spc.py works in binary floats and the oracle exactly, so only a value within 1e-9 of a
    limit, a two-thirds line, the mean or the screening threshold may fairly differ.
    """
    exact = [Fraction(v) for v in values]
    lines = ref.boundaries(values, target)
    if any(abs(v - line) < Fraction(1, 10**9) for v in exact + lines[5:] for line in lines[:5]):
        return False
    ranges = [abs(b - a) for a, b in pairwise(exact)]
    if not ranges:
        return True
    threshold = Fraction(3267, 1000) * sum(ranges, Fraction(0)) / len(ranges)
    return all(abs(r - threshold) > Fraction(1, 10**9) for r in ranges)


def agree(values: list[float], polarity: str, target: float | None) -> None:
    result = spc.xmr(values, polarity, target)  # type: ignore[arg-type]
    expected = (ref.variation(values, polarity), ref.assurance(values, polarity, target))
    assert (result.variation, result.assurance) == expected, values
    assert list(result.special_cause) == ref.flags(values), values


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(series, st.sampled_from(POLARITIES), targets)
def test_xmr_agrees_with_the_reference(
    values: list[float], polarity: str, target: float | None
) -> None:
    assume(clear_of_boundaries(values, target))
    agree(values, polarity, target)


def _random_series(rng: random.Random) -> list[float]:
    n = rng.randint(12, 30)
    level, out = rng.randint(0, 10), []
    for _ in range(n):
        move = rng.random()
        if move < 0.1:
            level += rng.randint(-4, 4)  # a shift
        out.append(float(level + rng.choice((0, 0, 1, -1, 2, rng.randint(-6, 6)))))
    return out


SEEDED = 2_500


def test_xmr_agrees_with_the_reference_on_seeded_random_series() -> None:
    rng = random.Random(20261201)
    compared = 0
    for _ in range(SEEDED):
        values = _random_series(rng)
        target = rng.choice((None, float(rng.randint(0, 12))))
        if not clear_of_boundaries(values, target):
            continue
        agree(values, rng.choice(POLARITIES), target)
        compared += 1
    assert compared > 0.9 * SEEDED


def test_the_reference_reads_the_issue_series_as_the_mdc_tool_does() -> None:
    # The oracle itself is pinned on the series NHSRplotthedots and the MDC tool judge.
    assert ref.variation([10.0, 12.0] * 8 + [16.1, 10.0, 16.1], "higher") == "common-cause"
    falling = [10.0, 11.0] * 9 + [30.0, 29.0, 28.0, 27.0, 26.0, 25.0, 24.0]
    assert ref.variation(falling, "higher") == "improvement"
    assert ref.variation([3.0] * 11 + [4.0] + [3.0] * 12, "higher") == "insufficient-data"
