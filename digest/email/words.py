"""Numbers, dates and words as members read them: "84.2%", "31 October 2026", a status in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from digest.calendar import words as dates
from digest.insight.spc import MIN_POINTS
from digest.model import (
    MISSING_REASONS,
    Assurance,
    Direction,
    Frequency,
    Measure,
    MeasureStatus,
    MissingCode,
    Rag,
    SpcResult,
    Variation,
)
from digest.units import UNITS

# Dates have their words beside the calendar; the templates find them here too.
format_date = dates.format_date
format_long_date = dates.format_long_date
format_month = dates.format_month

MINUS = "\u2212"  # a true minus sign: screen readers say "minus", not "dash"

RAG_SYMBOLS: dict[Rag, str] = {
    "green": "\u2714",
    "amber": "\u25b2",
    "red": "\u2716",
    "none": "\u2013",
}
RAG_WORDS: dict[Rag, str] = {
    "green": "Green: on target",
    "amber": "Amber: near target",
    "red": "Red: off target",
    "none": "No RAG rating",
}
DIRECTION_WORDS: dict[Direction, str] = {
    "improving": "improving",
    "worsening": "worsening",
    "no-change": "no change",
    "up": "up",
    "down": "down",
    "none": "",
}
DIRECTION_ARROWS: dict[Direction, str] = {
    "improving": "",
    "worsening": "",
    "no-change": "\u2192",
    "up": "\u2191",
    "down": "\u2193",
    "none": "",
}
VARIATION_WORDS: dict[Variation, str] = {
    "improvement": "a real improvement (special cause)",
    "concern": "a real concern (special cause)",
    "neutral": "an unusual change (special cause)",
    "common-cause": "normal variation \u2014 no real change",
    "insufficient-data": "too few points to tell real change from noise",
}
ASSURANCE_WORDS: dict[Assurance, str] = {
    "pass": "will consistently meet the target",
    "fail": "will consistently miss the target unless something changes",
    "inconsistent": "may or may not meet the target: it is within normal variation",
    "none": "",
}
# What a chart's alt text says of its latest point.
LATEST_POINT_WORDS: dict[Variation, str] = {
    "improvement": "latest point a special cause \u2014 improvement",
    "concern": "latest point a special cause \u2014 concern",
    "neutral": "latest point a special cause",
    "common-cause": "latest point within normal variation",
    "insufficient-data": "too few points for statistical process control",
}
FREQUENCY_PLURALS: dict[Frequency, str] = {
    "daily": "days",
    "weekly": "weeks",
    "monthly": "months",
    "quarterly": "quarters",
    "annual": "years",
}


def decimals_of(measure: Measure) -> int:
    """Display precision: the catalogue's, else the unit's default."""
    return measure.decimals if measure.decimals is not None else UNITS[measure.unit].decimals


def format_number(value: float, decimals: int) -> str:
    """1234.5 -> "1,234.5", with a true minus sign."""
    text = f"{abs(value):,.{decimals}f}"
    return f"{MINUS}{text}" if value < 0 and text.strip("0.,") else text


def format_value(value: float, measure: Measure) -> str:
    """A value in the measure's unit: "84.2%", "67.0 per 10,000", "312 days", "1,234"."""
    number = format_number(value, decimals_of(measure))
    unit = UNITS[measure.unit]
    if number == "1" and unit.singular_suffix is not None:
        return number + unit.singular_suffix
    return number + unit.suffix


def format_missing(code: MissingCode | None) -> str:
    """Why a value is absent: "suppressed (c)", or "no data" when the data does not say."""
    if code is None:
        return "no data"
    return f"{MISSING_REASONS[code]} ({code})"


def format_status_value(status: MeasureStatus) -> str:
    """The latest value, or the reason it is missing."""
    if status.value is None:
        return format_missing(status.missing)
    return format_value(status.value, status.measure)


def shows_as_zero(value: float, measure: Measure) -> bool:
    """True when the value rounds to zero at the measure's precision."""
    return not format_number(value, decimals_of(measure)).strip(f"0.,{MINUS}")


def format_change(change: float, measure: Measure) -> str:
    """A signed change: "+1.3 pts" for percentages, "+12" or "-2.0 per 10,000" otherwise."""
    number = format_number(change, decimals_of(measure))
    sign = "+" if change > 0 and number.strip("0.,") else ""
    return f"{sign}{number}{UNITS[measure.unit].change_suffix}"


def format_period(period_end: date, frequency: Frequency) -> str:
    """The period a value describes, named the way its frequency suggests."""
    if frequency == "monthly":
        return format_month(period_end)
    if frequency == "quarterly":
        return f"quarter to {format_month(period_end)}"
    if frequency == "annual":
        return f"year to {format_date(period_end)}"
    if frequency == "weekly":
        return f"week to {format_date(period_end)}"
    return format_date(period_end)


