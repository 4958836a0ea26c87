"""Preview any schedule on any date, for any of its recipients, from the same code that sends.

Nothing is queued or recorded: the messages are rendered as a run would render them
(the store's requests, themes and last digests read, never written) and shown in a
sandboxed frame under a policy that lets nothing run.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.calendar.due import find_schedule, occurrence_for
from digest.delivery import answers
from digest.delivery.shown import last_sent
from digest.email.prepare import batch_for
from digest.email.render import RenderedMessage
from digest.errors import UsageError
from digest.model import Occurrence
from digest.web.context import Refusal, WebContext, asked_date, context
from digest.web.pages import page
from digest.web.security import PAGE_WITH_PREVIEW_POLICY, PREVIEW_POLICY
from digest.web.staff_auth import signed_in
from digest.web.view import message_html

MAX_ID = 100  # ids are [a-z0-9-]+, far shorter


@dataclass(frozen=True)
class Asked:
    """What the preview form asks for, as typed (bounded)."""

    schedule: str
    on: str
    recipient: str

    @classmethod
    def of(cls, request: Request) -> Asked:
        names = ("schedule", "on", "recipient")
        values = [request.query_params.get(name, "").strip() for name in names]
        if any(len(v) > MAX_ID for v in values):
            raise Refusal(400, "Too long", "A schedule or recipient id is at most 100 characters "
                          "and a date is written YYYY-MM-DD: correct the form.")  # fmt: skip
        return cls(*values)

    def query(self) -> str:
        return urlencode({"schedule": self.schedule, "on": self.on, "recipient": self.recipient})


@dataclass(frozen=True)
class Preview:
    occurrence: Occurrence
    rendered: RenderedMessage


def render_preview(ctx: WebContext, asked: Asked) -> Preview:
    """One recipient's message as a run would render it now, or a refusal saying why not."""
    loaded = answers.with_answers(ctx.loaded(), ctx.store)  # as a run reads them
    site = loaded.site
    on = asked_date(asked.on, "The date")
    try:
        schedule = find_schedule(site, asked.schedule)
        occurrence = occurrence_for(site, schedule, on)
    except UsageError as exc:
        raise Refusal(404, "Nothing to preview", f"{exc}. Choose another schedule or date.") from None
    audience = [r.id for r in site.audience(schedule.to)]
    chosen = asked.recipient or (audience[0] if audience else "")
    if chosen not in audience:
        raise Refusal(404, "Not a recipient", f'"{chosen}" does not receive {schedule.id}: choose '
                      f"one of {', '.join(audience) or 'nobody (no one receives it)'}.")  # fmt: skip
    batch = batch_for(loaded, occurrence, recipient_ids=[chosen],
                      last_sent=last_sent(ctx.store, occurrence))  # fmt: skip
    rendered = next(iter(batch), None)
    if rendered is None:
        reasons = "; ".join(str(p) for p in batch.problems) or "nothing was rendered"
        raise Refusal(422, "Not sent to this recipient", f"{reasons}. Correct recipients.toml.")
    return Preview(occurrence, rendered)


def _form_values(ctx: WebContext, asked: Asked) -> dict[str, object]:
    site = ctx.site
    return {
        "title": "Preview", "nav": "preview", "wide": True, "asked": asked,
        "schedules": [s.id for s in site.schedules],
        "recipients": [(r.id, r.name) for r in site.recipients if r.active],
        "on": asked.on or ctx.today().isoformat(),
    }  # fmt: skip


async def preview_page(request: Request) -> Response:
    """The form, and the chosen message in a frame; a mistake is said on the page, 4xx."""
    ctx = context(request)
    signed_in(request)
    asked, shown, status = Asked("", "", ""), {}, 200
    try:
        asked = Asked.of(request)
        if asked.schedule:
            shown = {"preview": render_preview(ctx, asked), "frame": f"preview/email?{asked.query()}"}
    except Refusal as refusal:
        shown, status = {"problem": refusal}, refusal.status
    values = {**_form_values(ctx, asked), **shown}
    response = page(request, "staff_preview.html", values, status=status)
    response.headers["Content-Security-Policy"] = PAGE_WITH_PREVIEW_POLICY
    return response


async def preview_email(request: Request) -> Response:
    """The chosen message's HTML as it would be sent, its charts inline; nothing runs."""
    ctx = context(request)
    signed_in(request)
    preview = render_preview(ctx, Asked.of(request))
    html = message_html(preview.rendered.outgoing.raw) or "<p>This message has no HTML part.</p>"
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_POLICY,
                                       "X-Frame-Options": "SAMEORIGIN"})  # fmt: skip
