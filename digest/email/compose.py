"""What each digest says, and to whom: statuses and recipients in, content variants out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from email.utils import parseaddr
from urllib.parse import quote

from digest.email import words as fmt
from digest.email.words import MeasureView, measure_view, needs_attention
from digest.model import (
    Alert,
    DeepDiveRequest,
    DigestKind,
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

    kind: DigestKind
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


@dataclass(frozen=True)
class Variant:
    """One content variant and the recipients who all receive it."""

    key: str
    content: Content
    recipients: tuple[Recipient, ...]


def compose(
    site: Site,
    occurrence: Occurrence,
    statuses: Sequence[MeasureStatus],
    recipients: Sequence[Recipient],
    *,
    deadline: date | None = None,
    alert: Alert | None = None,
) -> tuple[Variant, ...]:
    """The content variants of one occurrence for these recipients (already chosen)."""
    kind = "alert" if alert is not None else occurrence.schedule.digest
    if kind == "alert":
        if alert is None:
            raise ValueError("an alert digest needs the alert")
        return (Variant("alert", compose_alert(site, alert), tuple(recipients)),)
    shown = select_statuses(statuses, occurrence.schedule.measures)
    if kind == "key-indicators":
        content = compose_key_indicators(site, occurrence, shown)
        return (Variant(kind, content, tuple(recipients)),)
    if kind == "tracker":
        return compose_tracker(site, occurrence, shown, recipients)
    publication = _publication_of(occurrence)
    if kind == "deep-dive-summary":
        content = compose_deep_dive_summary(site, publication, shown)
        return (Variant(kind, content, tuple(recipients)),)
    if deadline is None:
        raise ValueError("deep-dive digests need the deadline")
    on_card = [s for s in shown if s.measure.scorecard == publication.scorecard]
    if kind == "deep-dive-reminder":
        asked = {r.requested_by for r in requests_for(site, publication)}
        recipients = [r for r in recipients if r.id not in asked]
    content = compose_deep_dive(site, occurrence, publication, on_card, deadline)
    return (Variant(kind, content, tuple(recipients)),) if recipients else ()


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


def compose_key_indicators(
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
        f"{fmt.count_phrase(attention, 'measure')} of {len(statuses)} "
        f"{'needs' if attention == 1 else 'need'} attention (red, or a real concern)."
    ).capitalize()
    links = tuple(Link(_publication_label(p), p.url) for p in same_period(site, publication))
    return Content(
        kind="tracker",
        site_name=site.settings.name,
        subject=f"Performance tracker, {month}: {summary.split(' (')[0]}",
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


def _publication_label(publication: Publication) -> str:
    card = fmt.scorecard_title(publication.scorecard)
    return f"{card} scorecard, {fmt.format_month(publication.period_end)}"


def _publication_prose(publication: Publication) -> str:
    card = fmt.scorecard_title(publication.scorecard)
    return f"{card} scorecard for {fmt.format_month(publication.period_end)}"


def _publication_of(occurrence: Occurrence) -> Publication:
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


def compose_deep_dive(
    site: Site,
    occurrence: Occurrence,
    publication: Publication,
    statuses: Sequence[MeasureStatus],
    deadline: date,
) -> Content:
    """Invitation or reminder: every measure of the scorecard with a one-click request link."""
    address = request_address(site)
    card = _publication_label(publication)
    due = fmt.format_long_date(deadline)
    left = (deadline - occurrence.on).days
    reminder = occurrence.schedule.digest == "deep-dive-reminder"
    when = "today is the last day" if left <= 0 else f"{fmt.count_phrase(left, 'day')} left"
    heading = f"Reminder: {when} to ask for a deep dive" if reminder else "Ask for a deep dive"

    def view(status: MeasureStatus) -> MeasureView:
        url = request_mailto(address, status.measure, publication)
        return measure_view(status, brief=True, request_url=url)

    return Content(
        kind=occurrence.schedule.digest,
        site_name=site.settings.name,
        subject=f"{heading}: {card} (by {due})",
        heading=heading,
        preheader=f"Ask for a deep dive into any measure of the {card} by {due}.",
        intro=(
            f"The {_publication_prose(publication)} was published on "
            f"{fmt.format_date(publication.published_on)}. "
            "You can ask for a deep dive into any of its measures.",
            "Use the link under a measure: it opens an email to the performance team, "
            f"ready to send. Or write to {address} naming the measure.",
        ),
        deadline=due,
        request_address=address,
        sections=(Section(fmt.scorecard_title(publication.scorecard), tuple(map(view, statuses))),),
        links=(Link(card, publication.url),),
        figures=figures_json(statuses),
    )


def compose_deep_dive_summary(
    site: Site, publication: Publication, statuses: Sequence[MeasureStatus]
) -> Content:
    """For the performance team and lead officers: who asked for which deep dive."""
    card = _publication_label(publication)
    groups = request_groups(site, requests_for(site, publication))
    total = sum(len(g.requesters) for g in groups)
    counted = f"{fmt.count_phrase(total, 'request')} for {fmt.count_phrase(len(groups), 'measure')}"
    summary = f"Members made {counted}." if groups else "No deep dives were requested."
    return Content(
        kind="deep-dive-summary",
        site_name=site.settings.name,
        subject=f"Deep-dive requests: {card}: {counted if groups else 'none'}",
        heading=f"Deep-dive requests: {card}",
        preheader=summary,
        intro=(
            f"The window for deep-dive requests on the {_publication_prose(publication)} "
            "has closed.",
        ),
        summary=summary,
        request_groups=groups,
        links=(Link(card, publication.url),),
        figures=json.dumps(
            [{"measure": g.measure_id, "requested_by": list(g.requesters)} for g in groups],
            separators=(",", ":"),
        ),
    )


def request_groups(site: Site, requests: Sequence[DeepDiveRequest]) -> tuple[RequestGroup, ...]:
    """Requests by measure, in catalogue order, each with its owner's name."""
    order = {m.id: i for i, m in enumerate(site.measures)}
    by_measure: dict[str, list[DeepDiveRequest]] = {}
    for r in sorted(requests, key=lambda r: (order.get(r.measure, len(order)), r.requested_on)):
        by_measure.setdefault(r.measure, []).append(r)
    return tuple(_request_group(site, measure_id, rs) for measure_id, rs in by_measure.items())


def _request_group(
    site: Site, measure_id: str, requests: Sequence[DeepDiveRequest]
) -> RequestGroup:
    measure = site.measure(measure_id)
    owner = site.recipient(measure.owner) if measure and measure.owner else None
    if owner is not None:
        owner_name = owner.name
    else:
        owner_name = measure.owner if measure and measure.owner else "no owner recorded"
    names = []
    for r in requests:
        person = site.recipient(r.requested_by)
        names.append(
            f"{person.name if person else r.requested_by} ({fmt.format_date(r.requested_on)})"
        )
    title = measure.title if measure else measure_id
    return RequestGroup(measure_id, title, owner_name, tuple(names))


def compose_alert(site: Site, alert: Alert) -> Content:
    """A problem, told plainly to the performance team."""
    return Content(
        kind="alert",
        site_name=site.settings.name,
        subject=f"Digest alert: {alert.title}",
        heading=alert.title,
        preheader=alert.details[0] if alert.details else alert.title,
        details=alert.details,
        figures=json.dumps({"alert": alert.key}, separators=(",", ":")),
    )
