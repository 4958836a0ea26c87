"""View in a browser: the HTML part of a message exactly as it was stored.

It is our own HTML, but it is served under a policy of its own that lets nothing
run and nothing load: its charts travel inside it as data: addresses.
"""

from __future__ import annotations

import base64
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.delivery import store
from digest.model import delivery_key
from digest.web.context import Refusal, context
from digest.web.security import MESSAGE_POLICY

CID = re.compile(r"""(["'])cid:([^"']+)\1""")


def message_html(raw: bytes) -> str | None:
    """The HTML body of a stored message, its inline images as data: addresses."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html",))
    if body is None:
        return None
    images: dict[str, str] = {}
    for part in message.walk():
        cid = str(part.get("Content-ID", "")).strip("<>")
        if cid and part.get_content_maintype() == "image":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                encoded = base64.b64encode(payload).decode("ascii")
                images[cid] = f"data:{part.get_content_type()};base64,{encoded}"
    html = str(body.get_content())
    return CID.sub(lambda m: m.group(1) + images.get(m.group(2), "") + m.group(1), html)


async def view_page(request: Request) -> Response:
    ctx = context(request)
    link, _ = ctx.link("view", request.path_params["token"])
    key = delivery_key(link.schedule_id, link.occurrence_key, link.recipient_id)
    stored = store.stored_message(ctx.store, key)
    html = message_html(stored.raw) if stored is not None and stored.raw else None
    if html is None:
        raise Refusal(
            410, "No longer kept", "This email is no longer kept, or it had no web version."
        )
    return HTMLResponse(html, headers={"Content-Security-Policy": MESSAGE_POLICY})
