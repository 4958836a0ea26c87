"""The team's pages on the data and on what members sent back: stale data, publications
waiting for their data, deep-dive requests by publication, and "was this useful?"."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from digest import calendar
from digest.delivery import answers
from digest.delivery.answers import StoredFeedback
from digest.email.prepare import stale_statuses, unloaded_publications
from digest.model import Measure, Publication, Site
from digest.web.context import WebContext, context
from digest.web.pages import page
from digest.web.staff_auth import signed_in

PUBLICATIONS_SHOWN = 12
FEEDBACK_SHOWN = 24


@dataclass(frozen=True)
class Waiting:
    """A publication whose period's figures are not all loaded, and the digests it holds up."""

    publication: Publication
    missing: list[Measure]
    schedules: list[tuple[str, datetime]]  # each digest and when it goes without them


def _waiting(
    ctx: WebContext, site: Site, found: list[tuple[Publication, list[Measure]]]
) -> list[Waiting]:
    waiting = []
    for publication, missing in found:
        schedules = []
        for schedule in site.schedules:
            occurrence = calendar.publication_occurrence(site, schedule, publication)
            if occurrence is not None:
                ends = calendar.data_wait_ends(occurrence, site.settings)
                schedules.append((schedule.id, ctx.local(ends)))
        waiting.append(Waiting(publication, missing, schedules))
    return waiting


async def data_page(request: Request) -> Response:
    """What `digest status` calls stale, and the publications whose digests wait for data."""
    ctx = context(request)
    signed_in(request)
    loaded = ctx.loaded()
    values = {
        "title": "Stale data and publications waiting for data", "nav": "data",
        "today": ctx.today(), "stale": stale_statuses(loaded, ctx.today()),
        "waiting": _waiting(ctx, loaded.site, unloaded_publications(loaded)),
        "now": ctx.local(ctx.clock()),
    }  # fmt: skip
    return page(request, "staff_data.html", values)


@dataclass(frozen=True)
class Asked:
    """One measure's deep-dive requests for one publication."""

    measure: str
    title: str
    who: list[tuple[str, str]]  # (name, what they want to understand)


@dataclass(frozen=True)
class Requested:
    """One publication's deep-dive requests, the most asked-for measure first."""

    scorecard: str
    period_end: date
    asked: list[Asked]

    @property
    def total(self) -> int:
        return sum(len(a.who) for a in self.asked)


def _requests(ctx: WebContext) -> list[Requested]:
    """Requests by publication, latest first: the CSV's and the store's together, once
    each, as the summaries read them."""
    site = answers.with_answers(ctx.loaded(with_observations=False), ctx.store).site
    notes = {(r.scorecard, r.period_end, r.measure, r.recipient_id): r.note
             for r in answers.requests(ctx.store)}  # fmt: skip
    grouped: defaultdict[tuple[str, date], defaultdict[str, list[tuple[str, str]]]] = (
        defaultdict(lambda: defaultdict(list))
    )
    for r in site.requests:
        note = notes.get((r.scorecard, r.period_end, r.measure, r.requested_by), "")
        grouped[(r.scorecard, r.period_end)][r.measure].append((_name(site, r.requested_by), note))
    titles = {m.id: m.title for m in site.measures}
    latest = sorted(grouped.items(), key=lambda item: item[0][1], reverse=True)
    return [
        Requested(scorecard, period_end, sorted(
            (Asked(m, titles.get(m, m), who) for m, who in by_measure.items()),
            key=lambda a: (-len(a.who), a.title),
        ))
        for (scorecard, period_end), by_measure in latest[:PUBLICATIONS_SHOWN]
    ]  # fmt: skip


@dataclass(frozen=True)
class Answered:
    """The "was this useful?" answers to one occurrence of one schedule."""

    schedule_id: str
    occurrence_key: str
    yes: int
    no: int
    comments: list[tuple[str, bool, str, datetime]]  # (name, useful, comment, when), latest first
    latest: datetime


def _feedback(ctx: WebContext) -> list[Answered]:
    grouped: defaultdict[tuple[str, str], list[StoredFeedback]] = defaultdict(list)
    for answer in answers.feedback(ctx.store):
        grouped[(answer.schedule_id, answer.occurrence_key)].append(answer)
    found = []
    for (schedule_id, key), given in grouped.items():
        given.sort(key=lambda a: a.answered_at, reverse=True)
        comments = [(_name(ctx.site, a.recipient_id), a.useful, a.comment, ctx.local(a.answered_at))
                    for a in given if a.comment]  # fmt: skip
        yes = sum(a.useful for a in given)
        found.append(Answered(schedule_id, key, yes, len(given) - yes, comments,
                              given[0].answered_at))  # fmt: skip
    found.sort(key=lambda a: a.latest, reverse=True)
    return found[:FEEDBACK_SHOWN]


def _name(site: Site, recipient_id: str) -> str:
    person = site.recipient(recipient_id)
    return person.name if person else recipient_id


async def answers_page(request: Request) -> Response:
    """Deep-dive requests by publication, and the "was this useful?" answers."""
    ctx = context(request)
    signed_in(request)
    values: dict[str, Any] = {"title": "Requests and feedback", "nav": "answers",
                              "requests": _requests(ctx), "feedback": _feedback(ctx)}  # fmt: skip
    return page(request, "staff_answers.html", values)
