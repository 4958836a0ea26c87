"""What every page shares: its templates, the plain refusal page, and reading a sent form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from digest.calendar.words import format_date, format_long_date
from digest.delivery import answers
from digest.email.links import LinkError
from digest.web.context import Refusal, WebContext, context
from digest.web.forms import FORM_FIELD, check_form_token, form_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["date"] = format_date
TEMPLATES.env.filters["long_date"] = format_long_date
MAX_FIELDS = 40
MAX_PART_BYTES = 8 * 1024


def page(request: Request, name: str, values: dict[str, Any], status: int = 200) -> Response:
    """A page of ours, with the site's name."""
    ctx = context(request)
    values = {"site_name": ctx.site.settings.name, "form_field": FORM_FIELD, **values}
    return TEMPLATES.TemplateResponse(request, name, values, status_code=status)


def fresh_form(ctx: WebContext, link_token: str) -> str:
    """A form token for a page shown now."""
    return form_token(ctx.secret, link_token, ctx.clock())


async def refusal_page(request: Request, exc: Exception) -> Response:
    """A plain page with a 4xx status: what went wrong, in words; never a traceback."""
    if isinstance(exc, Refusal):
        status, title, reason = exc.status, exc.title, exc.reason
    elif isinstance(exc, HTTPException):
        status, title, reason = exc.status_code, "Not found", "There is no page at this address."
        if exc.status_code == 405:
            title, reason = "Not allowed", "This page cannot be used that way."
    else:
        status, title = 500, "Something went wrong"
        reason = "The page could not be shown. Please try again later."
    values = {"title": title, "reason": reason, "site_name": _site_name(request)}
    return TEMPLATES.TemplateResponse(request, "message.html", values, status_code=status)


def _site_name(request: Request) -> str:
    try:
        return context(request).site.settings.name
    except Exception:  # the refusal page must show even when the site cannot be read
        return "digest"


@dataclass(frozen=True)
class SentForm:
    """A form that passed its checks; `use()` marks it sent (refused if it already was)."""

    ctx: WebContext
    data: FormData
    nonce: str

    def text(self, name: str, limit: int) -> str:
        value = self.data.get(name, "")
        text = value.strip() if isinstance(value, str) else ""
        if len(text) > limit:
            raise Refusal(
                400, "Too long", f"Please keep it to {limit} characters (you wrote {len(text)})."
            )
        return text

    def use(self) -> None:
        if not answers.use_form(self.ctx.store, self.nonce, self.ctx.clock()):
            raise Refusal(
                409, "Already sent", "This form was already sent: your answer is recorded."
            )


async def read_form(request: Request, ctx: WebContext, link_token: str) -> SentForm:
    """The form sent from the page of `link_token`, with its form token checked."""
    try:
        data = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES)
    except HTTPException:
        raise Refusal(400, "This form could not be read", "Please try again.") from None
    token = data.get(FORM_FIELD)
    try:
        nonce = check_form_token(
            ctx.secret, link_token, token if isinstance(token, str) else None, ctx.clock()
        )
    except LinkError as exc:
        raise Refusal(400, "This form does not work", exc.reason) from None
    return SentForm(ctx, data, nonce)
