"""Making Data Count XmR charts as small PNGs, with their alt text in words.

Each chart shows a measure's history as a line with point markers, the mean (solid grey),
the process limits (dashed grey), the target (dashed red) and special-cause points coloured
as NHS England's Making Data Count does: orange for concern, blue for improvement, purple
for a special cause that is neither. matplotlib is imported only when a chart is drawn, and
only through its object-oriented API (no pyplot, no global state), so drawing is thread-safe.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from digest.email.words import (
    FREQUENCY_PLURALS,
    LATEST_POINT_WORDS,
    format_date,
    format_month,
    format_period,
    format_target,
    format_value,
)
from digest.model import Frequency, Measure, MeasureStatus

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray
    from PIL import Image

WIDTH, HEIGHT = 300, 100  # as shown in the email, in CSS pixels
SCALE = 2  # the PNG is drawn at twice the size for sharp phone screens
# At 72 dots per inch a point is a CSS pixel: sizes below are in CSS pixels.
DPI = 72 * SCALE
FONT_SIZE = 11
# The PNG's palette: each colour drawn, and its blends with the white background at these
# strengths for the antialiased edges, so that no marker's colour is ever merged away.
BLENDS = (1.0, 0.7, 0.45, 0.2)

LINE = "#425563"
COMMON = "#7F7F7F"
MEAN = "#7F7F7F"
LIMITS = "#A6A6A6"
TARGET = "#DA291C"
TEXT = "#425563"
AXIS = "#D0D5D9"
GRID = "#EEF0F2"
SPECIAL = {"concern": "#ED8B00", "improvement": "#005EB8", "neutral": "#7B2D8E"}

Cause = Literal["concern", "improvement", "neutral", "common"]


@dataclass(frozen=True)
class Chart:
    """One measure's chart, ready to attach as a CID part."""

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
    # False for a trial render (`check`, and `run` taking up an edit): templates are
    # tried with an empty image in each chart's place, and matplotlib is never loaded.
    draw: bool = True

    def chart(self, status: MeasureStatus) -> Chart | None:
        """The status's chart, drawn on first use; None when there is too little to draw."""
        key = (status.measure.id, status.history)
        if key not in self.charts:
            if self.draw:
                self.charts[key] = chart_for(status)
            elif len(_known(status)) >= 2:
                self.charts[key] = Chart(f"chart-{status.measure.id}-trial@digest", b"",
                                         trend_words(status))  # fmt: skip
            else:
                self.charts[key] = None
        return self.charts[key]


def chart_for(status: MeasureStatus) -> Chart | None:
    """An XmR chart of the status's history, or None with fewer than two values."""
    if len(_known(status)) < 2:
        return None
    png = xmr_png(status)
    digest = hashlib.sha256(png).hexdigest()[:12]
    return Chart(cid=f"chart-{status.measure.id}-{digest}@digest", png=png, alt=trend_words(status))


def trend_words(status: MeasureStatus) -> str:
    """ "Chart of the last 24 months, November 2024 to October 2026: latest 61.9%, mean 65.0%,
    process limits 58.1% to 71.9%, target 80.0% or more; latest point a special cause —
    concern." Parts that do not exist (no limits, no target) are left out."""
    measure, spc = status.measure, status.spc
    count = len(status.history)
    unit = FREQUENCY_PLURALS[measure.frequency]
    if count == 1:
        unit = unit.removesuffix("s")
    first, last = status.history[0][0], status.history[-1][0]
    span = f"{_long_period(first, measure.frequency)} to {_long_period(last, measure.frequency)}"
    parts = []
    known = _known(status)
    if known:
        latest_end, latest = known[-1]
        words = f"latest {format_value(latest, measure)}"
        if latest_end != last:  # the latest period has no value: say which one is shown
            words += f" ({format_period(latest_end, measure.frequency)})"
        parts.append(words)
    if spc.mean is not None:
        parts.append(f"mean {format_value(spc.mean, measure)}")
    if spc.lower is not None and spc.upper is not None:
        low, high = format_value(spc.lower, measure), format_value(spc.upper, measure)
        parts.append(f"process limits {low} to {high}")
    target = format_target(measure)
    if target is not None:
        parts.append(f"target {target}")
    return (
        f"Chart of the last {count} {unit}, {span}: {', '.join(parts)}; "
        f"{LATEST_POINT_WORDS[status.variation]}."
    )


