"""For the performance team and lead officers: the deep-dive requests, grouped by measure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from digest.email import words as fmt
from digest.email.clinic import clinic_invitation
from digest.email.content import (
    Content,
    Link,
    RequestGroup,
    Variant,
    publication_label,
    publication_of,
    publication_prose,
    requests_for,
)
from digest.email.kinds.base import Kind, Request, single
from digest.model import DeepDiveRequest, MeasureStatus, Publication, Site


def compose(request: Request) -> tuple[Variant, ...]:
    publication = publication_of(request.occurrence)
    content = compose_deep_dive_summary(request.site, publication, request.statuses)
    if content.request_groups:
        invitation = clinic_invitation(
            request.site,
            publication,
            content.request_groups,
            _owner_addresses(request.site, publication),
        )
        note = "A calendar invitation for the performance clinic is attached: a proposed time for the lead officers to move."
        content = replace(content, clinic=invitation, intro=(*content.intro, note))
    return single(request, content)


def _owner_addresses(site: Site, publication: Publication) -> list[str]:
    """The lead officers of the measures asked for, invited to the clinic."""
    asked = {r.measure for r in requests_for(site, publication)}
    owners = {m.owner for m in site.measures if m.id in asked and m.owner}
    return sorted(r.email for r in site.recipients if r.id in owners and r.active)


def compose_deep_dive_summary(
    site: Site, publication: Publication, statuses: Sequence[MeasureStatus]
) -> Content:
    """For the performance team and lead officers: who asked for which deep dive."""
    card = publication_label(publication)
    groups = request_groups(site, requests_for(site, publication))
    total = sum(len(g.requesters) for g in groups)
    counted = f"{fmt.count_phrase(total, 'request')} for {fmt.count_phrase(len(groups), 'measure')}"
    summary = (
        f"Members made {counted}: {'it needs' if len(groups) == 1 else 'they need'} attention "
        "at a performance clinic."
        if groups
        else "No deep dives were requested: nothing needs attention at a clinic."
    )
    return Content(
        kind="deep-dive-summary",
        site_name=site.settings.name,
        subject=f"Deep-dive requests: {card}: {counted if groups else 'none'}",
        heading=f"Deep-dive requests: {card}",
        preheader=summary,
        intro=(
            f"The window for deep-dive requests on the {publication_prose(publication)} "
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


KIND = Kind("deep-dive-summary", "publication", "requests", needs_deadline=False, compose=compose)
