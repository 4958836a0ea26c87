"""The monthly tracker: every member's measures of interest, their themes first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from digest.email import words as fmt
from digest.email.content import (
    SPC_GUIDE_URL,
    Content,
    Link,
    Section,
    Variant,
    figures_json,
    publication_label,
    same_period,
    stale_banner,
)
from digest.email.kinds.base import Kind, Request, with_answers
from digest.email.words import MeasureView, measure_view, needs_attention
from digest.model import MeasureStatus, Occurrence, Publication, Recipient, Site


def compose(request: Request) -> tuple[Variant, ...]:
    variants = compose_tracker(
        request.site, request.occurrence, request.statuses, request.recipients
    )
    return tuple(replace(v, content=with_answers(request, v.content)) for v in variants)


def compose_tracker(
    site: Site,
    occurrence: Occurrence,
    statuses: Sequence[MeasureStatus],
    recipients: Sequence[Recipient],
) -> tuple[Variant, ...]:
    """The monthly tracker; members whose themes pick the same measures share a variant."""
    publication = occurrence.publication
    if publication is not None and not occurrence.schedule.measures:
        published = {p.scorecard for p in same_period(site, publication)}
        statuses = [s for s in statuses if s.measure.scorecard in published]
    views = [measure_view(s) for s in statuses]
    groups: dict[tuple[str, ...], list[Recipient]] = {}
    for recipient in recipients:
        themes = tuple(
            t for t in recipient.themes if any(t in v.status.measure.themes for v in views)
        )
        groups.setdefault(themes, []).append(recipient)
    base = _tracker_content(site, occurrence, statuses)
    return tuple(
        Variant(
            key="tracker:" + ";".join(themes),
            content=replace(base, sections=_tracker_sections(views, themes, publication)),
            recipients=tuple(members),
        )
        for themes, members in groups.items()
    )


def _tracker_content(
    site: Site, occurrence: Occurrence, statuses: Sequence[MeasureStatus]
) -> Content:
    publication = occurrence.publication
    month = fmt.format_month(publication.period_end if publication else occurrence.on)
    attention = sum(needs_attention(s) for s in statuses)
    summary = (
        f"{attention} of {len(statuses)} measures {'needs' if attention == 1 else 'need'} attention"
        if attention
        else f"None of {len(statuses)} measures needs attention"
    )
    links = tuple(Link(publication_label(p), p.url) for p in same_period(site, publication))
    return Content(
        kind="tracker",
        site_name=site.settings.name,
        subject=f"Performance tracker, {month}: {summary}",
        heading=f"Performance tracker: {month}",
        preheader=summary,
        intro=(
            f"The scorecards for {month} have been published. Here are the measures of "
            "interest, and which changes are real rather than normal variation.",
        ),
        banner=stale_banner(statuses),
        summary=summary,
        links=links,
        guide_url=SPC_GUIDE_URL,
        figures=figures_json(statuses),
    )


def _tracker_sections(
    views: Sequence[MeasureView], themes: tuple[str, ...], publication: Publication | None
) -> tuple[Section, ...]:
    """ "Your themes" first, then the rest by scorecard (the published one first)."""
    mine = [v for v in views if set(themes) & set(v.status.measure.themes)]
    rest = [v for v in views if v not in mine]
    cards = sorted(
        dict.fromkeys(v.status.measure.scorecard for v in rest),
        key=lambda c: publication is None or c != publication.scorecard,
    )
    sections = [
        Section(fmt.scorecard_title(c), tuple(v for v in rest if v.status.measure.scorecard == c))
        for c in cards
    ]
    if mine:
        names = ", ".join(fmt.theme_title(t) for t in themes)
        sections.insert(0, Section(f"Your themes: {names}", tuple(mine)))
    return tuple(sections)


KIND = Kind("tracker", "any", "scorecard", needs_deadline=False, compose=compose, stale_alert=True)
