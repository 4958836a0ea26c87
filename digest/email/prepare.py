"""An occurrence's messages from a loaded site: its figures, its deadline, its batch.

`send`, the scheduler, `preview`, `send --dry-run` and `check`'s trial render all
come through here, so they show the same figures in the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

import pandas as pd

from digest import calendar
from digest.calendar.working import WorkingDays
from digest.email.content import select_statuses
from digest.email.kinds import KINDS
from digest.email.render import Batch, build_messages
from digest.insight import indicators
from digest.insight.staleness import DueRules
from digest.model import (
    Alert,
    LastSent,
    Measure,
    MeasureStatus,
    Occurrence,
    Publication,
    Schedule,
    Site,
)
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


def stale_statuses(loaded: LoadedSite, today: date) -> list[MeasureStatus]:
    """Measures whose figures are not current on `today` (`digest status`, the team's pages)."""
    return [s for s in statuses_for(loaded, today) if s.stale]


def missing_data(loaded: LoadedSite, publication: Publication) -> list[Measure]:
    """The publication's scorecard measures with no row (a value or a statistical
    code) for its period: until they are loaded, its digests would show older figures."""
    frame = loaded.observations
    wanted = pd.Timestamp(publication.period_end)
    present = set(frame.loc[frame["period_end"] == wanted, "measure"]) if len(frame) else set()
    return [
        m for m in loaded.site.measures
        if m.scorecard == publication.scorecard and m.id not in present
    ]  # fmt: skip


def unloaded_publications(loaded: LoadedSite) -> list[tuple[Publication, list[Measure]]]:
    """Each scorecard's latest publication whose period's data are not all loaded."""
    latest: dict[str, Publication] = {}
    for publication in loaded.site.publications:
        known = latest.get(publication.scorecard)
        if known is None or publication.period_end > known.period_end:
            latest[publication.scorecard] = publication
    found = [(p, missing_data(loaded, p)) for p in latest.values()]
    return [(p, missing) for p, missing in found if missing]


def unloaded_line(publication: Publication, missing: Sequence[Measure]) -> str:
    """One line for the team: which publication's figures are not loaded yet."""
    ids = ", ".join(m.id for m in missing)
    return (f"{publication.scorecard} for {publication.period_end.isoformat()} is published, "
            f"but that period's figures for {len(missing)} measure(s) are not loaded "
            f"({ids}): its digests wait for them")  # fmt: skip


def waiting_for_data(loaded: LoadedSite, occurrence: Occurrence, now: datetime) -> list[Measure]:
    """The measures a publication-triggered occurrence still waits for at `now`;
    empty when it is due (all loaded, or `wait_for_data` has passed)."""
    if occurrence.publication is None:
        return []
    if now >= calendar.data_wait_ends(occurrence, loaded.site.settings):
        return []
    return missing_data(loaded, occurrence.publication)


def for_publication(
    loaded: LoadedSite, occurrence: Occurrence, statuses: Sequence[MeasureStatus]
) -> list[MeasureStatus]:
    """Statuses with the publication's unloaded measures marked missing for its
    period, never last period's figures under this period's title."""
    if occurrence.publication is None:
        return list(statuses)
    period = occurrence.publication.period_end
    missing = {m.id for m in missing_data(loaded, occurrence.publication)}
    return [
        replace(s, period_end=period, value=None, missing=None, previous=s.value,
                previous_period_end=s.period_end, change=None, last_year=None, rag="none")
        if s.measure.id in missing else s
        for s in statuses
    ]  # fmt: skip


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
    last_sent: Mapping[str, LastSent] | None = None,
    trial: bool = False,
) -> Batch:
    """The occurrence's messages, rendered as iterated; pass `statuses` if already known,
    and `last_sent` (from the store) for what changed since each member's last digest.
    `trial`: to try the templates only (no chart is drawn)."""
    if alert is not None:
        statuses = []
    elif statuses is None:
        statuses = statuses_for(loaded, occurrence.on)
    if alert is None:
        statuses = for_publication(loaded, occurrence, statuses)
    return build_messages(
        loaded.site.as_of(occurrence.on),  # nothing recorded later leaks into this date's digest
        occurrence,
        statuses,
        deadline=deadline_of(loaded.site, occurrence),
        alert=alert,
        recipient_ids=recipient_ids,
        signer=loaded.signer,
        last_sent=last_sent,
        templates=loaded.templates,
        trial=trial,
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
