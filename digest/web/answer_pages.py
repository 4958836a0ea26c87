"""Was this useful? (Yes / No with a comment) and the themes a member follows."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from digest.delivery import answers, store
from digest.delivery.answers import NOTE_MAX, StoredFeedback
from digest.email.links import Link
from digest.model import Recipient, delivery_key
from digest.web.context import Refusal, WebContext, context
from digest.web.pages import fresh_form, page, read_form

ANSWERS = {"yes": True, "no": False}


def _subject(ctx: WebContext, link: Link) -> str:
    key = delivery_key(link.schedule_id, link.occurrence_key, link.recipient_id)
    stored = store.stored_message(ctx.store, key)
    return stored.subject if stored is not None else link.schedule_id


async def feedback_page(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    link, recipient = ctx.link("feedback", token)
    chosen = request.query_params.get("answer", "")
    values = {
        "recipient": recipient,
        "subject": _subject(ctx, link),
        "chosen": chosen if chosen in ANSWERS else "",
        "note_max": NOTE_MAX,
        "form_token": fresh_form(ctx, token),
    }
    return page(request, "feedback.html", values)


async def feedback_answer(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    link, recipient = ctx.link("feedback", token)
    form = await read_form(request, ctx, token)
    answer = form.data.get("answer")
    if not isinstance(answer, str) or answer not in ANSWERS:
        raise Refusal(400, "No answer chosen", "Please choose Yes or No.")
    comment = form.text("comment", NOTE_MAX)
    form.use()
    answers.record_feedback(
        ctx.store,
        StoredFeedback(
            link.schedule_id, link.occurrence_key, recipient.id, ANSWERS[answer], comment,
            ctx.clock(),
        ),
    )  # fmt: skip
    values = {"recipient": recipient, "useful": ANSWERS[answer], "comment": comment}
    return page(request, "feedback_done.html", values)


def _themes(ctx: WebContext) -> list[str]:
    return sorted({t for m in ctx.site.measures for t in m.themes})


def _following(ctx: WebContext, recipient: Recipient) -> tuple[str, ...]:
    chosen = answers.theme_choice(ctx.store, recipient.id)
    return chosen.themes if chosen is not None else recipient.themes


async def themes_page(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    _, recipient = ctx.link("themes", token)
    values = {
        "recipient": recipient,
        "themes": _themes(ctx),
        "following": set(_following(ctx, recipient)),
        "form_token": fresh_form(ctx, token),
    }
    return page(request, "themes.html", values)


async def themes_choose(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    _, recipient = ctx.link("themes", token)
    form = await read_form(request, ctx, token)
    known = _themes(ctx)
    chosen = [t for t in form.data.getlist("theme") if isinstance(t, str)]
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise Refusal(400, "Unknown theme", "One of the themes sent is not a theme we report.")
    form.use()
    themes = tuple(t for t in known if t in chosen)
    answers.choose_themes(ctx.store, recipient.id, themes, ctx.clock())
    return page(request, "themes_done.html", {"recipient": recipient, "following": themes})