def format_target(measure: Measure) -> str | None:
    """The target in words: "80.0% or more", "between 10 and 20 days", or None."""
    if measure.target is None or measure.polarity == "info":
        return None
    target = format_value(measure.target, measure)
    if measure.polarity == "range" and measure.target_max is not None:
        return f"between {target} and {format_value(measure.target_max, measure)}"
    return f"{target} or {'more' if measure.polarity == 'higher' else 'less'}"


def rag_label(rag: Rag, *, info: bool = False) -> str:
    """RAG never by colour alone: a symbol and words."""
    words = "For information: no target" if info and rag == "none" else RAG_WORDS[rag]
    return f"{RAG_SYMBOLS[rag]} {words}"


def direction_label(direction: Direction) -> str:
    """ "improving", "up \u2191"."""
    arrow = DIRECTION_ARROWS[direction]
    words = DIRECTION_WORDS[direction]
    return f"{words} {arrow}" if arrow else words


def count_phrase(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 measure", "3 measures", "no measures"."""
    word = singular if count == 1 else (plural or f"{singular}s")
    return f"{count if count else 'no'} {word}"


def scorecard_title(scorecard: str) -> str:
    """ "social-care" -> "Social Care"."""
    return " ".join(part.capitalize() for part in scorecard.split("-"))


def theme_title(theme: str) -> str:
    """ "children-in-care" -> "Children in care"."""
    return theme.replace("-", " ").capitalize()


@dataclass(frozen=True)
class Detail:
    """One labelled line of a measure's details."""

    label: str
    value: str


@dataclass(frozen=True)
class MeasureView:
    """One measure as a digest shows it, every figure already in words."""

    status: MeasureStatus
    id: str
    title: str
    description: str
    value: str
    period: str
    rag: Rag
    rag_label: str
    attention: bool
    stale_note: str
    details: tuple[Detail, ...]
    request_url: str = ""


def measure_view(
    status: MeasureStatus, *, brief: bool = False, request_url: str = ""
) -> MeasureView:
    """A status in words; `brief` keeps only what a morning glance needs."""
    m = status.measure
    period = format_period(status.period_end, m.frequency) if status.period_end else ""
    stale = f"Not current: the latest figure is for {period}." if status.stale and period else ""
    if status.stale and not period:
        stale = "Not current: no figure has arrived."
    return MeasureView(
        status=status,
        id=m.id,
        title=m.title,
        description=m.description,
        value=format_status_value(status),
        period=period,
        rag=status.rag,
        rag_label=rag_label(status.rag, info=m.polarity == "info"),
        attention=needs_attention(status),
        stale_note=stale,
        details=_details(status, brief=brief),
        request_url=request_url,
    )


def needs_attention(status: MeasureStatus) -> bool:
    """Red, or a real (special cause) concern."""
    return status.rag == "red" or status.variation == "concern"


def _details(status: MeasureStatus, *, brief: bool) -> tuple[Detail, ...]:
    m = status.measure
    candidates: list[tuple[str, str | None]] = [
        ("Target", format_target(m)),
        ("Change", _change_words(status)),
        ("Same period last year", _value_or_none(status.last_year, m)),
        ("England", _value_or_none(m.england, m)),
        ("Statistical neighbours", _value_or_none(m.statistical_neighbours, m)),
        ("Variation (SPC)", VARIATION_WORDS[status.variation]),
        ("Assurance", ASSURANCE_WORDS[status.assurance]),
        ("Note", status.note),
    ]
    keep = {"Target", "Change", "Variation (SPC)", "Note"} if brief else None
    return tuple(
        Detail(label, text)
        for label, text in candidates
        if text and (keep is None or label in keep)
    )


def _change_words(status: MeasureStatus) -> str | None:
    """ "+1.3 pts since September 2026, improving"."""
    if status.change is None:
        return None
    m = status.measure
    since = ""
    if status.previous_period_end is not None:
        since = f" since {format_period(status.previous_period_end, m.frequency)}"
    if shows_as_zero(status.change, m):
        return f"no change{since}"
    words = format_change(status.change, m)
    direction = direction_label(status.direction)
    return f"{words}{since}, {direction}" if direction else f"{words}{since}"


def _value_or_none(value: float | None, measure: Measure) -> str | None:
    return None if value is None else format_value(value, measure)


def describe_variation(result: SpcResult) -> str:
    """The latest point's variation in words, with the point count when there are too few."""
    words = VARIATION_WORDS[result.variation]
    if result.variation == "insufficient-data" and result.points >= MIN_POINTS:
        return f"{words} ({result.points} points, but no variation between them)"
    if result.variation == "insufficient-data":
        return f"{words} ({result.points} points; {MIN_POINTS} needed)"
    return words


def describe_assurance(result: SpcResult) -> str:
    """The assurance against the target in words; "" when there is none."""
    return ASSURANCE_WORDS[result.assurance]
