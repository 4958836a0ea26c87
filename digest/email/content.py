"""The content model every digest kind fills in, and the helpers the kinds share."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from digest.email import words as fmt
from digest.email.words import MeasureView
from digest.model import (
    DeepDiveRequest,
    Measure,
    MeasureStatus,
    Occurrence,
    Publication,
    Recipient,
    Site,
)

# Filled in per recipient after CSS inlining, so that inlining runs once per variant.
NAME_TOKEN = "__digest_recipient_name__"
ID_TOKEN = "__digest_recipient_id__"
WHY_TOKEN = "__digest_recipient_why__"  # why they receive it, from their roles
# A signed link, filled per recipient like the name: __digest_link_view__,
# __digest_link_deep-dive:MEASURE__ (see digest.email.links).
LINK_TOKEN = re.compile(r"__digest_link_([a-z0-9_:-]+)__")


def link_token(name: str) -> str:
    """The placeholder of one signed link, filled in per recipient."""
    return f"__digest_link_{name}__"

SPC_GUIDE_URL = "https://www.england.nhs.uk/publication/making-data-count/"


@dataclass(frozen=True)
class Section:
    title: str
    measures: tuple[MeasureView, ...]


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class RequestGroup:
    """The deep-dive requests for one measure, with who owns it and who asked."""

    measure_id: str
    title: str
    owner: str
    requesters: tuple[str, ...]


@dataclass(frozen=True)
class Content:
    """Everything the templates of one digest kind need, bar the recipient's name."""

    kind: str
    site_name: str
    subject: str
    heading: str
    preheader: str
    intro: tuple[str, ...] = ()
    banner: str = ""
    summary: str = ""
    sections: tuple[Section, ...] = ()
    links: tuple[Link, ...] = ()  # the published scorecards
    guide_url: str = ""  # how to read SPC, for digests that show it
    deadline: str = ""
    request_address: str = ""
    request_groups: tuple[RequestGroup, ...] = ()
    details: tuple[str, ...] = ()
    figures: str = "[]"
    answers: bool = False  # signed links to answer (was this useful?, themes, view) are on
    deep_dive_measures: tuple[str, ...] = ()  # the measures with a signed request link
    clinic: str = ""  # an iCalendar invitation sent with the message (the deep-dive summary)
    since: str = ""  # the date of the member's last digest of this schedule, when there was one
    changes: tuple[str, ...] = ()  # what changed since then (digest.email.since)
    as_at: str = ""  # "figures as at": the date the figures are as of
    assurance: str = ""  # the assurance of every measure, said once
    why: str = ""  # why the member receives this email, and who to contact

    def views(self) -> tuple[MeasureView, ...]:
        """Every measure shown, once each, in the order of the sections."""
        seen: dict[str, MeasureView] = {}
        for section in self.sections:
            for view in section.measures:
                seen.setdefault(view.id, view)
        return tuple(seen.values())

    def main_period(self) -> str:
        """The period most measures are for: lines name theirs only when it differs."""
        periods = [v.period for v in self.views() if v.period]
        return max(set(periods), key=periods.count) if periods else ""

    def nothing_flagged(self) -> str:
        """What the first screen says when no measure needs attention: never that all
        is well when figures are missing."""
        missing = [v.title for v in self.views() if v.status.value is None]
        if missing:
            return (f"No measure is red or a real concern, but {fmt.count_phrase(len(missing), 'measure')} "
                    f"{'has' if len(missing) == 1 else 'have'} no figure for this period.")  # fmt: skip
        stale = [v.title for v in self.views() if v.status.stale]
        if stale:
            return (f"No measure is red or a real concern, but {fmt.count_phrase(len(stale), 'figure')} "
                    f"{'is' if len(stale) == 1 else 'are'} not current.")  # fmt: skip
        return "Nothing needs attention: no measure is red or a real concern."

    def flagged(self) -> tuple[MeasureView, ...]:
        """The measures that need attention, in the order of the sections."""
        return tuple(v for v in self.views() if v.attention)


