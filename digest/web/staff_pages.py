"""The team's pages: what is held and due, recent runs and failures (sent again), sign-off,
the audit."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from digest import calendar
from digest.delivery import approval, audit, lookup, outbox, store
from digest.delivery.audit import HistoryQuery
from digest.delivery.service import Service
from digest.delivery.transports import transport_for
from digest.errors import DigestError
from digest.model import Occurrence
from digest.web.context import Refusal, WebContext, asked_date, context
from digest.web.pages import page
from digest.web.staff_auth import check_staff_post, signed_in, staff_form

log = logging.getLogger("digest.web")
DUE_DAYS = 21
FAILURES_SHOWN = 50
HISTORY_SHOWN = 200
MAX_QUERY = 100  # no id or date is longer


def _held(ctx: WebContext) -> list[tuple[str, str]]:
    """(schedule, occurrence) of held runs with nothing queued since."""
    found: dict[tuple[str, str], None] = {}
    for run in store.recent_runs(ctx.store, limit=200):
        if run.outcome == "held":
            counts = store.counts(ctx.store, run.schedule_id, run.occurrence_key)
            if not any(counts.values()):
                found.setdefault((run.schedule_id, run.occurrence_key), None)
    return list(found)


def _occurrence(ctx: WebContext, schedule_id: str, key: str) -> Occurrence | None:
    now = ctx.clock()
    for occurrence in calendar.occurrences_between(ctx.site, now - timedelta(days=90), now):
        if (occurrence.schedule.id, occurrence.key) == (schedule_id, key):
            return occurrence
    return None


def _due(ctx: WebContext, occurrences: list[Occurrence]) -> list[dict[str, Any]]:
    """One line per schedule's next occurrence; a schedule due often (the daily email)
    says how many more follow, instead of a line for each."""
    by_schedule: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        by_schedule.setdefault(occurrence.schedule.id, []).append(occurrence)
    lines = []
    for found in by_schedule.values():
        shown = found if len(found) <= 2 else found[:1]
        for o in shown:
            lines.append({"schedule": o.schedule.id, "key": o.key, "at": o.due,
                          "due": f"{ctx.local(o.due):%d %b %Y %H:%M}",
                          "sign_off": bool(o.schedule.sign_off),
                          "more": len(found) - 1 if len(shown) == 1 and len(found) > 2 else 0,
                          "last": f"{ctx.local(found[-1].due):%d %b}"})  # fmt: skip
    return sorted(lines, key=lambda line: line["at"])


def _home_values(ctx: WebContext, request: Request) -> dict[str, Any]:
    person = signed_in(request)
    held = []
    for schedule_id, key in _held(ctx):
        occurrence = _occurrence(ctx, schedule_id, key)
        if occurrence is not None:
            held.append({"schedule": schedule_id, "key": key, "on": occurrence.on.isoformat(),
                         "due": f"{ctx.local(occurrence.due):%d %b %Y %H:%M}",
                         "form": staff_form(ctx, person)})  # fmt: skip
    now = ctx.clock()
    due = _due(ctx, calendar.occurrences_between(ctx.site, now, now + timedelta(days=DUE_DAYS)))
    runs = [{"schedule": r.schedule_id, "key": r.occurrence_key, "outcome": r.outcome,
             "started": f"{ctx.local(r.started_at):%d %b %H:%M}", "sent": r.sent,
             "failed": r.failed, "detail": r.detail} for r in store.recent_runs(ctx.store)]  # fmt: skip
    failures = [{"failure": f, "form": staff_form(ctx, person)}
                for f in lookup.failed_deliveries(ctx.store, limit=FAILURES_SHOWN)]  # fmt: skip
    return {"title": "The team's pages", "person": person, "held": held, "due": due[:30],
            "runs": runs, "failures": failures, "sign_out": staff_form(ctx, person),
            "nav": "home"}  # fmt: skip


async def home(request: Request) -> Response:
    ctx = context(request)
    return page(request, "staff_home.html", _home_values(ctx, request))


async def history_page(request: Request) -> Response:
    """The audit, filtered as `digest history` is: recipient, schedule, from and to dates."""
    ctx = context(request)
    signed_in(request)
    asked = {name: request.query_params.get(name, "").strip()[:MAX_QUERY]
             for name in ("recipient", "schedule", "from", "to")}  # fmt: skip
    query = HistoryQuery.of_days(
        ZoneInfo(ctx.site.settings.timezone), asked["recipient"] or None,
        asked["schedule"] or None, _day(asked["from"], "From"), _day(asked["to"], "To"),
    )  # fmt: skip
    entries = audit.history(ctx.store, query, limit=HISTORY_SHOWN)
    values = {"title": "The audit", "entries": entries, "asked": asked, "nav": "history",
              "schedules": [s.id for s in ctx.site.schedules], "shown": HISTORY_SHOWN,
              "local": ctx.local}  # fmt: skip
    return page(request, "staff_history.html", values)


def _day(text: str, name: str) -> date | None:
    """A date from the audit's form, or a 400 saying how to write it."""
    return asked_date(text, name) if text else None


async def message_eml(request: Request) -> Response:
    ctx = context(request)
    signed_in(request)
    raw = audit.raw_message(ctx.store, int(request.path_params["id"]))
    if raw is None:
        raise Refusal(404, "Not kept", "This message was purged, or never recorded.")
    name = f"message-{request.path_params['id']}.eml"
    return Response(raw, media_type="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _service(ctx: WebContext) -> Service:
    return Service(ctx.loaded(), ctx.store, transport_for, ctx.clock)


async def approve(request: Request) -> Response:
    """Approve (and send, when due) or hold an occurrence, as `digest approve` does."""
    ctx = context(request)
    person, form = await check_staff_post(request)
    service = _service(ctx)
    schedule = service.site.schedule(form.get("schedule", ""))
    try:
        on = date.fromisoformat(form.get("on", ""))
    except ValueError:
        on = None
    occurrence = calendar.occurrence_on(service.site, schedule, on) if schedule and on else None
    if occurrence is None:
        raise Refusal(400, "Not found", "There is no such occurrence to sign off.")
    try:
        if form.get("action") == "hold":
            approval.hold(service, occurrence, person.id)
        else:
            await approval.approve(service, occurrence, person.id)
    except DigestError as exc:
        raise Refusal(403, "Not allowed", str(exc)) from None
    await asyncio.sleep(0)
    return RedirectResponse("../staff", status_code=303)


async def send_again(request: Request) -> Response:
    """Send a failed message again, as `digest retry --failed` does, for that one message."""
    ctx = context(request)
    person, form = await check_staff_post(request)
    try:
        delivery_id = int(form.get("delivery", ""))
    except ValueError:
        raise Refusal(400, "Not found", "There is no such message to send again.") from None
    if not outbox.requeue_failed(ctx.store, ctx.clock(), delivery_id=delivery_id):
        raise Refusal(409, "Not failed any more", "This message is no longer failed (it was "
                      "sent again already, or purged): open the team's pages again.")  # fmt: skip
    log.info("delivery %d queued again by %s", delivery_id, person.id)
    await _service(ctx).deliver()
    return RedirectResponse("../staff", status_code=303)
