"""What each digest says, and to whom: statuses and recipients in, content variants out.

Each kind composes itself (digest.email.kinds); this looks the kind up and hands it
the figures it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from digest.email.content import (
    ID_TOKEN,
    NAME_TOKEN,
    Content,
    Variant,
    request_mailto,
    select_statuses,
)
from digest.email.kinds import Request, kind_of
from digest.model import Alert, MeasureStatus, Occurrence, Recipient, Site

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
) -> tuple[Variant, ...]:
    """The content variants of one occurrence for these recipients (already chosen)."""
    kind = kind_of("alert" if alert is not None else occurrence.schedule.digest)
    shown = [] if kind.shows == "alert" else select_statuses(statuses, occurrence.schedule.measures)
    request = Request(
        site, occurrence, shown, recipients, deadline=deadline, alert=alert, web=web
    )
    return kind.compose(request)
