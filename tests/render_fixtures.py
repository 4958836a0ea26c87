"""A small hand-built site and statuses for compose and render tests and previews."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.model import (
    Alert,
    DeepDiveRequest,
    DeliveryTable,
    Direction,
    Measure,
    MeasureStatus,
    Occurrence,
    Publication,
    Recipient,
    Schedule,
    Site,
    SiteSettings,
    SpcResult,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "email"
LONDON = ZoneInfo("Europe/London")
OCTOBER = date(2026, 10, 31)

MEASURES = (
    Measure(
        "cla-rate",
        "Children in care",
        "social-care",
        "rate",
        "lower",
        "monthly",
        target=65.0,
        tolerance=3.0,
        themes=("children-in-care",),
        owner="officer-care",
        england=70.0,
        statistical_neighbours=66.5,
        description="Children looked after per 10,000 children aged under 18.",
    ),
    Measure(
        "cp-plans",
        "Children on a child protection plan",
        "social-care",
        "count",
        "info",
        "monthly",
        themes=("safeguarding",),
        owner="officer-care",
    ),
    Measure(
        "assessments-45-days",
        "Assessments completed within 45 days",
        "social-care",
        "percent",
        "higher",
        "monthly",
        target=85.0,
        tolerance=5.0,
        themes=("safeguarding",),
        england=82.1,
        statistical_neighbours=84.0,
    ),
    Measure(
        "care-leavers-eet",
        "Care leavers in education, employment or training",
        "social-care",
        "percent",
        "higher",
        "monthly",
        target=60.0,
        tolerance=5.0,
        themes=("children-in-care",),
        owner="officer-care",
        england=56.0,
    ),
    Measure(
        "eh-days-open",
        "Average days an early help case is open",
        "early-help",
        "days",
        "range",
        "monthly",
        target=120.0,
        target_max=180.0,
        tolerance=20.0,
        owner="officer-eh",
    ),
    Measure(
        "eh-repeat",
        "Repeat early help referrals",
        "early-help",
        "percent",
        "lower",
        "monthly",
        target=15.0,
        tolerance=2.0,
        themes=("early-help",),
    ),
    Measure("daily-referrals", "Referrals received yesterday", "daily", "count", "info", "daily"),
    Measure("daily-cla", "Children in care today", "daily", "count", "info", "daily"),
)

RECIPIENTS = (
    Recipient("cllr-chair", "Cllr Alex Chair", "alex.chair@example.gov.uk", ("chair", "member")),
    Recipient("cllr-lead", "Cllr Sam O'Lead", "sam.lead@example.gov.uk", ("lead-member",)),
    Recipient(
        "cllr-care",
        "Cllr Jo Carer",
        "jo.carer@example.gov.uk",
        ("member",),
        themes=("children-in-care",),
    ),
    Recipient(
        "cllr-care-2",
        "Cllr Dev Rao",
        "dev.rao@example.gov.uk",
        ("member",),
        themes=("children-in-care",),
    ),
    Recipient(
        "cllr-safe", "Cllr Mo Safe", "mo.safe@example.gov.uk", ("member",), themes=("safeguarding",)
    ),
    Recipient("cllr-plain", "Cllr Pat Plain", "pat.plain@example.gov.uk", ("member",)),
    Recipient("cllr-gone", "Cllr Gone Away", "gone@example.gov.uk", ("member",), active=False),
    Recipient("perf-team", "Performance Team", "performance@example.gov.uk", ("performance",)),
    Recipient("officer-care", "Dana Officer", "dana.officer@example.gov.uk", ("lead-officer",)),
    Recipient("officer-eh", "Eli Helper", "eli.helper@example.gov.uk", ("lead-officer",)),
)

KEY_INDICATORS = Schedule(
    "daily-key-indicators",
    "key-indicators",
    ("role:chair", "role:lead-member"),
    cron="30 7 * * mon-fri",
    working_days_only=True,
    measures=("daily-referrals", "daily-cla"),
)
TRACKER = Schedule("monthly-tracker", "tracker", ("role:member",), after="social-care", at=time(9))
INVITE = Schedule(
    "deep-dive-invite", "deep-dive-invite", ("role:member",), after="social-care", at=time(9, 30)
)
REMINDER = Schedule(
    "deep-dive-reminder", "deep-dive-reminder", ("role:member",), after="social-care", at=time(9)
)
SUMMARY = Schedule(
    "deep-dive-summary",
    "deep-dive-summary",
    ("role:performance", "role:lead-officer"),
    after="social-care",
    at=time(9),
)
ALERTS = Schedule("alerts", "alert", ("role:performance",), cron="0 * * * *")

SOCIAL_CARE = Publication(
    "social-care",
    OCTOBER,
    date(2026, 11, 12),
    "https://example.gov.uk/scorecards/social-care/2026-10",
)
EARLY_HELP = Publication(
    "early-help",
    OCTOBER,
    date(2026, 11, 13),
    "https://example.gov.uk/scorecards/early-help/2026-10",
)
OLD = Publication(
    "social-care",
    date(2026, 9, 30),
    date(2026, 10, 14),
    "https://example.gov.uk/scorecards/social-care/2026-09",
)
DEADLINE = date(2026, 11, 19)

REQUESTS = (
    DeepDiveRequest("social-care", OCTOBER, "cla-rate", "cllr-care", date(2026, 11, 13)),
    DeepDiveRequest("social-care", OCTOBER, "cla-rate", "cllr-chair", date(2026, 11, 16)),
    DeepDiveRequest("social-care", OCTOBER, "assessments-45-days", "cllr-safe", date(2026, 11, 14)),
    DeepDiveRequest("social-care", date(2026, 9, 30), "cp-plans", "cllr-plain", date(2026, 10, 15)),
)


def make_site(root: Path = ROOT, **changes: object) -> Site:
    """The fixture site; keyword arguments replace its fields."""
    site = Site(
        root=root,
        settings=SiteSettings(
            name="Improving Lives Select Commission",
            timezone="Europe/London",
            holidays="england",
            sender="Performance and Quality <performance@example.gov.uk>",
            alerts_to=("role:performance",),
            reply_to="performance@example.gov.uk",
        ),
        delivery=DeliveryTable(),
        recipients=RECIPIENTS,
        schedules=(KEY_INDICATORS, TRACKER, INVITE, REMINDER, SUMMARY),
        measures=MEASURES,
        publications=(OLD, SOCIAL_CARE, EARLY_HELP),
        requests=REQUESTS,
    )
    return replace(site, **changes)  # type: ignore[arg-type]


def months_back(end: date, count: int) -> list[date]:
    """Month ends, oldest first, finishing at `end`."""
    ends = []
    year, month = end.year, end.month
    for _ in range(count):
        ends.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return [_month_end(d) for d in reversed(ends)]


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def status(
    measure: Measure, values: list[float | None], ends: list[date], as_of: date, **changes: object
) -> MeasureStatus:
    """A status with history, its latest and previous values taken from the series."""
    known = [(d, v) for d, v in zip(ends, values, strict=True) if v is not None]
    latest_end, latest = known[-1]
    previous_end, previous = known[-2] if len(known) > 1 else (None, None)
    mean = sum(v for _, v in known) / len(known)
    spread = max(1.0, math.sqrt(sum((v - mean) ** 2 for _, v in known) / len(known)))
    base = MeasureStatus(
        measure=measure,
        as_of=as_of,
        period_end=latest_end,
        value=latest,
        missing=None,
        note="",
        previous=previous,
        previous_period_end=previous_end,
        change=None if previous is None else latest - previous,
        last_year=known[0][1],
        rag="none",
        direction=_direction(measure, latest - (previous or latest)),
        spc=SpcResult(
            mean, mean - 2.66 * spread, mean + 2.66 * spread, len(known), "common-cause", "none"
        ),
        stale=False,
        history=tuple(zip(ends, values, strict=True)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _direction(measure: Measure, change: float) -> Direction:
    if measure.polarity == "info":
        return "up" if change > 0 else "down" if change < 0 else "no-change"
    if change == 0 or measure.polarity == "range":
        return "no-change"
    return "improving" if (change > 0) == (measure.polarity == "higher") else "worsening"


def _series(start: float, step: float, count: int, wobble: float) -> list[float | None]:
    return [round(start + step * i + wobble * math.sin(i * 1.7), 1) for i in range(count)]


def monthly_statuses(as_of: date = date(2026, 11, 12)) -> list[MeasureStatus]:
    """Statuses for every measure, as the tracker would see them in November 2026."""
    ends = months_back(OCTOBER, 24)
    m = {x.id: x for x in MEASURES}
    spc_concern = SpcResult(63.0, 58.0, 68.0, 24, "concern", "inconsistent")
    spc_better = SpcResult(80.0, 74.0, 86.0, 24, "improvement", "inconsistent")
    days = [d for d in (date(2026, 11, 10), date(2026, 11, 11))]
    return [
        status(
            m["cla-rate"],
            _series(61.2, 0.3, 24, 0.8),
            ends,
            as_of,
            rag="red",
            direction="worsening",
            spc=spc_concern,
        ),
        status(m["cp-plans"], _series(310, -1.5, 24, 6), ends, as_of),
        status(
            m["assessments-45-days"],
            _series(78, 0.35, 24, 1.2),
            ends,
            as_of,
            rag="green",
            spc=spc_better,
        ),
        status(m["care-leavers-eet"], [*_series(55, 0.1, 23, 2.0), None], ends, as_of, rag="amber"),
        status(m["eh-days-open"], _series(150, 0.5, 24, 9), ends, as_of, rag="green"),
        status(m["eh-repeat"], _series(16, -0.05, 24, 0.9), ends, as_of, rag="amber"),
        status(m["daily-referrals"], [41.0, 37.0], days, as_of),
        status(m["daily-cla"], [412.0, 414.0], days, as_of),
    ]


def missing_last(statuses: list[MeasureStatus]) -> list[MeasureStatus]:
    """care-leavers-eet suppressed in the latest month, as the data would say."""
    return [
        replace(
            s,
            value=None,
            missing="c",
            period_end=OCTOBER,
            rag="none",
            change=None,
            direction="none",
        )
        if s.measure.id == "care-leavers-eet"
        else s
        for s in statuses
    ]


def daily_statuses(on: date, *, stale: bool = False) -> list[MeasureStatus]:
    """The two daily key indicators, current or stuck at 24 November."""
    last = date(2026, 11, 24) if stale else on - timedelta(days=1)
    days = [last - timedelta(days=i) for i in reversed(range(30))]
    m = {x.id: x for x in MEASURES}
    referrals = _series(38, 0.1, 30, 5)
    in_care = _series(400, 0.5, 30, 1.5)
    return [
        status(m["daily-referrals"], referrals, days, on, stale=stale),
        status(m["daily-cla"], in_care, days, on, stale=stale),
    ]


def occurrence(
    schedule: Schedule, on: date, publication: Publication | None = None, at: time = time(9)
) -> Occurrence:
    key = publication.key if publication else on.isoformat()
    due = datetime.combine(on, at, tzinfo=LONDON)
    return Occurrence(schedule, key, due, on, publication)


def alert() -> Alert:
    return Alert(
        "stale:daily-referrals:2026-11-26",
        "Daily key indicators, 26 November 2026: 1 figure not loaded yet",
        ("Open referrals (daily-referrals): latest figure 2026-11-24",),
        action="The email went with the latest figures it had, each marked not current. "
        "Load the missing figures into the data files; the next email shows them.",
    )
