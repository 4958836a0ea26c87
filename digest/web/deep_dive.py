"""The deep-dive request page: what is asked for, until when; Confirm stores it once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from digest.calendar import deep_dive_deadline
from digest.calendar.words import format_long_date
from digest.delivery import answers
from digest.delivery.answers import NOTE_MAX, StoredRequest
from digest.email.links import Link, deep_dive_closes_at
from digest.model import Measure, Publication, Recipient
from digest.web.confirm import queue_confirmation
from digest.web.context import Refusal, WebContext, context
from digest.web.pages import fresh_form, page, read_form

NOT_IN_PUBLICATION = "This measure is not one of the scorecard this link was sent for."


@dataclass(frozen=True)
class Asked:
    """What a deep-dive link asks for, checked against the site as it is now."""

    link: Link
    recipient: Recipient
    publication: Publication
    measure: Measure
    closes: datetime

    def values(self, ctx: WebContext) -> dict[str, object]:
        deadline = deep_dive_deadline(self.publication, ctx.site.settings)
        return {
            "recipient": self.recipient,
            "measure": self.measure,
            "publication": self.publication,
            "scorecard": self.publication.scorecard.replace("-", " ").capitalize(),
            "deadline": deadline,
            "closes_at": f"{ctx.site.settings.deep_dive_closes:%H:%M}",
            "note_max": NOTE_MAX,
        }


def asked(ctx: WebContext, token: str) -> Asked:
    """The request a link stands for, or a Refusal saying why it cannot be made."""
    link, recipient = ctx.link("deep-dive", token)
    site = ctx.site
    publication = next((p for p in site.publications if p.key == link.occurrence_key), None)
    if publication is None:
        raise Refusal(404, "Not found", "The scorecard this link was sent for is not published.")
    measure = site.measure(link.measure or "")
    if measure is None or measure.scorecard != publication.scorecard:
        raise Refusal(404, "Not in this scorecard", NOT_IN_PUBLICATION)
    closes = deep_dive_closes_at(publication, site.settings)
    found = Asked(link, recipient, publication, measure, closes)
    if ctx.clock() >= closes:
        deadline = deep_dive_deadline(publication, site.settings)
        raise Refusal(
            410,
            "Deep-dive requests have closed",
            f"Requests for deep dives on this scorecard closed at {site.settings.deep_dive_closes:%H:%M} on "
            f"{format_long_date(deadline)}. The next publication opens a new window.",
        )
    return found


def _earlier(ctx: WebContext, found: Asked) -> StoredRequest | None:
    publication = found.publication
    return answers.find_request(
        ctx.store, publication.scorecard, publication.period_end, found.measure.id,
        found.recipient.id,
    )  # fmt: skip


async def deep_dive_page(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    found = asked(ctx, token)
    earlier = _earlier(ctx, found)
    values = found.values(ctx) | {"earlier": earlier, "form_token": fresh_form(ctx, token)}
    return page(request, "deep_dive.html", values)


async def deep_dive_confirm(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    found = asked(ctx, token)
    form = await read_form(request, ctx, token)
    note = form.text("note", NOTE_MAX)
    form.use()
    kept, new = answers.record_request(
        ctx.store,
        StoredRequest(
            found.publication.scorecard, found.publication.period_end, found.measure.id,
            found.recipient.id, note, "web", ctx.clock(),
        ),
    )  # fmt: skip
    if new:
        queue_confirmation(ctx, found.recipient, found.measure, found.publication, kept)
    values = found.values(ctx) | {"kept": kept, "new": new}
    return page(request, "deep_dive_done.html", values)
