"""Which schedule and which occurrence a command or a page names, or an error saying why not."""

from __future__ import annotations

from datetime import date

from digest import calendar
from digest.errors import UsageError
from digest.model import Occurrence, Schedule, Site


def find_schedule(site: Site, schedule_id: str) -> Schedule:
    """The schedule of this id, or a usage error listing the schedules."""
    schedule = site.schedule(schedule_id)
    if schedule is None:
        known = ", ".join(s.id for s in site.schedules)
        raise UsageError(f'no schedule "{schedule_id}" in schedules.toml (schedules: {known})')
    return schedule


def occurrence_for(site: Site, schedule: Schedule, on: date) -> Occurrence:
    """The occurrence due on `on`, or a usage error saying which dates are due."""
    occurrence = calendar.occurrence_due_on(site, schedule, on)
    if occurrence is not None:
        return occurrence
    if schedule.after:
        due = [d.isoformat() for d in calendar.fire_dates(site, schedule, on)]
        if not due:
            raise UsageError(
                f'no publication of "{schedule.after}" on or before {on}: record one with digest publish'
            )
        raise UsageError(
            f'"{schedule.id}" is not due on {on}: it is due on {", ".join(due)} (one date per publication)'
        )
    raise UsageError(
        f'"{schedule.id}" is not due on {on} ({schedule.cron}{", working days only" if schedule.working_days_only else ""})'
    )
