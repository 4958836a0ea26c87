"""Form tokens: each page's form carries one, bound to the link it came from, used once.

A form token is signed with the site's key (so no other site can make one), names
the link token it belongs to (so it cannot be moved to another link), expires
(a page left open for a day must be reloaded), and carries a nonce that the store
keeps when the form is sent (so a replayed POST is refused).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

from digest.email.links import LinkError

FORM_FIELD = "form_token"
FORM_LIFETIME_SECONDS = 2 * 60 * 60


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="digest.form")


def _bound_to(link_token: str) -> str:
    return hashlib.sha256(link_token.encode("utf-8")).hexdigest()[:32]


def form_token(secret: str, link_token: str, now: datetime) -> str:
    """A fresh token for one form on the page of `link_token`."""
    payload = {
        "l": _bound_to(link_token),
        "n": secrets.token_urlsafe(18),
        "t": int(now.timestamp()),
    }
    return str(_serializer(secret).dumps(payload))


def check_form_token(secret: str, link_token: str, token: str | None, now: datetime) -> str:
    """The form's nonce, or LinkError: missing, forged, for another link, or too old."""
    if not token:
        raise LinkError("This form is incomplete: open the link from your email again.")
    try:
        payload = _serializer(secret).loads(token)
        bound, nonce, issued = str(payload["l"]), str(payload["n"]), int(payload["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise LinkError("This form is not valid: open the link from your email again.") from None
    if not secrets.compare_digest(bound, _bound_to(link_token)):
        raise LinkError("This form does not belong to this link: open the link again.")
    age = now.timestamp() - issued
    if age < 0 or age > FORM_LIFETIME_SECONDS:
        raise LinkError("This page was open too long: open the link from your email again.")
    return nonce
