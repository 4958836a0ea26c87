"""What each CLI command does; cli.py only parses and maps errors to exit codes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.calendar.due import find_schedule, occurrence_for
from digest.cli.report import indicator_rows, indicators_table, measure_explanation
from digest.delivery.lookup import existing_store
from digest.delivery.shown import last_sent, last_shown
from digest.delivery.site import load_site
from digest.delivery.transports import transport_for
from digest.email.prepare import batch_for, statuses_for, unloaded_line, unloaded_publications
from digest.email.trial import site_problems
from digest.errors import ConfigError, DeliveryError, UsageError
from digest.model import Clock, Site
from digest.site.load import LoadedSite


def local_today(args: argparse.Namespace) -> date:
    """Today in the site's timezone by the command's clock (UTC when the timezone cannot be read yet)."""
    from digest.site.config import read_config

    settings = read_config(args.site).settings
    zone = ZoneInfo(settings.timezone) if settings else UTC
    clock: Clock = args.clock
    return clock().astimezone(zone).date()


def open_site(args: argparse.Namespace, *, strict: bool = False) -> LoadedSite:
    """Load the site; warn of problems on stderr, or refuse them when `strict`."""
    loaded = load_site(args.site, local_today(args), require_key=strict)
    if strict and (problems := site_problems(loaded, local_today(args))):
        raise ConfigError(problems)
    for problem in loaded.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return loaded


def cmd_check(args: argparse.Namespace) -> int:
    try:
        loaded = load_site(args.site, local_today(args))
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = site_problems(loaded, local_today(args))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
        return 1
    site = loaded.site
    if getattr(args, "smtp", False) and (failure := _probe(site)) is not None:
        print(f"{site.delivery.file}:{site.delivery.line}: [delivery] cannot deliver: {failure}")
        print("1 problem found", file=sys.stderr)
        return 1
    print(
        f"{site.settings.name}: {len(site.recipients)} recipients, {len(site.schedules)} schedules, "
        f"{len(site.measures)} measures, {len(loaded.observations)} observations, "
        f"{len(site.publications)} publications: all good",
        file=sys.stderr,
    )
    for publication, missing in unloaded_publications(loaded):  # not an error: a state
        print(f"note: {unloaded_line(publication, missing)}")
    return 0


def _probe(site: Site) -> str | None:
    """What stops the configured transport from delivering, or None (and a line saying so)."""
    transport = transport_for(site)
    try:
        asyncio.run(transport.probe())
    except DeliveryError as error:
        return str(error)
    print(f"delivery: {site.delivery.transport} works: connected, secured, logged in and the "
          "sender accepted as configured (nothing sent)", file=sys.stderr)  # fmt: skip
    return None


def cmd_indicators(args: argparse.Namespace) -> int:
    loaded = open_site(args)
    on = args.on or local_today(args)
    statuses = statuses_for(loaded, on, _last_shown(loaded.site.root))
    if args.measure:
        chosen = [s for s in statuses if s.measure.id == args.measure]
        if not chosen:
            raise UsageError(f'no measure "{args.measure}" in data/measures.csv')
        print(measure_explanation(chosen[0]))
    elif args.json:
        print(json.dumps(indicator_rows(statuses), indent=2, ensure_ascii=False))
    else:
        print(indicators_table(statuses, on))
    return 0


def _last_shown(root: Path) -> dict[str, dict[str, float]]:
    """What digests last showed, from the store if the site has one (never creating it)."""
    store = existing_store(root)
    return last_shown(store) if store is not None else {}


def cmd_preview(args: argparse.Namespace) -> int:
    loaded = open_site(args)
    site = loaded.site
    schedule = find_schedule(site, args.schedule)
    occurrence = occurrence_for(site, schedule, args.on or local_today(args))
    if args.recipient and site.recipient(args.recipient) is None:
        raise UsageError(f'no recipient "{args.recipient}" in recipients.toml')
    recipients = [args.recipient] if args.recipient else None
    store = existing_store(site.root)
    previous = last_sent(store, occurrence) if store is not None else {}
    batch = batch_for(loaded, occurrence, recipient_ids=recipients, last_sent=previous)
    out: Path = args.out if args.out.is_absolute() else Path.cwd() / args.out
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for rendered in batch:
        stem = out / f"{schedule.id}-{occurrence.on.isoformat()}-{rendered.outgoing.recipient.id}"
        stem.with_suffix(".html").write_text(rendered.html, encoding="utf-8")
        stem.with_suffix(".txt").write_text(rendered.text, encoding="utf-8")
        stem.with_suffix(".eml").write_bytes(rendered.outgoing.raw)
        written += 1
    for problem in batch.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    print(
        f"{written} message{'s' if written != 1 else ''} written to {out} (nothing sent, nothing recorded)"
    )
    return 0 if written and not batch.problems else 1
