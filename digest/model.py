"""Typed, frozen objects that cross module boundaries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

Unit = Literal["count", "percent", "rate", "days", "number"]
Polarity = Literal["higher", "lower", "range", "info"]
Frequency = Literal["daily", "weekly", "monthly", "quarterly", "annual"]
# A digest kind's name: the kinds are registered in digest.email.kinds, one module each.
DigestKind = str
# When a kind's schedules fire: "any" (cron or a publication), "publication" only, or
# "system" (raised by digest itself, never scheduled).
Trigger = Literal["any", "publication", "system"]
Rag = Literal["green", "amber", "red", "none"]
Direction = Literal["improving", "worsening", "no-change", "up", "down", "none"]
Variation = Literal["improvement", "concern", "neutral", "common-cause", "insufficient-data"]
Assurance = Literal["pass", "fail", "inconsistent", "none"]
MissingCode = Literal["c", ":", "z"]

# What tells the time: passed in from the CLI or the daemon, never read below them.
Clock = Callable[[], datetime]

MISSING_REASONS: dict[str, str] = {
    "c": "suppressed",
    ":": "not available",
    "z": "not applicable",
}


@dataclass(frozen=True)
class Span:
    """A length of time as the performance team writes it: "7 days", "2 working days"."""

    count: int
    unit: Literal["minutes", "hours", "days", "working days"]

    def as_timedelta(self) -> timedelta:
        """The span as clock time; working days have no fixed length."""
        if self.unit == "working days":
            raise ValueError("working days depend on the calendar")
        return timedelta(**{self.unit: self.count})

    def __str__(self) -> str:
        word = self.unit if self.count != 1 else self.unit.removesuffix("s")
        return f"{self.count} {word}"


@dataclass(frozen=True)
class Recipient:
    id: str
    name: str
    email: str
    roles: tuple[str, ...]
    themes: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class DataSettings:
    """[data]: when a monthly or quarterly value is due after its period ends."""

    monthly_due: Span = Span(10, "working days")
    quarterly_due: Span = Span(30, "working days")


@dataclass(frozen=True)
class SiteSettings:
    name: str
    timezone: str
    holidays: str  # england | wales | scotland | northern-ireland | none
    sender: str
    alerts_to: tuple[str, ...]
    deep_dive_window: Span = Span(7, "days")
    closures: tuple[date, ...] = ()
    reply_to: str | None = None
    deep_dive_closes: time = time(16, 0)  # the deadline's time of day


@dataclass(frozen=True)
class DeliveryTable:
    """schedules.toml's [delivery] as written, with each key's line: each transport reads its own."""

    transport: str = "pickup"
    values: Mapping[str, Any] = field(default_factory=dict, hash=False)
    file: str = "schedules.toml"
    line: int = 1  # of the [delivery] header
    lines: Mapping[str, int] = field(default_factory=dict, hash=False)  # of each key


@dataclass(frozen=True)
class Schedule:
    id: str
    digest: DigestKind
    to: tuple[str, ...]  # "role:NAME" or a recipient id
    cron: str | None = None
    working_days_only: bool = False
    measures: tuple[str, ...] = ()  # measure ids, theme names or scorecard names
    catch_up: timedelta = timedelta(hours=12)
    after: str | None = None  # scorecard whose publications trigger this schedule
    offset: Span | None = None
    before_deadline: Span | None = None
    at: time | None = None
    sign_off: tuple[str, ...] = ()  # role:NAME or recipient ids; held until one approves
    # How long a publication-triggered digest waits for its period's data before it
    # goes with the missing measures marked missing.
    wait_for_data: Span = Span(3, "working days")


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    scorecard: str
    unit: Unit
    polarity: Polarity
    frequency: Frequency
    target: float | None = None
    target_max: float | None = None
    tolerance: float | None = None
    decimals: int | None = None
    themes: tuple[str, ...] = ()
    owner: str | None = None
    england: float | None = None
    statistical_neighbours: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Rebase:
    """A known change in a measure's process: its limits start afresh from `start` on."""

    measure: str
    start: date  # the first period_end of the new process ("from" in data/rebases.csv)
    reason: str


@dataclass(frozen=True)
class Publication:
    scorecard: str
    period_end: date
    published_on: date
    url: str

    @property
    def key(self) -> str:
        """The occurrence key of the schedules this publication triggers."""
        return f"{self.scorecard}:{self.period_end.isoformat()}"


@dataclass(frozen=True)
class DeepDiveRequest:
    scorecard: str
    period_end: date
    measure: str
    requested_by: str
    requested_on: date


