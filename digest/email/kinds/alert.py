"""A problem, told plainly to the performance team (raised by digest itself)."""

from __future__ import annotations

import json

from digest.email.content import Content, Variant
from digest.email.kinds.base import Kind, Request, single
from digest.model import Alert, Site


def compose(request: Request) -> tuple[Variant, ...]:
    if request.alert is None:
        raise ValueError("an alert digest needs the alert")
    return single(request, compose_alert(request.site, request.alert))


def compose_alert(site: Site, alert: Alert) -> Content:
    """A problem, told plainly to the performance team."""
    return Content(
        kind="alert",
        site_name=site.settings.name,
        subject=alert.title,
        heading=alert.title,
        preheader=alert.details[0] if alert.details else alert.title,
        details=alert.details,
        intro=(alert.action,) if alert.action else (),
        figures=json.dumps({"alert": alert.key}, separators=(",", ":")),
    )


KIND = Kind("alert", "system", "alert", needs_deadline=False, compose=compose)
