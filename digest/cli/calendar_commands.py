"""`digest upcoming`, `digest publish` and `digest request`: the calendar as the team sees it."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from digest import calendar
from digest.calendar.words import format_clock, format_date, format_long_date
from digest.cli.site_commands import local_today, open_site
from digest.cli.web_commands import keep_cli_request
from digest.email.prepare import missing_data, unloaded_line
from digest.email.words import count_phrase
from digest.model import Occurrence, Publication, Site
from digest.site.catalogue import PUBLICATIONS, REQUESTS
from digest.site.load import LoadedSite
from digest.site.recording import record_publication, record_request


def _warn(loaded: LoadedSite) -> None:
    for problem in loaded.problems:
        print(f"warning: {problem}", file=sys.stderr)


# --- upcoming ---------------------------------------------------------------------


def cmd_upcoming(args: argparse.Namespace) -> int:
    loaded: LoadedSite = open_site(args)
    site = loaded.site
    first = args.start or local_today(args)
    last = first + timedelta(days=args.days - 1)
    occurrences = occurrences_in_days(site, first, args.days)
    if args.json:
        print(json.dumps(upcoming_rows(site, occurrences), indent=2, ensure_ascii=False))
    else:
        print(upcoming_table(site, occurrences, first, last))
    return 0


def occurrences_in_days(site: Site, first: date, days: int) -> list[Occurrence]:
    """The occurrences from `first` 00:00 local to `days` days later 00:00 local."""
    tz = calendar.site_timezone(site.settings)
    start = calendar.resolve_local(first, time(0), tz)
    end = calendar.resolve_local(first + timedelta(days=days), time(0), tz)
    return calendar.occurrences_between(site, start, end)


def upcoming_rows(site: Site, occurrences: list[Occurrence]) -> list[dict[str, Any]]:
    """One JSON object per occurrence: when, what, to how many."""
    return [
        {
            "schedule": o.schedule.id,
            "digest": o.schedule.digest,
            "at": o.due.isoformat(),
            "recipients": len(site.audience(o.schedule.to)),
            "key": o.key,
            "on": o.on.isoformat(),
            "publication": _publication_row(o.publication),
        }
        for o in occurrences
    ]


def _publication_row(publication: Publication | None) -> dict[str, str] | None:
    if publication is None:
        return None
    return {
        "scorecard": publication.scorecard,
        "period_end": publication.period_end.isoformat(),
        "published_on": publication.published_on.isoformat(),
        "url": publication.url,
    }


def local_clock(due: datetime) -> str:
    """ "07:30 GMT", "09:00 BST": the wall time and the zone's name for it."""
    return f"{due:%H:%M} {due.tzname() or due.strftime('%z')}"


def upcoming_table(site: Site, occurrences: list[Occurrence], first: date, last: date) -> str:
    """Occurrences grouped by local day, for people."""
    span = f"{format_long_date(first)} to {format_long_date(last)}"
    if not occurrences:
        return f"Nothing is due from {span} ({site.settings.timezone})."
    width = max(len(o.schedule.id) for o in occurrences)
    digest_width = max(len(o.schedule.digest) for o in occurrences)
    lines = [f"{site.settings.name}: due from {span} ({site.settings.timezone})"]
    for day, group in groupby(occurrences, key=lambda o: o.due.date()):
        lines += ["", format_long_date(day)]
        for o in group:
            audience = count_phrase(len(site.audience(o.schedule.to)), "recipient")
            line = f"  {local_clock(o.due)}  {o.schedule.id:<{width}}  {o.schedule.digest:<{digest_width}}  {audience}"
            if o.publication is not None:
                line += f"  ({_publication_phrase(o.publication)})"
            lines.append(line)
    return "\n".join(lines)


def _publication_phrase(publication: Publication) -> str:
    return (
        f"{publication.scorecard} for the period ending {format_date(publication.period_end)}, "
        f"published {format_date(publication.published_on)}"
    )


# --- publish ------------------------------------------------------------------------


def cmd_publish(args: argparse.Namespace) -> int:
    today = local_today(args)
    publication, loaded = record_publication(
        args.site, args.scorecard, args.period_end, args.url, args.on or today, today
    )
    _warn(loaded)
    print(f"Recorded in {PUBLICATIONS}: {_publication_phrase(publication)}, {publication.url}")
    for line in publication_plan(loaded.site, publication, args.clock()):
        print(line)
    missing = missing_data(loaded, publication)
    if missing:
        print(f"Not loaded yet: {unloaded_line(publication, missing)}")
    return 0


def publication_plan(site: Site, publication: Publication, now: datetime) -> list[str]:
    """What a publication starts: each schedule's time and audience, and the deep-dive deadline."""
    tz = calendar.site_timezone(site.settings)
    starts = []
    for schedule in site.schedules:
        due = calendar.publication_fire_time(schedule, publication, site.settings, tz)
        if due is not None:
            starts.append((due, schedule.id, len(site.audience(schedule.to))))
    deadline = calendar.deep_dive_deadline(publication, site.settings)
    if not starts:
        lines = [
            f"No schedule in schedules.toml follows {publication.scorecard}: nothing is sent for it."
        ]
    else:
        lines = ["It starts:"]
        for due, schedule_id, count in sorted(starts, key=lambda s: (s[0].astimezone(UTC), s[1])):
            past = " (already past)" if due < now else ""
            lines.append(
                f"  {schedule_id}: {format_long_date(due.date())} {local_clock(due)} "
                f"to {count_phrase(count, 'recipient')}{past}"
            )
    lines.append(f"Deep-dive requests close on {format_long_date(deadline)}.")
    return lines


# --- request --------------------------------------------------------------------------


def cmd_request(args: argparse.Namespace) -> int:
    today = local_today(args)
    now = None if args.on else args.clock()  # --on says a day; without it, the time counts too
    recorded = record_request(args.site, args.measure, args.by, args.on or today, today, now)
    keep_cli_request(args, recorded)  # the store keeps every request; the CSV file too
    request = recorded.request
    what = (
        f"{recorded.recipient.name} ({request.requested_by}) asks for a deep dive on "
        f'"{recorded.measure.title}" ({request.measure}): {_publication_phrase(recorded.publication)}'
    )
    if recorded.already_recorded:
        print(
            f"Already recorded in {REQUESTS} (requested on {format_date(request.requested_on)}): "
            f"{what}; nothing was added."
        )
    else:
        print(f"Recorded in {REQUESTS}: {what}, on {format_date(request.requested_on)}.")
    print(
        "Deep-dive requests for this publication close on "
        f"{format_long_date(recorded.deadline)} at {format_clock(recorded.closes)}."
    )
    return 0