@dataclass(frozen=True)
class Site:
    """The whole validated configuration of a site folder (not the observations)."""

    root: Path
    settings: SiteSettings
    delivery: DeliveryTable
    recipients: tuple[Recipient, ...]
    schedules: tuple[Schedule, ...]
    measures: tuple[Measure, ...]
    publications: tuple[Publication, ...] = ()
    requests: tuple[DeepDiveRequest, ...] = ()
    rebases: tuple[Rebase, ...] = ()
    data: DataSettings = DataSettings()

    def rebases_by_measure(self) -> dict[str, tuple[date, ...]]:
        """Each rebased measure's rebase dates, oldest first."""
        found: dict[str, list[date]] = {}
        for rebase in self.rebases:
            found.setdefault(rebase.measure, []).append(rebase.start)
        return {m: tuple(sorted(days)) for m, days in found.items()}

    def as_of(self, day: date) -> Site:
        """The site as it stood on `day`: publications published and requests made by then."""
        return replace(
            self,
            publications=tuple(p for p in self.publications if p.published_on <= day),
            requests=tuple(r for r in self.requests if r.requested_on <= day),
        )

    def recipient(self, recipient_id: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == recipient_id), None)

    def measure(self, measure_id: str) -> Measure | None:
        return next((m for m in self.measures if m.id == measure_id), None)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return next((s for s in self.schedules if s.id == schedule_id), None)

    def audience(self, targets: tuple[str, ...]) -> tuple[Recipient, ...]:
        """Active recipients named by `role:NAME` or id targets, once each, in file order."""
        roles = {t.removeprefix("role:") for t in targets if t.startswith("role:")}
        ids = {t for t in targets if not t.startswith("role:")}
        return tuple(
            r for r in self.recipients if r.active and (r.id in ids or roles.intersection(r.roles))
        )


@dataclass(frozen=True)
class SpcResult:
    """XmR chart over the latest points: limits and the latest point's state."""

    mean: float | None
    lower: float | None
    upper: float | None
    points: int
    variation: Variation
    assurance: Assurance
    special_cause: tuple[bool, ...] = ()  # one flag per point, oldest first


@dataclass(frozen=True)
class MeasureStatus:
    """What a digest says about one measure as of a date."""

    measure: Measure
    as_of: date
    period_end: date | None
    value: float | None
    missing: MissingCode | None  # why `value` is None, when the data says why
    note: str
    previous: float | None
    previous_period_end: date | None
    change: float | None  # in the measure's units (percentage points for percent)
    last_year: float | None
    rag: Rag
    direction: Direction
    spc: SpcResult
    stale: bool
    history: tuple[tuple[date, float | None], ...] = field(default=())  # oldest first
    # The points the XmR chart was computed over (periods with a value), oldest first.
    spc_points: tuple[tuple[date, float], ...] = field(default=())
    revised: float | None = None  # the latest period's value as a digest last showed it, if changed

    @property
    def variation(self) -> Variation:
        return self.spc.variation

    @property
    def assurance(self) -> Assurance:
        return self.spc.assurance


@dataclass(frozen=True)
class LastSent:
    """What one recipient's last message of a schedule showed, for "since your last digest"."""

    on: date  # the day it was sent, in the site's timezone
    figures: str  # the figures JSON kept with that message
    occurrence_key: str = ""  # which occurrence it was


@dataclass(frozen=True)
class Occurrence:
    """One firing of a schedule: what the delivery key calls the occurrence."""

    schedule: Schedule
    key: str  # local date (cron) or "scorecard:period_end" (publication-triggered)
    due: datetime  # aware, in the site timezone
    on: date  # the date whose figures it shows
    publication: Publication | None = None


@dataclass(frozen=True)
class Alert:
    """A problem the system tells the performance team about."""

    key: str  # stable, so the same alert is not sent twice
    title: str  # the subject: plain words, "Daily key indicators, 1 December 2026: ..."
    details: tuple[str, ...]
    action: str = ""  # what the team should do about it

    @staticmethod
    def key_for(kind: str, cause: str) -> str:
        """A stable key naming one cause: the same cause gives the same key, so one alert."""
        return f"{kind}:{hashlib.sha256(cause.encode('utf-8')).hexdigest()[:16]}"


@dataclass(frozen=True)
class OutgoingMessage:
    """A finished email for one recipient, with what it showed (for audit)."""

    delivery_key: str
    schedule_id: str
    occurrence_key: str
    recipient: Recipient
    subject: str
    message_id: str
    raw: bytes  # the whole RFC 5322 message, as sent
    figures: str  # JSON of the figures the message showed
    # Spans of `raw` that every recipient of the variant shares, each as where it starts
    # and its bytes: the store keeps each once, and the rest of `raw` (headers, greeting,
    # links) per delivery. The bytes are the same objects for the whole variant, so the
    # store keys them without reading them again.
    shared: tuple[tuple[int, bytes], ...] = field(default=(), repr=False)


def delivery_key(schedule_id: str, occurrence_key: str, recipient_id: str) -> str:
    """The unique key of one delivery: schedule + occurrence + recipient."""
    return f"{schedule_id}/{occurrence_key}/{recipient_id}"


def message_id(key: str, domain: str) -> str:
    """A Message-ID derived from the delivery key, so a resend carries the same one."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class LinkSigner(Protocol):
    """Makes a recipient's signed answer links (digest.email.links implements it)."""

    def links_for(
        self, recipient_id: str, occurrence: Occurrence, deep_dive_measures: Sequence[str]
    ) -> Mapping[str, str]:
        """Placeholder name -> signed address: "view", "useful_yes", "useful_no", "themes",
        and "deep-dive:MEASURE" for each measure given."""
        ...
