"""The team's commands: `approve` (sign-off) and `history` (the audit)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from zoneinfo import ZoneInfo

from digest.calendar.due import find_schedule, occurrence_for
from digest.cli.delivery_commands import service_for
from digest.cli.site_commands import local_today
from digest.delivery import approval, audit, lookup, retention, store
from digest.delivery.audit import HistoryEntry, HistoryQuery
from digest.site.config import read_config
from digest.site.retention import read_retention


def cmd_approve(args: argparse.Namespace) -> int:
    service = service_for(args)
    schedule = find_schedule(service.site, args.schedule)
    occurrence = occurrence_for(service.site, schedule, args.on or local_today(args))
    done = asyncio.run(approval.approve(service, occurrence, args.by))
    name = f"{schedule.id} {occurrence.key}"
    print(f"{name}: approved by {args.by} (content {done.content_hash[:12]})")
    if done.run is None:
        print(f"  it is sent at its time, {occurrence.due.isoformat(timespec='minutes')}, "
              "if its figures are still these")  # fmt: skip
        return 0
    counts = store.counts(service.store, schedule.id, occurrence.key)
    states = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    if done.run.held:
        print(f"  still held: the figures changed while approving; approve again ({states})")
        return 1
    print(f"  {done.run.added} new message(s) queued; now {states}")
    return 1 if done.run.delivery.failed or done.run.delivery.transport_error else 0


def history_query(args: argparse.Namespace) -> HistoryQuery:
    settings = read_config(args.site).settings
    zone = ZoneInfo(settings.timezone if settings else "UTC")
    return HistoryQuery.of_days(zone, args.recipient, args.schedule, args.start, args.end)


def cmd_history(args: argparse.Namespace) -> int:
    existing = lookup.existing_store(args.site)
    entries = audit.history(existing, history_query(args)) if existing else []
    if existing is not None:
        existing.close()
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2, ensure_ascii=False))
        return 0
    for entry in entries:
        print(_line(entry))
    if not entries:
        print("no messages recorded that match")
    return 0


def _line(entry: HistoryEntry) -> str:
    when = (entry.sent_at or entry.created_at).isoformat(timespec="minutes")
    shown = len(json.loads(entry.figures or "[]") or [])
    error = f": {entry.last_error}" if entry.last_error else ""
    return (f"{when}  {entry.state:<8} {entry.schedule_id} {entry.occurrence_key}  "
            f"{entry.recipient_id} <{entry.email}>  {entry.subject!r} "
            f"({shown} figure(s)){error}")  # fmt: skip


def cmd_purge(args: argparse.Namespace) -> int:
    kept, problems = read_retention(args.site)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    state = store.open_store(args.site)
    try:
        purged = retention.purge(state, kept, args.clock())
    finally:
        state.close()
    print(f"purge: {purged.messages} message(s) emptied of their bytes, "
          f"{purged.records} record(s) deleted")  # fmt: skip
    return 0
