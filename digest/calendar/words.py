"""Dates as members read them: "31 October 2026", "Thursday 19 November 2026"."""

from __future__ import annotations

from datetime import date, time

__all__ = ["format_clock", "format_date", "format_long_date", "format_month"]


def format_date(on: date) -> str:
    """ "31 October 2026"."""
    return f"{on.day} {on:%B %Y}"


def format_long_date(on: date) -> str:
    """ "Thursday 19 November 2026"."""
    return f"{on:%A} {format_date(on)}"


def format_month(on: date) -> str:
    """ "October 2026"."""
    return f"{on:%B %Y}"


def format_clock(at: time) -> str:
    """ "16:00"."""
    return f"{at:%H:%M}"
