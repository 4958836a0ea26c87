"""An occurrence's messages from a loaded site: its figures, its deadline, its batch.

`send`, the scheduler, `preview`, `send --dry-run` and `check`'s trial render all
come through here, so they show the same figures in the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime

from digest import calendar
from digest.calendar.working import WorkingDays
from digest.email.content import select_statuses
from digest.email.kinds import KINDS
from digest.email.render import Batch, build_messages
from digest.insight import indicators
from digest.insight.staleness import DueRules
from digest.model import Alert, MeasureStatus, Occurrence, Schedule, Site
from digest.site.load import LoadedSite

ALERT_SCHEDULE_ID = "alert"


def statuses_for(
    loaded: LoadedSite, on: date, last_shown: Mapping[str, Mapping[str, float]] | None = None
) -> list[MeasureStatus]:
    """Every measure's status as of `on`; `revised` against `last_shown` when given."""
    site = loaded.site
    due = DueRules(WorkingDays.from_settings(site.settings), site.data)
    return indicators.compute(
        site.measures,
        loaded.observations,
        on,
        rebases=site.rebases_by_measure(),
        due=due,
        last_shown=last_shown,
    )


def deadline_of(site: Site, occurrence: Occurrence) -> date | None:
    """The deep-dive deadline of a publication-triggered occurrence."""
    if occurrence.publication is None:
        return None
    return calendar.deep_dive_deadline(occurrence.publication, site.settings)


def batch_for(
    loaded: LoadedSite,
    occurrence: Occurrence,
    *,
    statuses: Sequence[MeasureStatus] | None = None,
    alert: Alert | None = None,
    recipient_ids: Collection[str] | None = None,
) -> Batch:
    """The occurrence's messages, rendered as iterated; pass `statuses` if already known."""
    if alert is not None:
        statuses = []
    elif statuses is None:
        statuses = statuses_for(loaded, occurrence.on)
    return build_messages(
        loaded.site.as_of(occurrence.on),  # nothing recorded later leaks into this date's digest
        occurrence,
        statuses,
        deadline=deadline_of(loaded.site, occurrence),
        alert=alert,
        recipient_ids=recipient_ids,
        signer=loaded.signer,
    )


def stale_shown(occurrence: Occurrence, statuses: Sequence[MeasureStatus]) -> list[MeasureStatus]:
    """Measures the occurrence shows whose latest figures are older than they should be."""
    if not KINDS[occurrence.schedule.digest].stale_alert:
        return []
    return [s for s in select_statuses(statuses, occurrence.schedule.measures) if s.stale]


def alert_occurrence(site: Site, alert: Alert, due: datetime) -> Occurrence:
    """Alerts travel as occurrences of a built-in schedule, keyed by the alert's key."""
    schedule = Schedule(id=ALERT_SCHEDULE_ID, digest="alert", to=site.settings.alerts_to)
    local = due.astimezone(calendar.site_timezone(site.settings))
    return Occurrence(schedule=schedule, key=alert.key, due=local, on=local.date())
