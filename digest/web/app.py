"""The Starlette application: members' pages on signed links, the team's pages, a health check."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from digest.web.answer_pages import feedback_answer, feedback_page, themes_choose, themes_page
from digest.web.context import Refusal, WebContext, context
from digest.web.deep_dive import deep_dive_confirm, deep_dive_page
from digest.web.pages import refusal_page
from digest.web.security import AccessLog, SecurityHeaders
from digest.web.staff_auth import link_page, link_use, sign_in_ask, sign_in_page, sign_out
from digest.web.staff_data import answers_page, data_page
from digest.web.staff_pages import approve, history_page, home, message_eml, send_again
from digest.web.staff_preview import preview_email, preview_page
from digest.web.view import view_page

STYLE = (Path(__file__).parent / "templates" / "style.css").read_text(encoding="utf-8")


async def healthz(request: Request) -> Response:
    """200 when the store answers: what a load balancer asks."""
    try:
        with context(request).store.transaction() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return PlainTextResponse("database unavailable\n", status_code=503)
    return PlainTextResponse("ok\n")


async def style(request: Request) -> Response:
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/style.css", style, methods=["GET"]),
    Route("/deep-dive/{token}", deep_dive_page, methods=["GET"]),
    Route("/deep-dive/{token}", deep_dive_confirm, methods=["POST"]),
    Route("/useful/{token}", feedback_page, methods=["GET"]),
    Route("/useful/{token}", feedback_answer, methods=["POST"]),
    Route("/themes/{token}", themes_page, methods=["GET"]),
    Route("/themes/{token}", themes_choose, methods=["POST"]),
    Route("/view/{token}", view_page, methods=["GET"]),
    Route("/staff", home, methods=["GET"]),
    Route("/staff/sign-in", sign_in_page, methods=["GET"]),
    Route("/staff/sign-in", sign_in_ask, methods=["POST"]),
    Route("/staff/link/{token}", link_page, methods=["GET"]),
    Route("/staff/link/{token}", link_use, methods=["POST"]),
    Route("/staff/sign-out", sign_out, methods=["POST"]),
    Route("/staff/approve", approve, methods=["POST"]),
    Route("/staff/send-again", send_again, methods=["POST"]),
    Route("/staff/data", data_page, methods=["GET"]),
    Route("/staff/answers", answers_page, methods=["GET"]),
    Route("/staff/preview", preview_page, methods=["GET"]),
    Route("/staff/preview/email", preview_email, methods=["GET"]),
    Route("/staff/history", history_page, methods=["GET"]),
    Route("/staff/message/{id:int}.eml", message_eml, methods=["GET"]),
]


def create_app(ctx: WebContext) -> Starlette:
    """The application on one context (site, store, key, clock)."""
    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(AccessLog, routes=ROUTES),  # type: ignore[arg-type]
            Middleware(SecurityHeaders),
        ],
        exception_handlers={
            Refusal: refusal_page,
            HTTPException: refusal_page,
            Exception: refusal_page,
        },
    )
    app.state.context = ctx
    return app
