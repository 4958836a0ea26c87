"""What every response needs: security headers, and a log line without the token."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("digest.web")

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# A stored email: its own inline styles and embedded charts, nothing that runs, no forms.
MESSAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# A preview of an email that is not sent yet: the same, framed only by the team's preview page.
PREVIEW_POLICY = MESSAGE_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
PAGE_WITH_PREVIEW_POLICY = PAGE_POLICY + "; frame-src 'self'"
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Content-Security-Policy": PAGE_POLICY,
}


class SecurityHeaders:
    """Adds HEADERS to every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def route_template(routes: list[BaseRoute], scope: Scope) -> str:
    """The route's path as written ("/deep-dive/{token}"), never the token itself."""
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "?"))
    return "(no route)"


class AccessLog:
    """One line per request, naming the route template: uvicorn's own log would print tokens."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            path = route_template(self.routes, scope)
            took = (time.monotonic() - started) * 1000
            log.info("%s %s %d %.0fms", scope.get("method", "?"), path, status, took)