@dataclass(frozen=True)
class Variant:
    """One content variant and the recipients who all receive it."""

    key: str
    content: Content
    recipients: tuple[Recipient, ...]


def select_statuses(
    statuses: Sequence[MeasureStatus], selection: Sequence[str]
) -> list[MeasureStatus]:
    """Statuses chosen by measure id, theme or scorecard, in the selection's order."""
    if not selection:
        return list(statuses)

    def rank(status: MeasureStatus) -> int:
        m = status.measure
        return min(i for i, t in enumerate(selection) if t in (m.id, m.scorecard, *m.themes))

    chosen = [
        s
        for s in statuses
        if set(selection) & {s.measure.id, s.measure.scorecard, *s.measure.themes}
    ]
    return sorted(chosen, key=rank)


def figures_json(statuses: Sequence[MeasureStatus]) -> str:
    """What a message showed, compact, for audit."""
    rows = [
        {
            "measure": s.measure.id,
            "period_end": s.period_end.isoformat() if s.period_end else None,
            "value": s.value,
            "missing": s.missing,
            "change": s.change,
            "rag": s.rag,
            "direction": s.direction,
            "variation": s.variation,
            "assurance": s.assurance,
            "stale": s.stale,
        }
        for s in statuses
    ]
    return json.dumps(rows, separators=(",", ":"))


def stale_banner(statuses: Sequence[MeasureStatus]) -> str:
    """Says plainly when figures are not current; empty when all are."""
    stale = [s for s in statuses if s.stale]
    if not stale:
        return ""
    periods = {s.period_end for s in stale}
    if len(stale) == len(statuses) and len(periods) == 1 and None not in periods:
        (period_end,) = periods
        assert period_end is not None
        when = fmt.format_period(period_end, stale[0].measure.frequency)
        return f"Today's figures have not arrived: these are from {when}."
    return (
        f"Some figures have not arrived: {len(stale)} of {len(statuses)} are not current. "
        "Each says which period it is from."
    )


def same_period(site: Site, publication: Publication | None) -> list[Publication]:
    """The publication, then the other scorecards' publications of the same period."""
    if publication is None:
        return []
    others = [
        p
        for p in site.publications
        if p.period_end == publication.period_end and p.scorecard != publication.scorecard
    ]
    return [publication, *sorted(others, key=lambda p: p.scorecard)]


def publication_label(publication: Publication) -> str:
    card = fmt.scorecard_title(publication.scorecard)
    return f"{card} scorecard, {fmt.format_month(publication.period_end)}"


def publication_prose(publication: Publication) -> str:
    card = fmt.scorecard_title(publication.scorecard)
    return f"{card} scorecard for {fmt.format_month(publication.period_end)}"


def publication_of(occurrence: Occurrence) -> Publication:
    if occurrence.publication is None:
        raise ValueError(f"{occurrence.schedule.digest} needs a publication")
    return occurrence.publication


def requests_for(site: Site, publication: Publication) -> list[DeepDiveRequest]:
    """Deep-dive requests made against this publication."""
    return [
        r
        for r in site.requests
        if r.scorecard == publication.scorecard and r.period_end == publication.period_end
    ]


def request_address(site: Site) -> str:
    """Where deep-dive requests go: the reply-to address, else the sender's."""
    return site.settings.reply_to or parseaddr(site.settings.sender)[1]


def request_mailto(address: str, measure: Measure, publication: Publication) -> str:
    """A one-click mailto: link with the request already written."""
    card = (
        f"{fmt.scorecard_title(publication.scorecard)} {fmt.format_month(publication.period_end)}"
    )
    subject = f"Deep dive request: {measure.id} ({card})"
    # RFC 6068: line breaks in a mailto body are written %0D%0A.
    body = "\r\n".join(
        [
            "Please record my request for a deep dive into:",
            f"{measure.title} ({measure.id})",
            f"{card} scorecard",
            "",
            f"Requested by: {ID_TOKEN}",
            "",
            "What I would like to understand:",
            "",
        ]
    )
    query = f"subject={quote(subject, safe='')}&body={quote(body, safe='')}"
    return f"mailto:{quote(address, safe='@')}?{query}"
