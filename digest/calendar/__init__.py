"""When schedules fire: cron in the site timezone, working days, publication offsets, deadlines.

Pure: no clock is read here; every "now" is passed in.

An occurrence is a (local date, local wall time) pair. The wall time becomes an
instant only at the end, so a clock change can neither skip nor double a day:
a wall time in the missing hour fires at the first instant after the gap, and a
wall time in the repeated hour fires at its first (summer time) instance.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from digest.calendar.cron import ONCE_A_DAY_MESSAGE, CronSpec, parse_cron, validate_cron
from digest.calendar.working import HOLIDAY_NATIONS, WorkingDays
from digest.model import Occurrence, Publication, Schedule, Site, SiteSettings, Span

__all__ = [
    "HOLIDAY_NATIONS",
    "ONCE_A_DAY_MESSAGE",
    "CronSpec",
    "WorkingDays",
    "cron_fire_time",
    "deep_dive_closes_at",
    "deep_dive_deadline",
    "fire_dates",
    "occurrence_due_on",
    "occurrence_on",
    "occurrences_between",
    "parse_cron",
    "publication_fire_time",
    "publication_occurrence",
    "resolve_local",
    "site_timezone",
    "validate_cron",
]

DEFAULT_PUBLICATION_TIME = time(9, 0)



def _wall(instant: datetime, tz: tzinfo) -> datetime:
    # Through UTC: astimezone() to an instant's own tzinfo returns it unchanged.
    return instant.astimezone(UTC).astimezone(tz).replace(tzinfo=None)


def _end_of_gap(naive: datetime, tz: tzinfo) -> datetime:
    """The first instant whose wall time is at or after `naive`, which falls in a gap."""
    # For a missing time the two folds give the offsets either side of the
    # transition, so the transition lies between the instants they name.
    early, late = sorted(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    low, high = 0, int((late - early).total_seconds())
    while low < high:
        middle = (low + high) // 2
        if _wall(early + timedelta(seconds=middle), tz) >= naive:
            high = middle
        else:
            low = middle + 1
    return (early + timedelta(seconds=low)).astimezone(tz)


def resolve_local(day: date, wall: time, tz: tzinfo) -> datetime:
    """The instant a local date and wall time name: a missing time moves past the gap,
    a repeated time is its first instance."""
    naive = datetime.combine(day, wall)
    aware = naive.replace(tzinfo=tz, fold=0)
    if _wall(aware, tz) == naive:
        return aware
    return _end_of_gap(naive, tz)


def site_timezone(settings: SiteSettings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


# --- fire times ---------------------------------------------------------------


def cron_fire_time(
    schedule: Schedule, day: date, tz: tzinfo, workdays: WorkingDays | None = None
) -> datetime | None:
    """When a cron schedule fires on a local date, or None if it does not.

    Only the first firing of the day counts (the occurrence key is the date);
    `workdays` is required when the schedule runs on working days only.
    """
    if schedule.cron is None:
        return None
    spec = parse_cron(schedule.cron)
    if not spec.matches(day):
        return None
    if schedule.working_days_only:
        if workdays is None:
            raise ValueError(f"schedule {schedule.id} needs the site's working days")
        if not workdays.is_working_day(day):
            return None
    return resolve_local(day, spec.first_time, tz)


def _after_span(day: date, span: Span, workdays: WorkingDays) -> date:
    if span.unit == "working days":
        return workdays.add_working_days(day, span.count)
    # Publications have dates, not times: shorter spans count in whole days.
    return day + timedelta(days=span.as_timedelta().days)


def _before_span(day: date, span: Span, workdays: WorkingDays) -> date:
    if span.unit == "working days":
        return workdays.subtract_working_days(day, span.count)
    return day - timedelta(days=span.as_timedelta().days)


def deep_dive_deadline(publication: Publication, settings: SiteSettings) -> date:
    """Publication date + the deep-dive window, moved to the next working day if not one."""
    workdays = WorkingDays.from_settings(settings)
    end = _after_span(publication.published_on, settings.deep_dive_window, workdays)
    return workdays.next_working_day(end)


def deep_dive_closes_at(publication: Publication, settings: SiteSettings) -> datetime:
    """The instant deep-dive requests close: the deadline's date at `deep_dive_closes`, local.

    One rule for the web page, `digest request`, the links' expiry and the emails' words.
    """
    deadline = deep_dive_deadline(publication, settings)
    return resolve_local(deadline, settings.deep_dive_closes, site_timezone(settings))


def publication_fire_date(
    schedule: Schedule, publication: Publication, settings: SiteSettings
) -> date:
    """The local date a publication-triggered schedule fires for one publication.

    `before_deadline` counts back from the deep-dive deadline, but never to
    before the publication itself; otherwise `offset` (default "0 days") counts on.
    """
    workdays = WorkingDays.from_settings(settings)
    if schedule.before_deadline is not None:
        deadline = deep_dive_deadline(publication, settings)
        day = _before_span(deadline, schedule.before_deadline, workdays)
        return max(day, publication.published_on)
    return _after_span(publication.published_on, schedule.offset or Span(0, "days"), workdays)


def publication_fire_time(
    schedule: Schedule, publication: Publication, settings: SiteSettings, tz: tzinfo
) -> datetime | None:
    """When an `after` schedule fires for a publication, or None if it does not follow it."""
    if schedule.after is None or schedule.after != publication.scorecard:
        return None
    day = publication_fire_date(schedule, publication, settings)
    return resolve_local(day, schedule.at or DEFAULT_PUBLICATION_TIME, tz)


def data_wait_ends(occurrence: Occurrence, settings: SiteSettings) -> datetime:
    """When a publication-triggered occurrence stops waiting for its period's data:
    `wait_for_data` after its due date, at its time of day."""
    workdays = WorkingDays.from_settings(settings)
    due = occurrence.due.astimezone(site_timezone(settings))
    day = _after_span(due.date(), occurrence.schedule.wait_for_data, workdays)
    return resolve_local(day, due.time().replace(tzinfo=None), site_timezone(settings))


# --- occurrences --------------------------------------------------------------


def _within(due: datetime, start: datetime, end: datetime) -> bool:
    # In UTC: an aware time in a repeated hour never equals one of another zone.
    return start <= due.astimezone(UTC) < end


def _local_days(start: datetime, end: datetime, tz: tzinfo) -> list[date]:
    """Every local date that could hold an instant in [start, end), with a day to spare."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _cron_occurrences(
    site: Site, schedule: Schedule, start: datetime, end: datetime
) -> list[Occurrence]:
    tz = site_timezone(site.settings)
    workdays = WorkingDays.from_settings(site.settings)
    found = []
    for day in _local_days(start, end, tz):
        due = cron_fire_time(schedule, day, tz, workdays)
        if due is not None and _within(due, start, end):
            found.append(Occurrence(schedule, day.isoformat(), due, day))
    return found


