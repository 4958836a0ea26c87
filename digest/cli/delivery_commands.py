"""The commands that send: `send`, `retry` and `status`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from digest import calendar
from digest.calendar.due import find_schedule, occurrence_for
from digest.cli.site_commands import local_today, open_site
from digest.delivery import heartbeat, identity, lookup, outbox, retention, store
from digest.delivery.outbox import Claimed
from digest.delivery.service import RunOutcome, Service, delivery_workers
from digest.delivery.site import load_site
from digest.delivery.transports import transport_for
from digest.email.prepare import (
    batch_for,
    stale_shown,
    stale_statuses,
    statuses_for,
    unloaded_line,
    unloaded_publications,
)
from digest.email.trial import site_problems
from digest.errors import ConfigError, DigestError
from digest.model import Clock, Occurrence
from digest.site.load import LoadedSite

PROGRESS_FROM = 36  # a bar only for runs bigger than this, and only on a terminal


class ProgressBar:
    """A one-line bar on stderr for long sends at a terminal."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.shown = sys.stderr.isatty() and total > PROGRESS_FROM

    def __call__(self, claimed: Claimed, state: str) -> None:
        self.done += 1
        self.total = max(self.total, self.done)  # retries and alerts may join the run
        if self.shown:
            filled = 30 * self.done // self.total
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def service_for(args: argparse.Namespace) -> Service:
    """The site (refused if it has problems: never a half-right digest) and its store."""
    loaded = open_site(args, strict=True)
    state = open_own_store(args)
    return Service(loaded, state, transport_for, args.clock, lease_clock=_lease_clock(args, state),
                   workers=delivery_workers(loaded.site))  # fmt: skip


def open_own_store(args: argparse.Namespace) -> store.Store:
    """The site's store, refused when the site has sent before from another (see
    digest.delivery.identity) unless `--new-state` says to start afresh."""
    state = store.open_store(args.site)
    try:
        store.check_writable(state)
        started = identity.guard(args.site, state, args.clock(),
                                 new_state=getattr(args, "new_state", False))  # fmt: skip
    except (identity.StateLost, store.StoreUnavailable):
        state.close()
        raise
    if started:
        print(started, file=sys.stderr)
    return state


def _lease_clock(args: argparse.Namespace, state: store.Store) -> Clock | None:
    return state.now if getattr(args, "database_clock", False) else None