def xmr_png(status: MeasureStatus) -> bytes:
    """Draw the XmR chart at SCALE times its display size and return it as a paletted PNG."""
    # Here, not at the top: only a digest with charts needs matplotlib.
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    figure = Figure(figsize=(WIDTH / 72, HEIGHT / 72), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))  # placed properly by _layout, once labels are known
    _draw(axes, status)
    _layout(figure, axes)
    raw = io.BytesIO()
    figure.savefig(raw, format="rgba", dpi=DPI, facecolor="white")
    size = (WIDTH * SCALE, HEIGHT * SCALE)
    image = Image.frombuffer("RGBA", size, raw.getvalue(), "raw", "RGBA", 0, 1)
    paletted = _to_palette(np.asarray(image.convert("RGB")))
    out = io.BytesIO()
    paletted.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _draw(axes: Axes, status: MeasureStatus) -> None:
    """The line, the SPC lines, the target, the markers and the two axes' labels."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    measure, spc = status.measure, status.spc
    dates = [d for d, _ in status.history]
    values = [math.nan if v is None else v for _, v in status.history]
    axes.plot([_x(d) for d in dates], values, color=LINE, linewidth=1.5, zorder=3, solid_capstyle="round")

    # The mean and limits span the points they were computed over.
    spc_dates = [d for d, _ in status.spc_points] or [d for d, _ in _known(status)]
    start, end = spc_dates[0], spc_dates[-1]
    if spc.mean is not None:
        axes.plot([_x(start), _x(end)], [spc.mean] * 2, color=MEAN, linewidth=1.2, zorder=2)
    for limit in (spc.lower, spc.upper):
        if limit is not None:
            axes.plot(
                [_x(start), _x(end)], [limit] * 2, color=LIMITS, linewidth=1.2, dashes=(4, 3), zorder=2
            )
    for target in _targets(measure):
        axes.axhline(target, color=TARGET, linewidth=1.2, dashes=(5, 3), zorder=2)

    for cause, points in _causes(status).items():
        if points:
            special = cause != "common"
            axes.plot(
                [_x(d) for d, _ in points],
                [v for _, v in points],
                linestyle="none",
                marker="o",
                markersize=5.5 if special else 3.5,
                markeredgewidth=0,
                color=SPECIAL[cause] if special else COMMON,
                zorder=5 if special else 4,
                clip_on=False,
            )

    shown = [v for v in values if not math.isnan(v)] + [
        v for v in (spc.mean, spc.lower, spc.upper, *_targets(measure)) if v is not None
    ]
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.08 or max(abs(high) * 0.05, 1.0)
    axes.set_ylim(low - pad, high + pad)
    axes.margins(x=0.025)

    integer = (measure.decimals or 0) == 0 and measure.unit in ("count", "days", "number")
    axes.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=integer, min_n_ticks=2))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, measure)))
    ends = (dates[0], dates[-1])
    axes.set_xticks([_x(d) for d in ends], labels=[_short_period(d, measure.frequency) for d in ends])
    first, last = axes.get_xticklabels()
    first.set_horizontalalignment("left")
    last.set_horizontalalignment("right")

    axes.set_facecolor("white")
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(AXIS)
    axes.grid(axis="y", color=GRID, linewidth=1, zorder=0)
    axes.tick_params(axis="both", labelsize=FONT_SIZE, colors=TEXT, length=0, pad=3)
    axes.tick_params(axis="x", length=3, color=AXIS)


def _to_palette(rgb: NDArray[np.uint8]) -> Image.Image:
    """Each pixel as its nearest palette colour (no dithering): a few KB per chart."""
    import numpy as np
    from PIL import Image

    palette = np.array(_palette(), dtype=np.int32)
    # The few hundred distinct colours are matched, not each of the many pixels.
    flat = rgb.reshape(-1, 3).astype(np.int32)
    packed, where = np.unique(flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2], return_inverse=True)
    colours = np.stack([packed >> 16, packed >> 8 & 255, packed & 255], axis=1)
    distance = ((colours[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
    nearest = distance.argmin(axis=1).astype(np.uint8)[where.reshape(-1)].reshape(rgb.shape[:2])
    image = Image.fromarray(nearest, mode="P")
    image.putpalette([c for colour in _palette() for c in colour])
    return image


def _palette() -> list[tuple[int, int, int]]:
    """White, then every colour drawn at each strength of BLENDS over white."""
    drawn = [LINE, COMMON, MEAN, LIMITS, TARGET, TEXT, AXIS, GRID, *SPECIAL.values()]
    found = [(255, 255, 255)]
    for colour in dict.fromkeys(drawn):
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        for strength in BLENDS:
            blend = (_mix(red, strength), _mix(green, strength), _mix(blue, strength))
            if blend not in found:
                found.append(blend)
    return found


def _mix(channel: int, strength: float) -> int:
    return round(255 - (255 - channel) * strength)


def _layout(figure: Figure, axes: Axes) -> None:
    """Fit the axes inside the figure, leaving just enough room for the tick labels."""
    figure.draw_without_rendering()  # the tick labels have their texts once drawn
    labels = [t for t in axes.get_yticklabels() if t.get_text()]
    label_width = max((t.get_window_extent().width for t in labels), default=0.0)
    width, height = WIDTH * SCALE, HEIGHT * SCALE
    left = (label_width + 6 * SCALE) / width
    right = 1 - 2 * SCALE / width
    bottom = (FONT_SIZE + 8) * SCALE / height
    top = 1 - 7 * SCALE / height
    axes.set_position((left, bottom, right - left, top - bottom))


def _x(day: date) -> float:
    """The x position of a period: its day number (the axis is labelled by hand)."""
    return float(day.toordinal())


def _targets(measure: Measure) -> list[float]:
    """The target lines: both ends of a range, none for a measure shown for information."""
    if measure.target is None or measure.polarity == "info":
        return []
    if measure.polarity == "range" and measure.target_max is not None:
        return [measure.target, measure.target_max]
    return [measure.target]


def _known(status: MeasureStatus) -> list[tuple[date, float]]:
    return [(d, v) for d, v in status.history if v is not None]


def _causes(status: MeasureStatus) -> dict[Cause, list[tuple[date, float]]]:
    """The plotted points by their marker: each special cause as concern, improvement or
    neutral (by polarity and side of the mean), every other point common cause."""
    spc = status.spc
    points = list(status.spc_points) or _known(status)
    flags = list(spc.special_cause)
    # The flags belong to the latest points: line them up from the end.
    points = points[-len(flags) :] if flags else []
    special = {d for (d, _), flag in zip(points, flags, strict=False) if flag}
    found: dict[Cause, list[tuple[date, float]]] = {
        "common": [],
        "improvement": [],
        "concern": [],
        "neutral": [],
    }
    for day, value in _known(status):
        cause: Cause = "common"
        if day in special:
            cause = _side(value, spc.mean, status.measure.polarity)
        found[cause].append((day, value))
    return found


def _side(value: float, mean: float | None, polarity: str) -> Cause:
    if mean is None or value == mean or polarity not in ("higher", "lower"):
        return "neutral"
    return "improvement" if (value > mean) == (polarity == "higher") else "concern"


def _short_period(day: date, frequency: Frequency) -> str:
    """An x-axis label: "Nov 2024", or "3 Nov" for daily and weekly figures."""
    if frequency in ("daily", "weekly"):
        return f"{day.day} {day:%b}"
    return f"{day:%b %Y}"


def _long_period(day: date, frequency: Frequency) -> str:
    if frequency in ("monthly", "quarterly"):
        return format_month(day)
    return format_date(day)
