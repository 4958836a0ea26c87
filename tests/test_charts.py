"""Making Data Count XmR charts: size, colours, the target line, determinism, alt text."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digest.email import charts
from digest.model import Measure, MeasureStatus, SpcResult
from tests import render_fixtures as fx

ROOT = Path(__file__).resolve().parent.parent
ENDS = fx.months_back(fx.OCTOBER, 24)
MEASURES = {m.id: m for m in fx.MEASURES}
ORANGE, BLUE, PURPLE, RED = (237, 139, 0), (0, 94, 184), (123, 45, 142), (218, 41, 28)


def xmr(
    measure: Measure,
    values: list[float | None] | None = None,
    flags: tuple[bool, ...] = (),
    variation: str = "common-cause",
) -> MeasureStatus:
    """A 24-month status whose SPC result has the given special-cause flags."""
    values = values if values is not None else [60.0 + (i % 5) - 2 for i in range(24)]
    status = fx.status(measure, values, ENDS, fx.date(2026, 11, 12))
    points = tuple((d, v) for d, v in status.history if v is not None)
    spc = SpcResult(60.0, 54.0, 66.0, len(points), variation, "none", flags)  # type: ignore[arg-type]
    return replace(status, spc=spc, spc_points=points)


def pixels(status: MeasureStatus) -> Image.Image:
    chart = charts.chart_for(status)
    assert chart is not None
    return Image.open(io.BytesIO(chart.png)).convert("RGB")


def count(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many pixels are within `tolerance` of `colour` in every channel."""
    difference = np.abs(np.asarray(image, dtype=np.int32) - np.array(colour, dtype=np.int32))
    return int((difference <= tolerance).all(axis=2).sum())


def last_above(measure: Measure) -> MeasureStatus:
    """The latest point far above the mean and flagged a special cause."""
    values: list[float | None] = [60.0 + (i % 5) - 2 for i in range(23)] + [75.0]
    return xmr(measure, values, (False,) * 23 + (True,))


def test_the_png_is_twice_the_display_size():
    chart = charts.chart_for(xmr(MEASURES["assessments-45-days"]))
    assert chart is not None
    assert (chart.width, chart.height) == (charts.WIDTH, charts.HEIGHT) == (300, 100)
    assert Image.open(io.BytesIO(chart.png)).size == (600, 200)


def test_special_causes_are_orange_for_concern_and_blue_for_improvement():
    # Higher is better: a point far above the mean is an improvement.
    better = pixels(last_above(MEASURES["assessments-45-days"]))
    assert count(better, BLUE) > 20 and count(better, ORANGE) == 0
    # Lower is better: the same point is a concern.
    worse = pixels(last_above(MEASURES["cla-rate"]))
    assert count(worse, ORANGE) > 20 and count(worse, BLUE) == 0


def test_a_special_cause_that_is_neither_is_purple():
    image = pixels(last_above(MEASURES["cp-plans"]))  # for information: no better side
    assert count(image, PURPLE) > 20
    assert count(image, ORANGE) == count(image, BLUE) == 0


def test_no_special_cause_means_neither_orange_nor_blue():
    for measure in (MEASURES["assessments-45-days"], MEASURES["cla-rate"]):
        image = pixels(xmr(measure, flags=(False,) * 24))
        assert count(image, ORANGE) == count(image, BLUE) == count(image, PURPLE) == 0


def test_the_target_line_is_red_only_when_there_is_a_target():
    with_target = MEASURES["assessments-45-days"]
    assert count(pixels(xmr(with_target)), RED) > 50
    assert count(pixels(xmr(replace(with_target, target=None))), RED) == 0
    assert count(pixels(xmr(MEASURES["cp-plans"])), RED) == 0  # info: never a target


def test_a_range_draws_both_ends_of_its_target():
    measure = replace(MEASURES["eh-days-open"], target=57.0, target_max=63.0, polarity="range")
    both = count(pixels(xmr(measure)), RED)
    one = count(pixels(xmr(replace(measure, target_max=None))), RED)
    assert one > 50 and both > 1.6 * one


def test_the_same_figures_draw_the_same_bytes():
    status = last_above(MEASURES["cla-rate"])
    first, second = charts.chart_for(status), charts.chart_for(status)
    assert first is not None and second is not None
    assert first.png == second.png and first.cid == second.cid
    assert b"tEXt" not in first.png and b"iTXt" not in first.png


def test_importing_the_charts_does_not_import_matplotlib():
    code = "import digest.email.charts, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("status", fx.monthly_statuses()[:6], ids=lambda s: s.measure.id)
def test_a_24_point_chart_is_small(status):
    flagged = replace(status, spc=replace(status.spc, special_cause=(False,) * 20 + (True,) * 4))
    for shown in (status, flagged):
        chart = charts.chart_for(shown)
        assert chart is not None and len(chart.png) <= 15_000


def test_alt_text_names_the_latest_value_the_limits_and_the_target():
    status = last_above(MEASURES["assessments-45-days"])
    status = replace(status, spc=replace(status.spc, variation="improvement"))
    chart = charts.chart_for(status)
    assert chart is not None
    assert chart.alt == (
        "Chart of the last 24 months, November 2024 to October 2026: latest 75.0%, "
        "mean 60.0%, process limits 54.0% to 66.0%, target 85.0% or more; "
        "latest point a special cause \u2014 improvement."
    )
    assert len(chart.alt) < 300


def test_alt_text_leaves_out_what_is_not_there():
    status = xmr(MEASURES["cp-plans"])
    status = replace(status, spc=SpcResult(None, None, None, 24, "insufficient-data", "none"))
    assert charts.trend_words(status) == (
        "Chart of the last 24 months, November 2024 to October 2026: latest 61; "
        "too few points for statistical process control."
    )


def test_fewer_than_two_values_gives_no_chart():
    status = xmr(MEASURES["cla-rate"])
    assert charts.chart_for(replace(status, history=status.history[-1:])) is None
    gaps = tuple((d, None) for d, _ in status.history[:-1]) + status.history[-1:]
    assert charts.chart_for(replace(status, history=gaps)) is None
    assert charts.chart_for(replace(status, history=status.history[-2:])) is not None


def test_the_cache_draws_each_chart_once(monkeypatch):
    drawn: list[str] = []
    draw = charts.xmr_png
    monkeypatch.setattr(charts, "xmr_png", lambda s: drawn.append(s.measure.id) or draw(s))
    cache = charts.ChartCache()
    status = xmr(MEASURES["cla-rate"])
    assert cache.chart(status) is cache.chart(status) is not None
    assert drawn == ["cla-rate"]
