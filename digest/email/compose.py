"""What each digest says, and to whom: statuses and recipients in, content variants out.

Each kind composes itself (digest.email.kinds); this looks the kind up and hands it
the figures it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from digest.email.content import (
    ID_TOKEN,
    NAME_TOKEN,
    Content,
    Variant,
    request_address,
    request_mailto,
    select_statuses,
)
from digest.email.kinds import Request, kind_of
from digest.email.since import split_by_last_sent
from digest.email.words import assurance_summary, format_date
from digest.model import Alert, LastSent, MeasureStatus, Occurrence, Recipient, Site

__all__ = [
    "ID_TOKEN",
    "NAME_TOKEN",
    "Content",
    "Variant",
    "compose",
    "request_mailto",
    "select_statuses",
]


def compose(
    site: Site,
    occurrence: Occurrence,
    statuses: Sequence[MeasureStatus],
    recipients: Sequence[Recipient],
    *,
    deadline: date | None = None,
    alert: Alert | None = None,
    web: bool = False,
    last_sent: Mapping[str, LastSent] | None = None,
) -> tuple[Variant, ...]:
    """The content variants of one occurrence for these recipients (already chosen).

    Every kind gets the same frame: who to contact; and, when it shows figures, the date
    they are as at, the assurance said once, and what changed since each member's last
    digest of the schedule (`last_sent`, from the store).
    """
    kind = kind_of("alert" if alert is not None else occurrence.schedule.digest)
    shown = [] if kind.shows == "alert" else select_statuses(statuses, occurrence.schedule.measures)
    request = Request(
        site, occurrence, shown, recipients, deadline=deadline, alert=alert, web=web
    )
    contact = f"Questions about this email: reply to it, or write to {request_address(site)}."
    variants = tuple(
        replace(v, content=replace(v.content, why=contact)) for v in kind.compose(request)
    )
    if kind.shows not in ("selection", "scorecard"):
        return variants
    framed = tuple(
        replace(v, content=replace(
            v.content, as_at=format_date(occurrence.on), assurance=_assurance(v.content),
        ))
        for v in variants
    )  # fmt: skip
    return split_by_last_sent(framed, last_sent or {})


def _assurance(content: Content) -> str:
    return assurance_summary([view.status for view in content.views()])
