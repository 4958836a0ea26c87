"""Indicator statuses as JSON rows, a terminal table, and one measure explained."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from digest.email.words import (
    describe_assurance,
    describe_variation,
    format_change,
    format_status_value,
    format_target,
    format_value,
)
from digest.model import MeasureStatus


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def indicator_row(status: MeasureStatus) -> dict[str, Any]:
    """One measure's status as the JSON object of `digest indicators --json`."""
    m, spc = status.measure, status.spc
    return {
        "id": m.id,
        "title": m.title,
        "scorecard": m.scorecard,
        "unit": m.unit,
        "polarity": m.polarity,
        "frequency": m.frequency,
        "period_end": _iso(status.period_end),
        "value": status.value,
        "missing": status.missing,
        "note": status.note or None,
        "previous": status.previous,
        "previous_period_end": _iso(status.previous_period_end),
        "change": status.change,
        "last_year": status.last_year,
        "rag": status.rag,
        "direction": status.direction,
        "variation": spc.variation,
        "assurance": spc.assurance,
        "stale": status.stale,
        "revised": status.revised,
        "target": m.target,
        "target_max": m.target_max,
        "tolerance": m.tolerance,
        "england": m.england,
        "statistical_neighbours": m.statistical_neighbours,
        "spc": {"mean": spc.mean, "lower": spc.lower, "upper": spc.upper, "points": spc.points},
        "as_of": status.as_of.isoformat(),
    }


def indicator_rows(statuses: Sequence[MeasureStatus]) -> list[dict[str, Any]]:
    return [indicator_row(s) for s in statuses]


_HEADERS = (
    "measure",
    "period",
    "value",
    "change",
    "target",
    "rag",
    "direction",
    "variation",
    "assurance",
)


def _table_cells(status: MeasureStatus) -> tuple[str, ...]:
    m = status.measure
    change = format_change(status.change, m) if status.change is not None else ""
    period = status.period_end.isoformat() if status.period_end else "-"
    if status.stale:
        period += " STALE"
    return (
        m.id,
        period,
        format_status_value(status),
        change,
        format_target(m) or "",
        status.rag,
        status.direction,
        status.variation,
        status.assurance,
    )


def indicators_table(statuses: Sequence[MeasureStatus], on: date) -> str:
    """A fixed-width table, one line per measure, grouped by scorecard."""
    rows = [_table_cells(s) for s in statuses]
    widths = (
        [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS)] if rows else []
    )
    lines = [f"Indicators as of {on.isoformat()}", ""]
    lines.append("  ".join(h.upper().ljust(w) for h, w in zip(_HEADERS, widths, strict=True)))
    scorecard = None
    for status, row in zip(statuses, rows, strict=True):
        if status.measure.scorecard != scorecard:
            scorecard = status.measure.scorecard
            lines.append(f"-- {scorecard}")
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    stale = sum(s.stale for s in statuses)
    lines.append("")
    lines.append(
        f"{len(statuses)} measures; {stale} stale. 'digest indicators --measure ID' explains one."
    )
    return "\n".join(lines)


def measure_explanation(status: MeasureStatus) -> str:
    """Why a measure has its RAG, direction, variation and assurance, in plain lines."""
    m, spc = status.measure, status.spc

    def fmt(value: float | None) -> str:
        return format_value(value, m) if value is not None else "-"

    lines = [
        f"{m.title} ({m.id}), {m.scorecard} scorecard, {m.frequency}, {m.polarity} is better",
        f"  latest:      {format_status_value(status)} for period ending {_iso(status.period_end) or '-'}"
        + ("  [STALE: older than a " + m.frequency + " measure allows]" if status.stale else ""),
        f"  previous:    {fmt(status.previous)} ({_iso(status.previous_period_end) or '-'})",
        f"  last year:   {fmt(status.last_year)}",
        f"  target:      {format_target(m) or 'none'}"
        + (
            f"; amber within {format_change(m.tolerance, m).lstrip('+')} of it"
            if m.tolerance is not None
            else "; no amber band"
        ),
        f"  rag:         {status.rag}",
        f"  direction:   {status.direction}",
        f"  spc:         {spc.points} points; mean {fmt(spc.mean)}; limits {fmt(spc.lower)} to {fmt(spc.upper)}",
        f"  variation:   {spc.variation}: {describe_variation(spc)}",
        f"  assurance:   {spc.assurance}"
        + (f": {describe_assurance(spc)}" if describe_assurance(spc) else ""),
        f"  comparators: England {fmt(m.england)}; statistical neighbours {fmt(m.statistical_neighbours)}",
    ]
    flagged = [
        f"{d.isoformat()} {fmt(v)}"
        for (d, v), f in zip(status.spc_points, spc.special_cause, strict=True)
        if f
    ]
    if flagged:
        lines.append(f"  special-cause points: {', '.join(flagged)}")
    return "\n".join(lines)
