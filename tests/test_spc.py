"""XmR rules pinned on worked series whose numbers are checked by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from digest.email import words
from digest.insight import spc
from digest.model import SpcResult

# Baseline of alternating values: no run, no trend, moving ranges all equal.
ZIGZAG = [10.0, 12.0] * 6

# 8,14 alternating then a spike: moving ranges 6 (x11) and 26; mean MR 92/12 = 7.667,
# screen 3.267 x 7.667 = 25.05, so 26 is screened out and the mean MR is 6.
# mean = 172/13 = 13.2308; limits 13.2308 -/+ 15.96 = -2.7292 .. 29.1908; only 40 beyond.
SPIKE = [8.0, 14.0] * 6 + [40.0]

# 13,9 alternating then seven points at 12/13, all above mean 153/13 = 11.769.
# MRs: 4 x5, 3, 1 x6 = 29/12 = 2.4167; limits 11.769 -/+ 6.428 = 5.341 .. 18.198;
# outer thirds start at 16.055 and 7.484: no point reaches either.
SHIFT = [13.0, 9.0] * 3 + [12.0, 13.0, 12.0, 13.0, 12.0, 13.0, 12.0]

# 10,12 alternating then 8..14 rising by 1: mean 143/13 = 11; MRs 2 x5, 4, 1 x6 = 20/12;
# limits 11 -/+ 4.4333; outer thirds from 13.956 and 8.044: only 14 reaches one (alone).
TREND = [10.0, 12.0] * 3 + [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0]

# ZIGZAG then 16.5, 12, 16.5: mean 177/15 = 11.8; MRs 2 x11 and 4.5 x3 = 35.5/14 = 2.5357;
# limits 11.8 -/+ 6.745 = 5.055 .. 18.545; upper outer third from 16.297: both 16.5s.
TWO_OF_THREE = [*ZIGZAG, 16.5, 12.0, 16.5]


def flagged(x: list[float]) -> dict[str, list[int]]:
    """Indexes flagged by each rule on its own."""
    a = np.array(x)
    chart = spc.limits(a)
    return {
        "outside": np.flatnonzero(spc.outside_limits(a, chart)).tolist(),
        "shift": np.flatnonzero(spc.shift(a, chart)).tolist(),
        "trend": np.flatnonzero(spc.trend(a)).tolist(),
        "two_of_three": np.flatnonzero(spc.two_of_three(a, chart)).tolist(),
    }


def test_limits_of_a_stable_series_are_mean_plus_minus_2_66_mean_moving_range() -> None:
    chart = spc.limits(np.array(ZIGZAG))
    assert chart.mean == pytest.approx(11.0)
    assert chart.lower == pytest.approx(11.0 - 5.32)
    assert chart.upper == pytest.approx(11.0 + 5.32)


def test_a_single_point_outside_the_limits_fires_only_that_rule() -> None:
    chart = spc.limits(np.array(SPIKE))
    assert chart.mean == pytest.approx(172 / 13)
    assert chart.upper == pytest.approx(172 / 13 + 15.96)
    assert chart.lower == pytest.approx(172 / 13 - 15.96)
    assert flagged(SPIKE) == {"outside": [12], "shift": [], "trend": [], "two_of_three": []}
    result = spc.xmr(SPIKE, "higher", None)
    assert result.special_cause == (False,) * 12 + (True,)


def test_a_run_of_seven_on_one_side_fires_only_that_rule() -> None:
    chart = spc.limits(np.array(SHIFT))
    assert chart.mean == pytest.approx(153 / 13)
    assert chart.upper - chart.mean == pytest.approx(2.66 * 29 / 12)
    assert flagged(SHIFT) == {
        "outside": [], "shift": [6, 7, 8, 9, 10, 11, 12], "trend": [], "two_of_three": [],
    }
    assert spc.xmr(SHIFT, "higher", None).variation == "improvement"


def test_a_run_of_six_is_not_a_shift() -> None:
    assert flagged(SHIFT[:-1]) == {"outside": [], "shift": [], "trend": [], "two_of_three": []}
    assert spc.xmr(SHIFT[:-1], "higher", None).variation == "common-cause"


def test_a_point_on_the_mean_breaks_a_run() -> None:
    chart = spc.Limits(mean=0.0, lower=-10.0, upper=10.0)
    assert spc.shift(np.array([1.0] * 6 + [0.0] + [1.0] * 6), chart).tolist() == [False] * 13
    assert spc.shift(np.array([1.0] * 7), chart).all()


def test_a_trend_of_seven_rising_points_fires_only_that_rule() -> None:
    chart = spc.limits(np.array(TREND))
    assert chart.mean == pytest.approx(11.0)
    assert chart.upper == pytest.approx(11.0 + 2.66 * 20 / 12)
    assert flagged(TREND) == {
        "outside": [], "shift": [], "trend": [6, 7, 8, 9, 10, 11, 12], "two_of_three": [],
    }
    assert spc.xmr(TREND, "higher", None).variation == "improvement"


def test_a_falling_trend_is_concern_when_higher_is_better() -> None:
    falling = [10.0, 12.0] * 3 + [14.0, 13.0, 12.0, 11.0, 10.0, 9.0, 8.0]
    assert flagged(falling)["trend"] == [6, 7, 8, 9, 10, 11, 12]
    assert spc.xmr(falling, "higher", None).variation == "concern"
    assert spc.xmr(falling, "lower", None).variation == "improvement"


def test_a_latest_point_in_a_trend_takes_the_trend_direction() -> None:
    # Rising from far below: the last seven are also a run below the mean, but the
    # process is moving up, so the trend's direction decides.
    x = [20.0, 22.0] * 3 + [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0]
    assert flagged(x)["shift"] == [6, 7, 8, 9, 10, 11, 12]
    assert flagged(x)["trend"] == [6, 7, 8, 9, 10, 11, 12]
    assert spc.xmr(x, "higher", None).variation == "improvement"
    assert spc.xmr(x, "lower", None).variation == "concern"


def test_six_rising_points_are_not_a_trend() -> None:
    assert not spc.trend(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])).any()
    assert flagged(TREND[1:])["trend"] == [5, 6, 7, 8, 9, 10, 11]
    assert flagged([*TREND[:-1], 12.0])["trend"] == []


def test_equal_neighbours_break_a_trend() -> None:
    x = np.array([1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert not spc.trend(x).any()
    assert spc.trend(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])).all()


def test_two_of_three_in_the_outer_third_fires_only_that_rule() -> None:
    chart = spc.limits(np.array(TWO_OF_THREE))
    assert chart.mean == pytest.approx(11.8)
    assert chart.upper == pytest.approx(11.8 + 2.66 * 35.5 / 14)
    assert chart.mean + 2 / 3 * (chart.upper - chart.mean) == pytest.approx(16.29667, abs=1e-5)
    assert flagged(TWO_OF_THREE) == {
        "outside": [], "shift": [], "trend": [], "two_of_three": [12, 14],
    }
    result = spc.xmr(TWO_OF_THREE, "higher", None)
    assert result.variation == "improvement"
    assert [i for i, f in enumerate(result.special_cause) if f] == [12, 14]


def test_two_of_three_needs_all_three_points_on_the_same_side() -> None:
    # DESIGN.md (Making Data Count): all three on one side of the mean; a point on the mean
    # is on neither side.
    chart = spc.Limits(mean=0.0, lower=-3.0, upper=3.0)
    assert not spc.two_of_three(np.array([2.5, 0.0, -2.5]), chart).any()
    assert not spc.two_of_three(np.array([-2.5, 0.0, -2.5]), chart).any()
    assert spc.two_of_three(np.array([-2.5, -0.5, -2.5]), chart).tolist() == [True, False, True]
    assert not spc.two_of_three(np.array([2.5, 0.0, 0.0, 2.5]), chart).any()
    assert spc.two_of_three(np.array([2.5, 3.5, 0.5]), chart).tolist() == [True, True, False]


def test_the_middle_point_across_the_mean_leaves_common_cause() -> None:
    # The series: the reference (NHSRplotthedots, MDC) says common cause.
    series = [10.0, 12.0] * 8 + [16.1, 10.0, 16.1]
    assert spc.xmr(series, "higher", None).variation == "common-cause"


def test_a_latest_point_beyond_a_limit_is_judged_by_its_side_before_any_trend() -> None:
    # Outside the limits is taken first: high and higher is better, whatever the falling trend.
    series = [10.0, 11.0] * 9 + [30.0, 29.0, 28.0, 27.0, 26.0, 25.0, 24.0]
    result = spc.xmr(series, "higher", None)
    assert result.upper is not None and series[-1] > result.upper
    assert result.variation == "improvement"


def test_a_near_constant_count_has_no_variation_to_judge() -> None:
    # The screened mean moving range is 0: zero-width limits say nothing.
    series = [3.0] * 11 + [4.0] + [3.0] * 12
    assert spc.screened_mean_moving_range(np.array(series)) == 0.0
    result = spc.xmr(series, "higher", None)
    assert (result.variation, result.assurance) == ("insufficient-data", "none")


def test_a_huge_jump_is_screened_out_of_the_mean_moving_range() -> None:
    # MRs: 2 x10 and 28; mean MR 48/11 = 4.364, screen 14.26, so 28 goes and the mean MR is 2.
    jump = [10.0, 12.0, 10.0, 12.0, 10.0, 12.0, 40.0, 42.0, 40.0, 42.0, 40.0, 42.0]
    assert spc.screened_mean_moving_range(np.array(jump)) == pytest.approx(2.0)
    result = spc.xmr(jump, "higher", None)
    assert result.mean == pytest.approx(26.0)
    assert result.lower == pytest.approx(20.68)
    assert result.upper == pytest.approx(31.32)


def test_a_moving_range_just_under_the_screen_is_kept() -> None:
    # MRs 1 x10 and 4: mean 14/11 = 1.273, screen 4.158, so 4 stays: mean MR 14/11.
    x = np.array([0.0, 1.0] * 5 + [0.0, 4.0])
    assert spc.screened_mean_moving_range(x) == pytest.approx(14 / 11)


def test_polarity_decides_improvement_or_concern_for_the_same_series() -> None:
    assert spc.xmr(SPIKE, "higher", None).variation == "improvement"
    assert spc.xmr(SPIKE, "lower", None).variation == "concern"
    low_spike = [-v for v in SPIKE]
    assert spc.xmr(low_spike, "higher", None).variation == "concern"
    assert spc.xmr(low_spike, "lower", None).variation == "improvement"


@pytest.mark.parametrize("polarity", ["info", "range"])
def test_info_and_range_special_cause_is_neutral(polarity: str) -> None:
    result = spc.xmr(SPIKE, polarity, 20.0, 30.0)  # type: ignore[arg-type]
    assert result.variation == "neutral"
    assert result.assurance == "none"


def test_a_latest_point_without_special_cause_is_common_cause() -> None:
    result = spc.xmr(ZIGZAG, "higher", None)
    assert result.variation == "common-cause"
    assert result.special_cause == (False,) * 12


def test_an_earlier_special_cause_does_not_make_the_latest_point_special() -> None:
    result = spc.xmr([*SPIKE, 8.0], "higher", None)
    assert result.special_cause[12]
    assert result.variation == "common-cause"


def test_fewer_than_twelve_points_is_insufficient_data() -> None:
    result = spc.xmr(SPIKE[-11:], "higher", 5.0)
    assert result.variation == "insufficient-data"
    assert result.assurance == "none"
    assert result.points == 11
    assert result.mean is None
    assert spc.xmr([], "higher", None).variation == "insufficient-data"


def test_twelve_points_are_enough() -> None:
    assert spc.xmr(ZIGZAG, "higher", None).variation == "common-cause"


@pytest.mark.parametrize(
    ("polarity", "target", "assurance"),
    [
        ("higher", 5.0, "pass"),  # limits 5.68 .. 16.32
        ("higher", 17.0, "fail"),
        ("higher", 11.0, "inconsistent"),
        ("lower", 17.0, "pass"),
        ("lower", 5.0, "fail"),
        ("lower", 11.0, "inconsistent"),
        ("higher", None, "none"),
    ],
)
def test_assurance_compares_the_target_with_the_process_limits(
    polarity: str, target: float | None, assurance: str
) -> None:
    assert spc.xmr(ZIGZAG, polarity, target).assurance == assurance  # type: ignore[arg-type]


def test_a_target_on_the_limit_still_passes() -> None:
    chart = spc.xmr(ZIGZAG, "higher", None)
    assert chart.lower is not None and chart.upper is not None
    assert spc.xmr(ZIGZAG, "higher", chart.lower).assurance == "pass"
    assert spc.xmr(ZIGZAG, "lower", chart.upper).assurance == "pass"
    # Green is at or beyond the target, so a limit on it can still meet it: not a fail.
    assert spc.xmr(ZIGZAG, "higher", chart.upper).assurance == "inconsistent"


def test_missing_values_are_refused() -> None:
    with pytest.raises(ValueError):
        spc.xmr([*ZIGZAG, float("nan")], "higher", None)


def test_describe_says_the_variation_in_the_words_members_read() -> None:
    # One wording of SPC results, the members' (digest.email.words), for emails and the CLI alike.
    assert words.describe_variation(spc.xmr(SPIKE, "higher", None)) == (
        "a real improvement (special cause)"
    )
    assert words.describe_variation(spc.xmr(SPIKE, "lower", None)) == (
        "a real concern (special cause)"
    )
    assert words.describe_variation(spc.xmr(ZIGZAG, "higher", None)) == (
        "normal variation — no real change"
    )
    assert "5 points" in words.describe_variation(spc.xmr(ZIGZAG[:5], "higher", None))
    assert words.describe_assurance(spc.xmr(ZIGZAG, "higher", 5.0)) == (
        "will consistently meet the target"
    )
    assert words.describe_assurance(spc.xmr(ZIGZAG, "higher", None)) == ""


series = st.lists(st.integers(-1000, 1000).map(float), min_size=12, max_size=24)


@given(series)
def test_limits_are_symmetric_about_the_mean(values: list[float]) -> None:
    result = spc.xmr(values, "higher", None)
    assert result.mean is not None and result.lower is not None and result.upper is not None
    assert result.upper - result.mean == pytest.approx(result.mean - result.lower, abs=1e-9)
    assert result.lower <= result.mean <= result.upper
    assert len(result.special_cause) == len(values)


def _clear_of_thresholds(result: SpcResult, values: list[float]) -> bool:
    """No point within rounding of the mean, a limit or an outer-third line."""
    assert result.mean is not None and result.lower is not None and result.upper is not None
    lines = [result.mean, result.lower, result.upper,
             result.mean + 2 / 3 * (result.upper - result.mean),
             result.mean - 2 / 3 * (result.mean - result.lower)]
    return all(abs(v - line) > 1e-6 for v in values for line in lines)


@given(series, st.integers(-10_000, 10_000).map(float))
def test_shifting_every_value_shifts_the_limits_and_keeps_the_variation(
    values: list[float], offset: float
) -> None:
    before = spc.xmr(values, "higher", None)
    assume(_clear_of_thresholds(before, values))
    after = spc.xmr([v + offset for v in values], "higher", None)
    limits_before = (before.mean, before.lower, before.upper)
    limits_after = (after.mean, after.lower, after.upper)
    for b, a in zip(limits_before, limits_after, strict=True):
        assert a is not None and b is not None
        assert a == pytest.approx(b + offset, abs=1e-6)
    assert after.variation == before.variation
    assert after.special_cause == before.special_cause


@given(series)
def test_mirroring_the_series_swaps_improvement_and_concern(values: list[float]) -> None:
    before = spc.xmr(values, "higher", None)
    assume(_clear_of_thresholds(before, values))
    mirrored = spc.xmr([-v for v in values], "lower", None)
    assert mirrored.variation == before.variation
    assert mirrored.special_cause == before.special_cause
