"""The morning email: each key indicator briefly, and a banner when any is not current."""

from __future__ import annotations

from collections.abc import Sequence

from digest.email import words as fmt
from digest.email.content import (
    SPC_GUIDE_URL,
    Content,
    Section,
    Variant,
    figures_json,
    stale_banner,
)
from digest.email.kinds.base import Kind, Request, single
from digest.email.words import measure_view
from digest.model import MeasureStatus, Occurrence, Site


def compose(request: Request) -> tuple[Variant, ...]:
    return single(request, key_indicators(request.site, request.occurrence, request.statuses))


def key_indicators(
    site: Site, occurrence: Occurrence, statuses: Sequence[MeasureStatus]
) -> Content:
    """The morning email: each key indicator briefly, and a banner when any is not current."""
    day = fmt.format_long_date(occurrence.on)
    banner = stale_banner(statuses)
    return Content(
        kind="key-indicators",
        site_name=site.settings.name,
        subject=f"Key indicators, {day}" + (": some figures not updated" if banner else ""),
        heading="Key indicators",
        preheader=banner or f"Today's key indicators, {day}.",
        intro=(f"Here are the key indicators for {day}.",),
        banner=banner,
        sections=(Section("", tuple(measure_view(s, brief=True) for s in statuses)),),
        guide_url=SPC_GUIDE_URL,
        figures=figures_json(statuses),
    )


KIND = Kind("key-indicators", "any", "selection", needs_deadline=False, compose=compose,
            stale_alert=True)  # fmt: skip
