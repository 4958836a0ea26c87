"""`digest serve` (members' answers on the web) and `digest answers` (what they sent back)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, date, datetime, time
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from digest import calendar
from digest.cli.site_commands import open_site
from digest.delivery import answers, store
from digest.delivery.answers import StoredFeedback, StoredRequest
from digest.email.links import secret_problem
from digest.errors import ConfigError, DigestError
from digest.site.recording import RecordedRequest
from digest.site.web import WebSettings, read_web

SECRET_ENV = "DIGEST_SECRET_KEY"


def web_settings(args: argparse.Namespace) -> tuple[WebSettings, str]:
    """`[web]` and the signing key, or a one-line refusal."""
    web, problems = read_web(args.site)
    if problems:
        raise ConfigError(problems)
    if web is None:
        raise DigestError(
            'schedules.toml has no [web] table: add [web] with base_url = "https://..."'
        )
    secret = os.environ.get(SECRET_ENV, "")
    problem = secret_problem(secret)
    if problem:
        raise DigestError(problem)
    return web, secret


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from digest.web.app import create_app
    from digest.web.context import SiteSource, WebContext

    web, secret = web_settings(args)
    open_site(args, strict=True)  # refuse a site with problems before listening
    source = SiteSource(args.site, args.clock)
    context = WebContext(source, web, secret, store.open_store(args.site), args.clock)
    logging.getLogger("digest.web").setLevel(logging.INFO)
    print(f"digest serve: listening on http://{args.host}:{args.port} for {web.base_url}",
          file=sys.stderr)  # fmt: skip
    # access_log off: its lines would carry the tokens; digest.web logs the route instead.
    uvicorn.run(
        create_app(context), host=args.host, port=args.port, access_log=False,
        server_header=False, proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
        log_level="info",
    )  # fmt: skip
    return 0


def keep_cli_request(args: argparse.Namespace, recorded: RecordedRequest) -> None:
    """`digest request` keeps its request in the store too, as the web pages do."""
    request = recorded.request
    tz = ZoneInfo(_site_timezone(args))
    now: datetime = args.clock()
    when = now if now.astimezone(tz).date() == request.requested_on else _local_noon(
        request.requested_on, tz
    )
    opened = store.open_store(args.site)
    try:
        answers.record_request(opened, StoredRequest(
            request.scorecard, request.period_end, request.measure, request.requested_by,
            "", "cli", when,
        ))  # fmt: skip
    finally:
        opened.close()


def _site_timezone(args: argparse.Namespace) -> str:
    from digest.site.config import read_config

    settings = read_config(args.site).settings
    return settings.timezone if settings else "UTC"


def _local_noon(day: date, tz: ZoneInfo) -> datetime:
    return calendar.resolve_local(day, time(12), tz).astimezone(UTC)


# --- answers -----------------------------------------------------------------------


def cmd_answers(args: argparse.Namespace) -> int:
    loaded = open_site(args)
    tz = ZoneInfo(loaded.site.settings.timezone)
    since = calendar.resolve_local(args.start, time(0), tz) if args.start else None
    opened = store.open_store(args.site)
    try:
        stored = answers.requests(opened, since)
        given = answers.feedback(opened, since)
        themes = answers.theme_choices(opened, since)
    finally:
        opened.close()
    if args.json:
        report = answers_json(stored, given, themes)
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(answers_text(stored, given, themes, tz))
    return 0


def answers_json(
    requests: list[StoredRequest],
    feedback: list[StoredFeedback],
    themes: list[answers.StoredThemes],
) -> dict[str, list[dict[str, Any]]]:
    """`answers --json`: requests, feedback and themes, each naming recipient and when."""
    return {
        "requests": [
            {
                "recipient": r.recipient_id,
                "publication": f"{r.scorecard}:{r.period_end.isoformat()}",
                "scorecard": r.scorecard,
                "period_end": r.period_end.isoformat(),
                "measure": r.measure,
                "note": r.note,
                "channel": r.channel,
                "at": r.requested_at.isoformat(),
            }
            for r in requests
        ],
        "feedback": [
            {
                "recipient": f.recipient_id,
                "schedule": f.schedule_id,
                "occurrence": f.occurrence_key,
                "useful": f.useful,
                "comment": f.comment,
                "at": f.answered_at.isoformat(),
            }
            for f in feedback
        ],
        "themes": [
            {"recipient": t.recipient_id, "themes": list(t.themes), "at": t.chosen_at.isoformat()}
            for t in themes
        ],
    }


def answers_text(
    requests: list[StoredRequest],
    feedback: list[StoredFeedback],
    themes: list[answers.StoredThemes],
    tz: ZoneInfo,
) -> str:
    """The same for people: requests by publication, feedback by schedule and month."""
    lines = [f"Deep-dive requests ({len(requests)})"]
    ordered = sorted(requests, key=lambda r: (r.scorecard, r.period_end, r.measure))
    for (scorecard, period_end), asked in groupby(ordered, lambda r: (r.scorecard, r.period_end)):
        lines.append(f"  {scorecard} {period_end.isoformat()}")
        for r in asked:
            note = f": {r.note}" if r.note else ""
            lines.append(f"    {r.measure} by {r.recipient_id}, {_when(r.requested_at, tz)} "
                         f"({r.channel}){note}")  # fmt: skip
    lines += ["", f"Was this useful? ({len(feedback)})", *_feedback_lines(feedback, tz)]
    lines += ["", f"Theme choices ({len(themes)})"]
    for t in themes:
        chosen = ", ".join(t.themes) or "none"
        lines.append(f"  {t.recipient_id}: {chosen} ({_when(t.chosen_at, tz)})")
    return "\n".join(lines)


def _feedback_lines(feedback: list[StoredFeedback], tz: ZoneInfo) -> list[str]:
    def month_of(answer: StoredFeedback) -> tuple[str, str]:
        return answer.schedule_id, answer.answered_at.astimezone(tz).strftime("%Y-%m")

    lines = []
    for (schedule_id, month), group in groupby(sorted(feedback, key=month_of), month_of):
        answered = list(group)
        yes = sum(1 for f in answered if f.useful)
        lines.append(f"  {schedule_id} {month}: {yes} yes, {len(answered) - yes} no")
        lines += [f"    {f.recipient_id}: {f.comment}" for f in answered if f.comment]
    return lines


def _when(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M")
