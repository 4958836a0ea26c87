"""Every setting of schedules.toml's own tables, declared once: key, type, default, help.

The transports declare their [delivery] settings in their own modules
(digest.delivery.transports); README.md documents them all
(tests/test_settings_documented.py keeps it so).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One key of a table: what it holds, its default as written in TOML, and what it is for."""

    key: str
    type: str
    default: T
    help: str
    required: bool = False

    @property
    def written(self) -> str:
        """The default as schedules.toml would spell it; "required" or "none" without one."""
        if self.required:
            return "required"
        value: Any = self.default
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return f'"{value}"'
        if isinstance(value, tuple | list):
            return "[" + ", ".join(f'"{v}"' for v in value) + "]"
        return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class SettingsTable:
    """The settings of one table of schedules.toml, e.g. [site] or [[schedule]]."""

    header: str
    settings: tuple[Setting[Any], ...]

    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.settings)

    def __getitem__(self, key: str) -> Setting[Any]:
        return next(s for s in self.settings if s.key == key)

    def __iter__(self) -> Iterator[Setting[Any]]:
        return iter(self.settings)


NATIONS = ("england", "wales", "scotland", "northern-ireland", "none")

SITE = SettingsTable(
    "[site]",
    (
        Setting("name", "text", None, "the commission's name, shown in every email", True),
        Setting("timezone", "IANA time zone", None, "every time in the site is local to it", True),
        Setting(
            "holidays", ", ".join(NATIONS), "england", "bank holidays that are not working days"
        ),
        Setting("closures", "list of dates", (), "extra non-working days, like council closures"),
        Setting("sender", "name and address", None, "the From: line of every email", True),
        Setting("reply_to", "email address", None, "where members' replies go"),
        Setting(
            "alerts_to",
            "list of roles or ids",
            None,
            "told about failures, stale data and bad edits",
            True,
        ),
        Setting(
            "deep_dive_window",
            "days or working days",
            "7 days",
            "deep-dive deadline = publication date + this",
        ),
        Setting(
            "deep_dive_closes",
            "24-hour time",
            "16:00",
            "the deadline's time of day, said in every invitation and reminder",
        ),
    ),
)

DELIVERY = SettingsTable(
    "[delivery]",
    (
        Setting("transport", "pickup or smtp", "pickup", "how finished emails are handed over"),
        Setting("workers", "whole number", 1, "connections each instance sends through at once"),
    ),
)

WEB = SettingsTable(
    "[web]",
    (
        Setting(
            "base_url", "https address", None, "what members' links point at (digest serve)", True
        ),
        Setting("staff", "list of roles or ids", (), "who may sign in to the team's pages"),
    ),
)

DATA = SettingsTable(
    "[data]",
    (
        Setting(
            "monthly_due",
            "days or working days",
            "10 working days",
            "when a month's value is due after the month ends (staleness)",
        ),
        Setting(
            "quarterly_due",
            "days or working days",
            "30 working days",
            "when a quarter's value is due after the quarter ends (staleness)",
        ),
    ),
)

RETENTION = SettingsTable(
    "[retention]",
    (
        Setting(
            "messages",
            "days, months or years",
            "2 years",
            "the exact bytes sent are kept this long",
        ),
        Setting(
            "records",
            "days, months or years",
            "6 years",
            "who was sent what, when, with the figures",
        ),
    ),
)

SCHEDULE = SettingsTable(
    "[[schedule]]",
    (
        Setting("id", "id", None, "unique and never reused: part of the delivery key", True),
        Setting("digest", "digest kind", None, "which digest this schedule sends", True),
        Setting("to", "list of roles or ids", None, "role:NAME or a recipient id", True),
        Setting("cron", "five-field cron", None, "when it fires, local time (or use after)"),
        Setting("working_days_only", "true or false", False, "skip bank holidays and closures"),
        Setting(
            "measures", "list of measures, themes, scorecards", (), "a selection; all when empty"
        ),
        Setting(
            "catch_up",
            "minutes, hours or days",
            "12 hours",
            "after downtime, send a missed occurrence no older than this",
        ),
        Setting("after", "scorecard", None, "fires on each new publication of this scorecard"),
        Setting("offset", "days or working days", None, "after the publication date"),
        Setting(
            "before_deadline",
            "days or working days",
            None,
            "instead of offset: back from the deep-dive deadline",
        ),
        Setting("at", "24-hour time", None, "time of day of a publication-triggered digest"),
        Setting(
            "sign_off", "list of roles or ids", (), "held until one of these approves the figures"
        ),
        Setting(
            "wait_for_data",
            "days or working days",
            "3 working days",
            "how long a publication-triggered digest waits for its period's data",
        ),
    ),
)

TABLES = (SITE, DELIVERY, DATA, WEB, RETENTION, SCHEDULE)
