"""What changed since a member's last digest of a schedule: the store knows what each message showed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from digest.email import words as fmt
from digest.email.content import Variant
from digest.model import LastSent, MeasureStatus

SIGNALS = ("improvement", "concern")


def split_by_last_sent(
    variants: Sequence[Variant], last_sent: Mapping[str, LastSent]
) -> tuple[Variant, ...]:
    """Each variant split by what its recipients were last sent, with the changes since.

    Members who were sent the same figures (almost always all of them) still share one
    variant; a member new to the schedule gets the variant without a "since" section.
    """
    out: list[Variant] = []
    for variant in variants:
        statuses = tuple(view.status for view in variant.content.views())
        if not statuses:
            out.append(variant)
            continue
        groups: dict[str, list[Any]] = {}
        for recipient in variant.recipients:
            last = last_sent.get(recipient.id)
            key = "" if last is None else f"{last.on.isoformat()}:{_digest(last.figures)}"
            groups.setdefault(key, [last, []])[1].append(recipient)
        for key, (last, members) in groups.items():
            content = variant.content
            if last is not None:
                content = replace(
                    content,
                    since=_since_words(last),
                    changes=changes_since(statuses, last.figures),
                )
            suffix = f"|since:{key}" if key else ""
            out.append(Variant(variant.key + suffix, content, tuple(members)))
    return tuple(out)


def changes_since(statuses: Sequence[MeasureStatus], figures: str) -> tuple[str, ...]:
    """Newly red or green, a new or ended signal, a revised figure: one line each."""
    try:
        rows = json.loads(figures)
    except ValueError:
        return ()
    if not isinstance(rows, list):
        return ()
    before = {r.get("measure"): r for r in rows if isinstance(r, dict)}
    lines: list[str] = []
    for status in statuses:
        row = before.get(status.measure.id)
        if row is None:
            continue
        lines.extend(_changes(status, row))
    return tuple(lines)


def _changes(status: MeasureStatus, row: Mapping[str, Any]) -> list[str]:
    """One line for the measure naming everything that changed, or none."""
    m = status.measure
    found: list[str] = []
    old_value = row.get("value")
    period_end = status.period_end
    same_period = period_end is not None and row.get("period_end") == period_end.isoformat()
    if same_period and isinstance(old_value, int | float) and status.value is not None:
        assert period_end is not None
        old, new = fmt.format_value(float(old_value), m), fmt.format_value(status.value, m)
        if old != new:
            period = fmt.format_period(period_end, m.frequency)
            found.append(f"{period} revised from {old} to {new}")
    was = row.get("rag")
    if status.rag == "red" and was != "red":
        found.append("newly red")
    elif status.rag == "green" and was in ("red", "amber"):
        found.append("newly green")
    old_signal = row.get("variation")
    if status.variation in SIGNALS and old_signal != status.variation:
        found.append(f"a new signal: {fmt.VARIATION_WORDS[status.variation]}")
    elif old_signal in SIGNALS and status.variation == "common-cause":
        found.append("its signal has ended: back to normal variation")
    return [f"{m.title}: {', and '.join(found)}."] if found else []


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _since_words(last: LastSent) -> str:
    """ "the September 2026 tracker" for a publication's digest, else its date."""
    scorecard, _, period = last.occurrence_key.rpartition(":")
    try:
        day = date.fromisoformat(period)
    except ValueError:
        return fmt.format_date(last.on)
    return f"for {fmt.format_month(day)}" if scorecard else f"of {fmt.format_date(day)}"
