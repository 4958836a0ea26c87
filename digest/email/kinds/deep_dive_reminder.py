"""Reminds the members who have not yet asked for a deep dive, before the deadline."""

from __future__ import annotations

from digest.email.content import Variant, publication_of, requests_for
from digest.email.kinds.base import Kind, Request
from digest.email.kinds.deep_dive import compose_for


def compose(request: Request) -> tuple[Variant, ...]:
    publication = publication_of(request.occurrence)
    asked = {r.requested_by for r in requests_for(request.site, publication)}
    return compose_for(request, [r for r in request.recipients if r.id not in asked])


KIND = Kind("deep-dive-reminder", "publication", "scorecard", needs_deadline=True, compose=compose)
