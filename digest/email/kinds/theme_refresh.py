"""Every six months, each member reviews the themes they follow (the briefing's option 2)."""

from __future__ import annotations

import json

from digest.email import words as fmt
from digest.email.content import Content, Variant, request_address
from digest.email.kinds.base import Kind, Request, with_answers
from digest.model import Recipient, Site


def compose(request: Request) -> tuple[Variant, ...]:
    """Members who follow the same themes share a variant: the message lists them."""
    groups: dict[tuple[str, ...], list[Recipient]] = {}
    for recipient in request.recipients:
        groups.setdefault(recipient.themes, []).append(recipient)
    return tuple(
        Variant(
            "theme-refresh:" + ";".join(themes),
            with_answers(request, theme_refresh(request.site, themes, web=request.web)),
            tuple(members),
        )
        for themes, members in groups.items()
    )


def theme_refresh(site: Site, themes: tuple[str, ...], *, web: bool) -> Content:
    """The invitation to review one set of followed themes."""
    offered = sorted({t for m in site.measures for t in m.themes})
    following = ", ".join(fmt.theme_title(t) for t in themes) if themes else "no themes yet"
    how = (
        "Use the link below to choose them: it takes a minute, and your next tracker follows it."
        if web
        else f"Reply to {request_address(site)} naming the themes you would like to follow."
    )
    return Content(
        kind="theme-refresh",
        site_name=site.settings.name,
        subject="Which themes should your tracker put first?",
        heading="Choose the themes you follow",
        preheader=f"You follow {following}. Every six months we ask whether that still suits you.",
        intro=(
            f"Your monthly tracker puts the measures of the themes you follow first. You follow {following}.",
            "Every six months we ask whether that still suits you. " + how,
        ),
        details=tuple(fmt.theme_title(t) for t in offered),
        figures=json.dumps({"themes": list(themes)}, separators=(",", ":")),
    )


KIND = Kind("theme-refresh", "any", "alert", needs_deadline=False, compose=compose)
