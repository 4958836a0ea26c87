"""Numbers, dates and words as members read them: "84.2%", "31 October 2026", a status in words."""

from __future__ import annotations

from collections.abc import Sequence
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
RAG_SHORT: dict[Rag, str] = {
    "green": "Green",
    "amber": "Amber",
    "red": "Red",
    "none": "No RAG",
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


def rag_short(rag: Rag, *, info: bool = False) -> str:
    """ "\u2716 Red": the symbol and one word, for a measure's one-line summary."""
    words = "No target" if info and rag == "none" else RAG_SHORT[rag]
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


def schedule_title(schedule_id: str) -> str:
    """ "daily-key-indicators" -> "Daily key indicators": how an alert names a schedule."""
    return schedule_id.replace("-", " ").capitalize()


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
    rag_short: str = ""
    reading: str = ""  # direction and variation in one sentence that never contradicts itself
    facts: str = ""  # target and comparators on one line: "Target 80.0% or more · England 82.0%"
    comparators: tuple[Detail, ...] = ()  # the same, one row each (the text part)


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
        rag_short=rag_short(status.rag, info=m.polarity == "info"),
        reading=reading(status),
        facts=" \u00b7 ".join(f"{d.label} {d.value}" for d in _comparators(status)),
        comparators=_comparators(status),
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


def _comparators(status: MeasureStatus) -> tuple[Detail, ...]:
    m = status.measure
    # The target names the unit; the comparators after it are in the same one, so a
    # long unit ("per 10,000", "days") is not said four times over.
    short = len(UNITS[m.unit].suffix) <= 1

    def compared(value: float | None) -> str | None:
        if value is None:
            return None
        return format_value(value, m) if short else format_number(value, decimals_of(m))

    candidates = [
        ("Target", format_target(m)),
        ("A year ago", compared(status.last_year)),
        ("England", compared(m.england)),
        ("Statistical neighbours", compared(m.statistical_neighbours)),
    ]
    return tuple(Detail(label, text) for label, text in candidates if text)


# What a special cause says of the recent figures, by polarity: "unusually high".
_UNUSUAL: dict[tuple[str, Variation], str] = {
    ("higher", "improvement"): "high",
    ("higher", "concern"): "low",
    ("lower", "improvement"): "low",
    ("lower", "concern"): "high",
}


def reading(status: MeasureStatus) -> str:
    """This period against the last, and whether the pattern is unusual, in one sentence.

    The two answer different questions (did it move? is the level real change?), so they
    are joined with "but" when they point different ways: "Better than September 2026
    (\u22121.0 per 10,000), but still a real concern: unusually high (special cause)."
    """
    m = status.measure
    if status.value is None:
        return "No figure for this period yet." if status.missing is None else (
            f"No figure for this period: {MISSING_REASONS[status.missing]}.")
    variation = status.variation
    unusual = _UNUSUAL.get((m.polarity, variation))
    signal = {
        "improvement": "a real improvement",
        "concern": "a real concern",
        "neutral": "an unusual change",
    }.get(variation)
    if signal is not None:
        why = f"unusually {unusual}" if unusual else "an unusual pattern"
        signal_words = f"{signal}: {why} (special cause)" if unusual else f"{signal} (special cause)"
    elif variation == "common-cause":
        signal_words = "normal variation"
    else:
        signal_words = "too few points yet to tell real change from noise"
    if status.change is None or status.previous_period_end is None:
        return signal_words[0].upper() + signal_words[1:] + "."
    since = _previous_words(status)
    if shows_as_zero(status.change, m):
        if variation == "common-cause":
            return f"No change since {since}: normal variation."
        return f"No change since {since}; {signal_words}."
    moved = {"improving": "Better", "worsening": "Worse", "up": "Up on", "down": "Down on"}.get(
        status.direction, "Changed from"
    )
    then = "than " if moved in ("Better", "Worse") else ""
    head = f"{moved} {then}{since} ({format_change(status.change, m)})"
    if variation == "common-cause":
        return f"{head}: {signal_words}."
    agrees = (status.direction, variation) in (("improving", "improvement"), ("worsening", "concern"))
    if variation in ("improvement", "concern") and not agrees and status.direction in (
        "improving", "worsening",
    ):
        return f"{head}, but still {signal_words}."
    joiner = ", and" if agrees else ";"
    return f"{head}{joiner} {signal_words}."


LAST_PERIOD = {"monthly": "last month", "quarterly": "last quarter", "weekly": "last week",
               "annual": "last year"}  # fmt: skip


def _previous_words(status: MeasureStatus) -> str:
    """ "last month" when the previous value is the period before, else the period's name."""
    m = status.measure
    previous, latest = status.previous_period_end, status.period_end
    assert previous is not None
    if latest is not None and m.frequency in LAST_PERIOD:  # daily is not in LAST_PERIOD
        step = {"monthly": 1, "quarterly": 3, "annual": 12}.get(m.frequency)
        months = (latest.year - previous.year) * 12 + latest.month - previous.month
        if step is not None and months == step:
            return LAST_PERIOD[m.frequency]
        if m.frequency == "weekly" and (latest - previous).days == 7:
            return LAST_PERIOD["weekly"]
    if latest is not None and m.frequency == "daily" and (latest - previous).days == 1:
        return "the day before"
    return format_period(previous, m.frequency)


def assurance_summary(statuses: Sequence[MeasureStatus]) -> str:
    """The assurance of every measure with a target, said once for the whole email."""
    judged = [s for s in statuses if s.assurance != "none"]
    if not judged:
        return ""
    passing = [s.measure.title for s in judged if s.assurance == "pass"]
    failing = [s.measure.title for s in judged if s.assurance == "fail"]
    rest = len(judged) - len(passing) - len(failing)
    parts = []
    if failing:
        parts.append(f"{_names(failing)} will consistently miss {_its(failing)} target unless something changes")
    if passing:
        parts.append(f"{_names(passing)} will consistently meet {_its(passing)} target")
    if rest:
        who = f"the other {count_phrase(rest, 'measure')} with a target" if parts else (
            "every measure with a target")
        parts.append(f"{who} may or may not meet it: the target lies within the normal range")
    text = "; ".join(parts)
    return f"Assurance, on the recent record: {text}."


def _names(titles: Sequence[str]) -> str:
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def _its(titles: Sequence[str]) -> str:
    return "its" if len(titles) == 1 else "their"


# The short glossary at the foot of every email with figures.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("RAG", "red, amber or green against the target: \u2714 green on target, \u25b2 amber "
            "near it, \u2716 red off it."),
    ("Needs attention", "red against its target, or a real concern (special cause)."),
    ("Normal variation", "the usual ups and downs of a measure: not a real change."),
    ("Special cause", "a change too large or too lasting to be normal variation, by NHS "
                      "England's Making Data Count rules."),
    ("Assurance", "whether, on its recent range, a measure will reliably meet its target."),
    ("Statistical neighbours", "the councils most like ours."),
    ("Percentage points (pts)", "the difference between two percentages: 80% to 82% is +2 pts."),
)  # fmt: skip


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
