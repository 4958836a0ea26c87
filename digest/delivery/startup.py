"""When `digest run` cannot start: tell the team, if what an alert needs can still be read.

A service manager restarting a refused `digest run` writes only to a log nobody reads.
An alert needs far less than a digest: `[site]` (sender, timezone, `alerts_to`), the
recipients it names, `[delivery]`, the alert's templates and the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from digest.delivery import store
from digest.delivery.service import Service
from digest.delivery.site import load_site
from digest.delivery.transports import transport_for
from digest.email.kinds import SCHEDULED
from digest.email.words import count_phrase
from digest.errors import ConfigError, DigestError
from digest.model import Alert, Clock, Site
from digest.site.config import read_config
from digest.site.load import LoadedSite
from digest.site.observations import empty_frame


@dataclass(frozen=True)
class Told:
    """Whether the team was told, and the line that says so (or why not)."""

    alerted: bool
    line: str


def tell_not_started(root: Path, today: date, problems: Sequence[str], clock: Clock) -> Told:
    """Queue and deliver "digest run did not start: N problems in the site" to `alerts_to`."""
    loaded = _site_for_alert(root, today)
    if isinstance(loaded, str):
        return Told(False, f"no alert could be sent: {loaded}")
    title = f"digest run did not start: {count_phrase(len(problems), 'problem')} in the site"
    alert = Alert(
        key=Alert.key_for("not-started", "\n".join(problems) + f"/{today.isoformat()}"),
        title=title,
        details=tuple(problems[:50]),
        action="Correct each file at the line named ('digest check' lists every problem), "
        "then start digest run again: nothing is sent until it runs.",
    )
    try:
        return _send(loaded, alert, clock)
    except (DigestError, SQLAlchemyError, OSError) as exc:
        return Told(False, f"no alert could be sent: {type(exc).__name__}: {exc}")


def _send(loaded: LoadedSite, alert: Alert, clock: Clock) -> Told:
    state = store.open_store(loaded.site.root)
    try:
        service = Service(loaded, state, transport_for, clock)
        service.alert(alert)
        report = asyncio.run(service.deliver())
    finally:
        state.close()
    told = ", ".join(r.email for r in loaded.site.audience(loaded.site.settings.alerts_to))
    if report.transport_error:
        return Told(False, "no alert could be sent: it waits in the store, as nothing can "
                    f"be delivered: {report.transport_error}")  # fmt: skip
    if not service.raised:  # its key was queued before: the same problems, the same day
        return Told(True, f"the performance team was told already today ({told}): {alert.title}")
    return Told(True, f"the performance team was told ({told}): {alert.title}")


def _site_for_alert(root: Path, today: date) -> LoadedSite | str:
    """The site as far as an alert needs it, or why an alert cannot go."""
    try:
        loaded = load_site(root, today)
    except ConfigError as exc:  # no catalogue, say: the settings may still be good
        fallback = _settings_only(root)
        if isinstance(fallback, str):
            return fallback
        loaded = LoadedSite(fallback, empty_frame(), tuple(exc.problems))
    except (DigestError, OSError) as exc:
        return str(exc)
    site = loaded.site
    delivery = {site.delivery.line, *site.delivery.lines.values()}
    for problem in loaded.problems:
        if problem.file == site.delivery.file and problem.line in delivery:
            return f"[delivery] itself has a problem: {problem}"
    if not site.audience(site.settings.alerts_to):
        return "alerts_to in schedules.toml names no active recipient to tell"
    return loaded


def _settings_only(root: Path) -> Site | str:
    config = read_config(root, SCHEDULED)
    if config.settings is None:
        found = "; ".join(str(p) for p in config.problems[:3])
        return f"schedules.toml [site] cannot be read ({found})"
    return Site(root=root, settings=config.settings, delivery=config.delivery,
                recipients=tuple(config.recipients), schedules=(), measures=(),
                data=config.data)  # fmt: skip