def _publications_of(site: Site, scorecard: str) -> list[Publication]:
    """The publications of a scorecard, once per key (the earliest row wins)."""
    by_key: dict[str, Publication] = {}
    for publication in sorted(site.publications, key=lambda p: p.published_on):
        if publication.scorecard == scorecard:
            by_key.setdefault(publication.key, publication)
    return list(by_key.values())


def publication_occurrence(
    site: Site, schedule: Schedule, publication: Publication, on: date | None = None
) -> Occurrence | None:
    """The schedule's occurrence for this publication, or None when it does not follow it."""
    tz = site_timezone(site.settings)
    due = publication_fire_time(schedule, publication, site.settings, tz)
    if due is None:
        return None
    return Occurrence(schedule, publication.key, due, on or due.date(), publication)


def _publication_occurrences(
    site: Site, schedule: Schedule, start: datetime, end: datetime
) -> list[Occurrence]:
    if schedule.after is None:
        return []
    found = []
    for publication in _publications_of(site, schedule.after):
        occurrence = publication_occurrence(site, schedule, publication)
        if occurrence is not None and _within(occurrence.due, start, end):
            found.append(occurrence)
    return found


def occurrences_between(site: Site, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence of every schedule due in [start, end), by due time then schedule."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("occurrences_between needs aware datetimes")
    # Aware datetimes sharing a tzinfo compare by wall time, ignoring fold: use UTC.
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    found: list[Occurrence] = []
    for schedule in site.schedules:
        if schedule.cron is not None:
            found += _cron_occurrences(site, schedule, start, end)
        else:
            found += _publication_occurrences(site, schedule, start, end)
    return sorted(found, key=lambda o: (o.due.astimezone(UTC), o.schedule.id))


def occurrence_on(site: Site, schedule: Schedule, day: date) -> Occurrence | None:
    """The occurrence a schedule has as of a local date (what `send --on DATE` runs).

    Cron: that day's firing, or None if it does not fire that day. Publication
    schedules: the occurrence of the latest publication on or before `day`,
    whatever its own fire date, with `on` = `day`; None before any publication.
    """
    if schedule.cron is not None:
        tz = site_timezone(site.settings)
        due = cron_fire_time(schedule, day, tz, WorkingDays.from_settings(site.settings))
        return None if due is None else Occurrence(schedule, day.isoformat(), due, day)
    if schedule.after is None:
        return None
    published = [p for p in _publications_of(site, schedule.after) if p.published_on <= day]
    if not published:
        return None
    latest = max(published, key=lambda p: (p.published_on, p.period_end))
    return publication_occurrence(site, schedule, latest, on=day)


def occurrence_due_on(site: Site, schedule: Schedule, day: date) -> Occurrence | None:
    """The occurrence a schedule fires on a local date, or None: what `send --on DATE` runs.

    Unlike `occurrence_on`, a publication schedule has one only on its publication's fire
    date (published by then: nothing recorded later counts), never an earlier one's.
    """
    if schedule.cron is not None:
        return occurrence_on(site, schedule, day)
    tz = site_timezone(site.settings)
    for publication in _publications_of(site, schedule.after or ""):
        if publication.published_on > day:
            continue
        occurrence = publication_occurrence(site, schedule, publication)
        if occurrence is not None and occurrence.due.astimezone(tz).date() == day:
            return Occurrence(schedule, occurrence.key, occurrence.due, day, publication)
    return None


def fire_dates(site: Site, schedule: Schedule, around: date, days: int = 45) -> list[date]:
    """A publication schedule's fire dates within `days` either side of `around`."""
    tz = site_timezone(site.settings)
    start = resolve_local(around - timedelta(days=days), time(0), tz)
    end = resolve_local(around + timedelta(days=days), time(0), tz)
    found = _publication_occurrences(site, schedule, start.astimezone(UTC), end.astimezone(UTC))
    return [o.due.astimezone(tz).date() for o in found]
