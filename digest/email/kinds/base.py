"""What a digest kind is: its trigger, what it shows, and how it composes its content."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from digest.email.content import Content, Variant
from digest.model import Alert, MeasureStatus, Occurrence, Recipient, Site, Trigger

# What a kind shows: the schedule's selection of measures, the published scorecard's
# measures, the deep-dive requests, or an alert (no figures).
Shows = Literal["selection", "scorecard", "requests", "alert"]


@dataclass(frozen=True)
class Request:
    """Everything a kind needs to compose one occurrence's content."""

    site: Site
    occurrence: Occurrence
    statuses: Sequence[MeasureStatus]  # already narrowed to the schedule's selection
    recipients: Sequence[Recipient]
    deadline: date | None = None
    alert: Alert | None = None
    web: bool = False  # members' links are signed web links, not mailto


@dataclass(frozen=True)
class Kind:
    """One digest kind, as registered in digest.email.kinds.KINDS."""

    name: str
    trigger: Trigger  # "any": cron or a publication; "publication"; "system": raised by digest
    shows: Shows
    needs_deadline: bool
    compose: Callable[[Request], tuple[Variant, ...]]
    stale_alert: bool = False  # whether figures shown stale are alerted to the team at send


def single(request: Request, content: Content) -> tuple[Variant, ...]:
    """One variant that every recipient receives."""
    return (Variant(content.kind, with_answers(request, content), tuple(request.recipients)),)


def with_answers(request: Request, content: Content) -> Content:
    """Member digests carry the answer links when the site signs them; alerts never do."""
    if not request.web or content.kind == "alert":
        return content
    return replace(content, answers=True)
