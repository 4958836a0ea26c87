"""The deep-dive invitation and reminder share one content: every measure with a request link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from digest.email import words as fmt
from digest.email.content import (
    Content,
    Link,
    Section,
    Variant,
    figures_json,
    link_token,
    publication_label,
    publication_of,
    publication_prose,
    request_address,
    request_mailto,
)
from digest.email.kinds.base import Request, with_answers
from digest.email.words import MeasureView, measure_view
from digest.model import MeasureStatus, Occurrence, Publication, Recipient, Site


def compose_for(request: Request, recipients: Sequence[Recipient]) -> tuple[Variant, ...]:
    """The invitation or reminder for `recipients`; the published scorecard's measures only."""
    if request.deadline is None:
        raise ValueError("deep-dive digests need the deadline")
    publication = publication_of(request.occurrence)
    on_card = [s for s in request.statuses if s.measure.scorecard == publication.scorecard]
    content = compose_deep_dive(
        request.site, request.occurrence, publication, on_card, request.deadline, web=request.web
    )
    kind = request.occurrence.schedule.digest
    content = with_answers(request, content)
    return (Variant(kind, content, tuple(recipients)),) if recipients else ()


def compose_deep_dive(
    site: Site,
    occurrence: Occurrence,
    publication: Publication,
    statuses: Sequence[MeasureStatus],
    deadline: date,
    *,
    web: bool = False,
) -> Content:
    """Invitation or reminder: every measure of the scorecard with a one-click request link."""
    address = request_address(site)
    card = publication_label(publication)
    due = fmt.format_long_date(deadline)
    by = f"{site.settings.deep_dive_closes:%H:%M} on {due}"  # the time, in every invitation
    left = (deadline - occurrence.on).days
    reminder = occurrence.schedule.digest == "deep-dive-reminder"
    when = "today is the last day" if left <= 0 else f"{fmt.count_phrase(left, 'day')} left"
    heading = f"Reminder: {when} to ask for a deep dive" if reminder else "Ask for a deep dive"

    def view(status: MeasureStatus) -> MeasureView:
        url = (
            link_token(f"deep-dive:{status.measure.id}")
            if web
            else request_mailto(address, status.measure, publication)
        )
        return measure_view(status, brief=True, request_url=url)

    return Content(
        kind=occurrence.schedule.digest,
        site_name=site.settings.name,
        subject=f"{heading}: {card} (by {by})",
        heading=heading,
        preheader=f"Ask for a deep dive into any measure of the {card} by {by}.",
        intro=_intro(publication, by, address, web=web),
        deadline=due,
        request_address=address,
        sections=(Section(fmt.scorecard_title(publication.scorecard), tuple(map(view, statuses))),),
        links=(Link(card, publication.url),),
        figures=figures_json(statuses),
        deep_dive_measures=tuple(s.measure.id for s in statuses) if web else (),
    )


def _intro(publication: Publication, by: str, address: str, *, web: bool) -> tuple[str, ...]:
    """What was published, until when members may ask, and how."""
    how = (
        "Use the link under a measure: it opens a page where you confirm the request."
        if web
        else "Use the link under a measure: it opens an email to the performance team, "
        "ready to send."
    )
    return (
        f"The {publication_prose(publication)} was published on "
        f"{fmt.format_date(publication.published_on)}. "
        f"You can ask for a deep dive into any of its measures until {by}.",
        how + f" Or write to {address} naming the measure.",
    )
