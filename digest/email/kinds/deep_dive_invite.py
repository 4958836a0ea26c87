"""Invites members to ask for a deep dive into any measure of a publication."""

from __future__ import annotations

from digest.email.content import Variant
from digest.email.kinds.base import Kind, Request
from digest.email.kinds.deep_dive import compose_for


def compose(request: Request) -> tuple[Variant, ...]:
    return compose_for(request, request.recipients)


KIND = Kind("deep-dive-invite", "publication", "scorecard", needs_deadline=True, compose=compose)