def cmd_send(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _dry_run(args)
    service = service_for(args)
    schedule = find_schedule(service.site, args.schedule)
    occurrence = occurrence_for(service.site, schedule, args.on or local_today(args))
    service.progress = ProgressBar(len(service.site.audience(schedule.to)))
    outcome = asyncio.run(service.run(occurrence))
    if outcome.waiting:
        print(
            f"{schedule.id} {occurrence.key}: not sent: waiting for the period's data of "
            f"{len(outcome.waiting)} measure(s): {', '.join(outcome.waiting)}",
            file=sys.stderr,
        )
        return 1
    _print_outcome(service, occurrence, outcome)
    retrying = store.counts(service.store, outcome.schedule_id, outcome.occurrence_key)["retrying"]
    if retrying:
        print(f"  {retrying} message(s) still retrying (the server said: try later); "
              "'digest run' or 'digest retry' sends them when they are due", file=sys.stderr)
    failed = outcome.delivery.failed or outcome.skipped or outcome.delivery.transport_error
    return 1 if failed or retrying else 0


def _print_outcome(service: Service, occurrence: Occurrence, outcome: RunOutcome) -> None:
    counts = store.counts(service.store, outcome.schedule_id, outcome.occurrence_key)
    states = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    name = f"{outcome.schedule_id} {occurrence.key}"
    if outcome.held:
        print(f"{name}: held, awaiting sign-off: nothing sent. Look at it with 'digest preview "
              f"{outcome.schedule_id} --on {occurrence.on}', approve it with "
              f"'digest approve {outcome.schedule_id} --on {occurrence.on} --by ID'")  # fmt: skip
    elif outcome.nothing_new and outcome.delivery.sent:
        print(f"{name}: nothing new queued ({outcome.already} already recorded); sent "
              f"{outcome.delivery.sent} that were waiting; now {states}")  # fmt: skip
    elif outcome.nothing_new:
        print(f"{name}: nothing new to send: {outcome.already} already recorded ({states})")
    else:
        print(f"{name}: {outcome.added} new message(s) queued; now {states}")
    for line in outcome.skipped:
        print(f"  skipped {line}", file=sys.stderr)
    for failure in outcome.delivery.failed:
        print(
            f"  failed {failure.recipient_id} <{failure.email}>: {failure.error}", file=sys.stderr
        )
    if outcome.delivery.transport_error:
        print(
            f"  not delivered yet: {outcome.delivery.transport_error}. Correct [delivery] (or the "
            "mail server; 'digest check --smtp' tries it), then 'digest retry' sends what waits",
            file=sys.stderr,
        )
    for title in service.raised:
        print(f"  alert raised: {title}", file=sys.stderr)


def _dry_run(args: argparse.Namespace) -> int:
    loaded = open_site(args, strict=True)
    schedule = find_schedule(loaded.site, args.schedule)
    occurrence = occurrence_for(loaded.site, schedule, args.on or local_today(args))
    statuses = statuses_for(loaded, occurrence.on)
    batch = batch_for(loaded, occurrence, statuses=statuses)
    states = _states_of(args, occurrence)
    count = new = 0
    for rendered in batch:
        message = rendered.outgoing
        state = states.get(message.delivery_key)
        who = f"{message.recipient.id} <{message.recipient.email}>"
        if state is None:
            print(f"would send to {who} (new): {message.subject}")
            new += 1
        else:
            print(f"would not send to {who}: already {state}")
        count += 1
    for problem in batch.problems:
        print(f"would skip {problem}", file=sys.stderr)
    stale = stale_shown(occurrence, statuses)
    if stale:
        print(f"would alert: {len(stale)} stale measure(s)", file=sys.stderr)
    print(f"{schedule.id} {occurrence.key}: {new} new of {count} message(s) "
          "(dry run: nothing sent or recorded)")  # fmt: skip
    return 0


def _states_of(args: argparse.Namespace, occurrence: Occurrence) -> dict[str, str]:
    """What the store already holds for the occurrence, without creating a store."""
    existing = lookup.existing_store(args.site)
    if existing is None:
        return {}
    try:
        return lookup.delivery_states(existing, occurrence.schedule.id, occurrence.key)
    finally:
        existing.close()


def cmd_retry(args: argparse.Namespace) -> int:
    service = service_for(args)
    now = args.clock()
    recovered = outbox.recover(service.store, now)
    requeued = outbox.requeue_failed(service.store, now) if args.failed else 0
    outbox.retry_now(service.store, now)  # asked to try again: not at its next turn
    report = asyncio.run(service.deliver())
    print(
        f"retry: {report.sent} sent, {report.retrying} still retrying, {len(report.failed)} failed"
        + (f"; {recovered} interrupted send(s) resumed" if recovered else "")
        + (f"; {requeued} failed message(s) tried again" if requeued else "")
    )
    if report.transport_error:
        print(f"  not delivered: {report.transport_error}", file=sys.stderr)
    return 1 if report.failed or report.transport_error else 0


def cmd_status(args: argparse.Namespace) -> int:
    problems: list[str] = []
    try:
        loaded = load_site(args.site, local_today(args))
        # What check finds (templates too): what send and run would refuse.
        problems.extend(str(p) for p in site_problems(loaded, local_today(args)))
        site = loaded.site
    except ConfigError as exc:
        problems.extend(str(p) for p in exc.problems)
        site = None
    if site is not None:
        problems.extend(_stale_problems(loaded, local_today(args)))
        problems.extend(
            f"waiting for data: {unloaded_line(p, missing)}"
            for p, missing in unloaded_publications(loaded)
        )
    state = store.open_store(args.site, reading=True)
    if (lost := identity.lost_store_problem(args.site, state)) is not None:
        problems.insert(0, lost)
    if state.read_only:
        problems.insert(0, f"{state.where}: can be read but "
                        "not written: send and run refuse to start until the user running "
                        "digest may write it and its folder")  # fmt: skip
    report = _status(state, site, problems, args.clock())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(_status_text(report))
    return 1 if report["problems"] else 0


def _stale_problems(loaded: LoadedSite, today: date) -> list[str]:
    """Measures whose figures are not current: the team must load them before they are shown."""
    return [
        f"stale: {s.measure.id} ({s.measure.title}): latest figures are for "
        f"{s.period_end.isoformat() if s.period_end else 'no period'}; newer ones are due"
        for s in stale_statuses(loaded, today)
    ]


def _status(state: store.Store, site: Any, problems: list[str], now: datetime) -> dict[str, Any]:
    zone = calendar.site_timezone(site.settings) if site is not None else None
    recent = store.recent_runs(state, 10)
    running = {r.holder for r in recent if r.outcome == "running" and r.holder}
    dead = heartbeat.dead_holders(state, running, state.now()) if running else set()
    shown = [_interrupted(r) if r.holder in dead and r.outcome == "running" else r for r in recent]
    runs = [_run_row(r, zone) for r in shown]
    problems.extend(
        f"interrupted: {r.schedule_id} {r.occurrence_key}: its process stopped before it "
        "finished; the next run finishes it (or 'digest retry' sends what it queued)"
        for r in shown
        if r.outcome == heartbeat.INTERRUPTED
        and not store.has_run(state, r.schedule_id, r.occurrence_key, finished=True)
    )
    deliveries = store.counts(state)
    if (down := store.transport_problem(state)) is not None:
        waiting = sum(deliveries.get(s, 0) for s in ("pending", "retrying", "sending"))
        since = down.started_at.astimezone(zone).isoformat(timespec="minutes") if zone else down.started_at
        problems.append(
            f"nothing can be delivered since {since}: {down.detail}; {waiting} message(s) "
            "waiting. Correct [delivery] (or the mail server); 'digest check --smtp' tries it, "
            "and the next run or 'digest retry' sends them"
        )
    if deliveries.get("failed"):
        problems.append(
            f"{deliveries['failed']} delivery(ies) failed: 'digest retry --failed' tries again"
        )
        problems.extend(
            f"failed: {f.schedule_id} {f.occurrence_key} to {f.recipient_id} <{f.email}>: {f.error}"
            for f in lookup.failed_deliveries(state)
        )
    problems.extend(
        f"could not be composed: {r.schedule_id} {r.occurrence_key}: {r.detail} (tried again "
        "as soon as the file is corrected)"
        for r in store.broken_runs(state)
    )
    upcoming = []
    if site is not None:
        for occurrence in calendar.occurrences_between(site, now, now + timedelta(days=7))[:5]:
            upcoming.append({
                "schedule": occurrence.schedule.id, "digest": occurrence.schedule.digest,
                "at": occurrence.due.isoformat(), "key": occurrence.key,
                "recipients": len(site.audience(occurrence.schedule.to)),
            })  # fmt: skip
    purged = retention.purged_totals(state)
    return {"deliveries": deliveries, "runs": runs, "next": upcoming, "problems": problems,
            "purged": {"messages": purged.messages, "records": purged.records}}  # fmt: skip


def _interrupted(run: store.RunRecord) -> store.RunRecord:
    """A run whose process died, as the next run will record it."""
    return dataclasses.replace(run, outcome=heartbeat.INTERRUPTED)


def _run_row(run: store.RunRecord, zone: tzinfo | None) -> dict[str, Any]:
    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat() if moment else None

    return {
        "schedule": run.schedule_id,
        "occurrence": run.occurrence_key,
        "started_at": local(run.started_at),
        "finished_at": local(run.finished_at),
        "outcome": run.outcome,
        "added": run.added,
        "already": run.already,
        "sent": run.sent,
        "failed": run.failed,
        "detail": run.detail,
    }


def _status_text(report: dict[str, Any]) -> str:
    lines = [
        "Deliveries: "
        + (", ".join(f"{n} {s}" for s, n in report["deliveries"].items() if n) or "none yet")
    ]
    lines.append("")
    lines.append("Recent runs:" if report["runs"] else "Recent runs: none yet")
    for run in report["runs"]:
        lines.append(
            f"  {run['started_at'][:16].replace('T', ' ')}  {run['schedule']} {run['occurrence']}: "
            f"{run['outcome']} ({run['added']} new, {run['sent']} sent, {run['failed']} failed)"
        )
    lines.append("")
    lines.append("Next:" if report["next"] else "Next: nothing in the coming week")
    for item in report["next"]:
        lines.append(
            f"  {item['at'][:16].replace('T', ' ')}  {item['schedule']} to {item['recipients']}"
        )
    lines.append("")
    purged = report["purged"]
    lines.append(f"Purged by [retention]: {purged['messages']} message(s), {purged['records']} record(s)")
    lines.append("")
    lines.append("Problems:" if report["problems"] else "Problems: none")
    lines.extend(f"  {p}" for p in report["problems"])
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from digest.schedule.daemon import Daemon, Runner

    try:
        loaded = open_site(args, strict=True)
    except DigestError as exc:
        _tell_not_started(args, exc)
        raise
    state = open_own_store(args)
    daemon = Daemon.start(loaded, state, transport_for, args.clock, _lease_clock(args, state))
    daemon.service.workers = delivery_workers(loaded.site)
    asyncio.run(_serve(Runner(daemon, args.clock)))
    return 0


def _tell_not_started(args: argparse.Namespace, refused: DigestError) -> None:
    """A service manager's restarts go to a log: the team is told by email, when it can be."""
    from digest.delivery.startup import tell_not_started

    problems = [str(p) for p in refused.problems] if isinstance(refused, ConfigError) else [str(refused)]
    told = tell_not_started(args.site, local_today(args), problems, args.clock)
    print(f"digest run: did not start; {told.line}", file=sys.stderr)


async def _serve(runner: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runner.serve(stop)
