"""The team's sign-in: a single-use link emailed to a person in `[web] staff`, then a session.

No passwords. The link is valid 15 minutes and used once (its nonce is kept when
used); the session is a signed cookie (HttpOnly, Secure on https, SameSite=Lax)
for 8 hours. A member's answer token is signed with another salt, so it is refused.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import defaultdict, deque
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from digest.delivery import answers, outbox
from digest.email.mime import sender_domain
from digest.email.render import check_recipient
from digest.model import OutgoingMessage, Recipient, delivery_key, message_id
from digest.web.context import Refusal, WebContext, context
from digest.web.forms import check_form_token, form_token
from digest.web.pages import page

LINK_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 60 * 60
COOKIE = "digest_staff"
SIGN_IN_FORM = "staff-sign-in"
ASKS_PER_WINDOW = 3  # per address and per client, in LINK_SECONDS
SCHEDULE_ID = "staff-sign-in"
MAX_FIELD = 1000  # no staff form field is longer


def _serializer(secret: str, what: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"digest.staff.{what}")


def staff(ctx: WebContext) -> dict[str, Recipient]:
    """Who may sign in, by lower-case address."""
    return {r.email.lower(): r for r in ctx.site.audience(ctx.web.staff)}


def _staff_by_id(ctx: WebContext, recipient_id: str) -> Recipient | None:
    return next((r for r in staff(ctx).values() if r.id == recipient_id), None)


def _limited(request: Request, address: str) -> bool:
    """True when this address or this client asked too often lately."""
    asked: defaultdict[str, deque[float]] = request.app.state.__dict__.setdefault(
        "staff_asks", defaultdict(deque)
    )
    now = time.monotonic()
    client = request.client.host if request.client else "?"
    keys = (f"address:{address}", f"client:{client}")
    for key in keys:
        while asked[key] and now - asked[key][0] > LINK_SECONDS:
            asked[key].popleft()
    if any(len(asked[key]) >= ASKS_PER_WINDOW for key in keys):
        return True
    for key in keys:
        asked[key].append(now)
    return False


async def sign_in_page(request: Request) -> Response:
    ctx = context(request)
    token = form_token(ctx.secret, SIGN_IN_FORM, ctx.clock())
    return page(request, "staff_sign_in.html", {"title": "Sign in", "form": token})


async def sign_in_ask(request: Request) -> Response:
    """Email a link if the address is staff; the answer is the same either way."""
    ctx = context(request)
    form = await request.form()
    _used(ctx, SIGN_IN_FORM, form.get("form_token"))
    address = str(form.get("email") or "").strip().lower()[:320]
    person = staff(ctx).get(address)
    if not _limited(request, address) and person is not None:
        outbox.enqueue(ctx.store, [_link_email(ctx, request, person)], ctx.clock())
    return page(request, "staff_sign_in_sent.html", {"title": "Check your email"})


def _used(ctx: WebContext, bound: str, token: object, refused: int = 400) -> None:
    from digest.email.links import LinkError

    try:
        nonce = check_form_token(ctx.secret, bound, str(token) if token else None, ctx.clock())
    except LinkError as exc:
        raise Refusal(refused, "This form does not work", exc.reason) from None
    if not answers.use_form(ctx.store, nonce, ctx.clock()):
        raise Refusal(409, "Already sent", "This form was sent already: open the page again.")


def _link_email(ctx: WebContext, request: Request, person: Recipient) -> OutgoingMessage:
    nonce = secrets.token_urlsafe(18)
    expires = int(ctx.clock().timestamp()) + LINK_SECONDS
    token = _serializer(ctx.secret, "link").dumps({"r": person.id, "n": nonce, "e": expires})
    url = f"{ctx.web.base_url.rstrip('/')}/staff/link/{token}"
    key = delivery_key(SCHEDULE_ID, nonce, person.id)
    mail = EmailMessage(policy=SMTP)
    name, address = parseaddr(ctx.site.settings.sender)
    mail["From"] = Address(name, addr_spec=address)
    mail["To"] = check_recipient(person)
    mail["Subject"] = subject = f"Sign in to {ctx.site.settings.name}"
    mail["Date"] = format_datetime(ctx.clock())
    mail["Message-ID"] = msg_id = message_id(key, sender_domain(ctx.site))
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(
        f"Dear {person.name},\n\nTo sign in to the performance team's pages, open this link "
        f"within 15 minutes (it works once):\n\n{url}\n\nIf you did not ask, ignore this email.\n"
    )
    return OutgoingMessage(key, SCHEDULE_ID, nonce, person, subject, msg_id, mail.as_bytes(),
                           json.dumps({"sign_in": person.id}))  # fmt: skip


def _link(ctx: WebContext, token: str) -> tuple[str, str]:
    """The link's (recipient id, nonce), or a refusal: forged, expired or not staff."""
    try:
        payload = _serializer(ctx.secret, "link").loads(token)
        rid, nonce, expires = str(payload["r"]), str(payload["n"]), int(payload["e"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise Refusal(400, "This link does not work", "Ask for a new sign-in link.") from None
    if ctx.clock().timestamp() > expires:
        raise Refusal(410, "This link has expired", "Sign-in links last 15 minutes: ask again.")
    if _staff_by_id(ctx, rid) is None:
        raise Refusal(403, "Not allowed", "This address may not sign in to the team's pages.")
    return rid, nonce


async def link_page(request: Request) -> Response:
    """The link from the email: a button, so that a mail scanner opening it signs no one in."""
    ctx = context(request)
    token = request.path_params["token"]
    _link(ctx, token)
    form = form_token(ctx.secret, token, ctx.clock())
    return page(request, "staff_link.html", {"title": "Sign in", "form": form})


async def link_use(request: Request) -> Response:
    ctx = context(request)
    token = request.path_params["token"]
    rid, nonce = _link(ctx, token)
    _used(ctx, token, (await request.form()).get("form_token"))
    if not answers.use_form(ctx.store, f"staff-link:{nonce}", ctx.clock()):
        raise Refusal(409, "This link was used", "Each sign-in link works once: ask again.")
    response = RedirectResponse("../../staff", status_code=303)
    session = _serializer(ctx.secret, "session").dumps(
        {"r": rid, "t": int(ctx.clock().timestamp())}
    )
    response.set_cookie(COOKIE, session, max_age=SESSION_SECONDS, path="/", httponly=True,
                        secure=request.url.scheme == "https", samesite="lax")  # fmt: skip
    return response


def signed_in(request: Request) -> Recipient:
    """The staff member of this request's session, or a refusal."""
    ctx = context(request)
    refused = Refusal(401, "Please sign in", "Sign in to the team's pages at /staff/sign-in.")
    try:
        payload = _serializer(ctx.secret, "session").loads(request.cookies.get(COOKIE, ""))
        rid, issued = str(payload["r"]), int(payload["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise refused from None
    age = ctx.clock().timestamp() - issued
    person = _staff_by_id(ctx, rid)
    if age < 0 or age > SESSION_SECONDS or person is None:
        raise refused
    return person


def staff_form(ctx: WebContext, person: Recipient) -> str:
    """A CSRF token for one form on a staff page."""
    return form_token(ctx.secret, f"staff:{person.id}", ctx.clock())


async def check_staff_post(request: Request) -> tuple[Recipient, dict[str, str]]:
    """A staff POST: signed in, with a fresh form token of this person, used once
    (403 without one: a signed-in browser sent a form from elsewhere)."""
    ctx = context(request)
    person = signed_in(request)
    form = {k: str(v)[:MAX_FIELD] for k, v in (await request.form(max_files=0)).items()}
    _used(ctx, f"staff:{person.id}", form.get("form_token"), refused=403)
    return person, form


async def sign_out(request: Request) -> Response:
    await check_staff_post(request)
    response = RedirectResponse("sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
