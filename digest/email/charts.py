"""Small trend charts (sparklines) as PNG, with their alt text in words."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from digest.email.words import FREQUENCY_PLURALS, LATEST_POINT_WORDS, format_value
from digest.model import MeasureStatus, SpcResult

if TYPE_CHECKING:
    from PIL import Image, ImageDraw

WIDTH, HEIGHT = 240, 60  # as shown in the email, in CSS pixels
SCALE = 2  # the PNG is drawn at twice the size for sharp phone screens
SUPERSAMPLE = 3  # drawn larger still, then reduced: Pillow lines have no antialiasing
PAD = 6

LINE = (11, 79, 108)
LIMITS = (170, 180, 190)
MEAN = (200, 206, 212)
MARKERS = {"improvement": (29, 78, 216), "concern": (180, 83, 9)}
LATEST = (31, 41, 51)



@dataclass(frozen=True)
class Chart:
    """One measure's sparkline, ready to attach as a CID part."""

    cid: str  # without angle brackets
    png: bytes
    alt: str
    width: int = WIDTH
    height: int = HEIGHT


@dataclass
class ChartCache:
    """Charts drawn once per digest, shared by every message that shows them."""

    charts: dict[tuple[str, tuple[tuple[date, float | None], ...]], Chart | None] = field(
        default_factory=dict
    )

    def chart(self, status: MeasureStatus) -> Chart | None:
        """The status's chart, drawn on first use; None when there is too little to draw."""
        key = (status.measure.id, status.history)
        if key not in self.charts:
            self.charts[key] = chart_for(status)
        return self.charts[key]


def chart_for(status: MeasureStatus) -> Chart | None:
    """A sparkline of the status's history, or None with fewer than two values."""
    values = [v for _, v in status.history if v is not None]
    if len(values) < 2:
        return None
    png = sparkline_png([v for _, v in status.history], status.spc)
    digest = hashlib.sha256(png).hexdigest()[:12]
    return Chart(cid=f"chart-{status.measure.id}-{digest}@digest", png=png, alt=trend_words(status))


def trend_words(status: MeasureStatus) -> str:
    """ "Trend over 24 months: rising from 61.2 to 68.4; latest point a special cause — concern"."""
    values = [v for _, v in status.history if v is not None]
    unit = FREQUENCY_PLURALS[status.measure.frequency]
    first, last = format_value(values[0], status.measure), format_value(values[-1], status.measure)
    if first == last:
        shape = f"level at {last}"
    else:
        shape = f"{'rising' if values[-1] > values[0] else 'falling'} from {first} to {last}"
    return (
        f"Trend over {len(status.history)} {unit}: {shape}; {LATEST_POINT_WORDS[status.variation]}"
    )


def sparkline_png(values: Sequence[float | None], spc: SpcResult) -> bytes:
    """Draw the line, faint SPC mean and limits, and mark the latest point."""
    from PIL import Image, ImageDraw  # here: only a digest with charts needs Pillow

    factor = SCALE * SUPERSAMPLE
    size = (WIDTH * factor, HEIGHT * factor)
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    low, high = _value_range(values, spc)
    project = _projector(len(values), low, high, factor)
    for level, colour in ((spc.lower, LIMITS), (spc.upper, LIMITS), (spc.mean, MEAN)):
        if level is not None:
            y = project(0, level)[1]
            _dashed(draw, y, size[0], colour, factor)
    points = [project(i, v) for i, v in enumerate(values) if v is not None]
    draw.line(points, fill=LINE, width=2 * factor, joint="curve")
    marker = MARKERS.get(spc.variation, LATEST)
    x, y = points[-1]
    radius = 3 * factor
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=marker)
    return _to_png(image)


def _value_range(values: Sequence[float | None], spc: SpcResult) -> tuple[float, float]:
    """The vertical extent: every value, and the SPC lines when they exist."""
    shown = [v for v in values if v is not None]
    shown += [v for v in (spc.lower, spc.upper, spc.mean) if v is not None]
    low, high = min(shown), max(shown)
    if high == low:  # a flat line sits in the middle
        return low - 1, high + 1
    return low, high


def _projector(
    count: int, low: float, high: float, factor: int
) -> Callable[[int, float], tuple[float, float]]:
    """Map (index, value) to pixel coordinates inside the padding."""
    pad = (PAD + 1) * factor
    width, height = WIDTH * factor - 2 * pad, HEIGHT * factor - 2 * pad
    step = width / max(count - 1, 1)

    def project(index: int, value: float) -> tuple[float, float]:
        return pad + index * step, pad + (high - value) / (high - low) * height

    return project


def _dashed(
    draw: ImageDraw.ImageDraw, y: float, width: int, colour: tuple[int, int, int], factor: int
) -> None:
    dash = 4 * factor
    for x in range(0, width, dash * 2):
        draw.line([(x, y), (x + dash, y)], fill=colour, width=factor)


def _to_png(image: Image.Image) -> bytes:
    """Reduce to display size at 2x and to a small palette: a few KB per chart."""
    from PIL import Image

    small = image.resize((WIDTH * SCALE, HEIGHT * SCALE), Image.Resampling.LANCZOS)
    paletted = small.quantize(colors=24, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    paletted.save(out, format="PNG", optimize=True)
    return out.getvalue()
