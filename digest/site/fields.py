"""Typed reading of one TOML table, collecting every problem with its line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, time
from typing import Any, TypeVar, cast

from digest.errors import Problem
from digest.model import Span
from digest.site.toml import TomlLines

T = TypeVar("T")

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SPAN = re.compile(r"^\s*(\d+)\s+(minutes?|hours?|days?|working\s+days?)\s*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MISSING: Any = object()


def suggestion(word: str, choices: Collection[str]) -> str:
    """' (did you mean "x"?)' when a close match exists, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def parse_span(text: str, units: Collection[str]) -> Span | None:
    """'7 days' -> Span(7, 'days'); None when not a span in one of `units`."""
    match = _SPAN.match(text)
    if not match:
        return None
    unit = re.sub(r"\s+", " ", match.group(2))
    unit = unit if unit.endswith("s") else unit + "s"
    if unit not in units:
        return None
    return Span(int(match.group(1)), unit)  # type: ignore[arg-type]


@dataclass
class Table:
    """One table of a TOML file (e.g. the third [[schedule]]), read key by key."""

    file: str
    lines: TomlLines
    name: str
    index: int
    data: dict[str, Any]
    problems: list[Problem]

    def line(self, key: str | None = None) -> int:
        if key is None:
            return self.lines.table(self.name, self.index)
        return self.lines.key(self.name, self.index, key)

    def problem(self, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.file, self.line(key), message))

    @property
    def label(self) -> str:
        """How the user knows this table: [site], or [[schedule]] "daily"."""
        if not self.name:
            return "the top level"
        if self.name in ("recipient", "schedule"):
            ident = self.data.get("id")
            return f'[[{self.name}]] "{ident}"' if isinstance(ident, str) else f"[[{self.name}]]"
        return f"[{self.name}]"

    def check_keys(self, allowed: Collection[str], hints: dict[str, str] | None = None) -> None:
        """Report unknown keys, with a hint or a close match."""
        for key in self.data:
            if key in allowed:
                continue
            hint = (hints or {}).get(key) or f"remove it{suggestion(key, allowed)}"
            self.problem(key, f'unknown key "{key}" in {self.label}: {hint}')

    def get(self, key: str, kind: type[T], what: str, default: Any = MISSING) -> T | None:
        """The value of `key` if it has type `kind`; report and return None otherwise."""
        if key not in self.data:
            if default is MISSING:
                self.problem(None, f'missing required key "{key}" in {self.label}')
                return None
            return default  # type: ignore[no-any-return]
        value = self.data[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.problem(key, f"{key} must be {what}, not {_describe(value)}")
            return None
        return cast(T, value)

    def text(self, key: str, default: Any = MISSING) -> str | None:
        value = self.get(key, str, "text in quotes", default)
        if isinstance(value, str) and ("\n" in value or "\r" in value):
            self.problem(key, f"{key} must be on one line")
            return None
        return value

    def words(self, key: str, default: Any = MISSING) -> tuple[str, ...] | None:
        """A list of text values, e.g. roles = ["chair", "member"]."""
        value = self.get(key, list, 'a list of text values, like ["a", "b"]', default)
        if value is None:
            return None
        if not all(isinstance(item, str) for item in value):
            self.problem(key, f'{key} must be a list of text values, like ["a", "b"]')
            return None
        return tuple(value)

    def choice(self, key: str, choices: Collection[str], default: Any = MISSING) -> str | None:
        value = self.text(key, default)
        if value is not None and value not in choices:
            options = ", ".join(f'"{c}"' for c in choices)
            self.problem(
                key, f'{key} "{value}" is not one of {options}{suggestion(value, choices)}'
            )
            return None
        return value

    def identifier(self, key: str) -> str | None:
        value = self.text(key)
        if value is not None and not ID_PATTERN.match(value):
            self.problem(key, f'{key} "{value}" must use only a-z, 0-9 and single hyphens')
            return None
        return value

    def span(self, key: str, units: Collection[str], default: Any = MISSING) -> Span | None:
        value = self.text(key, default)
        if value is None or isinstance(value, Span):
            return value
        span = parse_span(value, units)
        if span is None:
            examples = " or ".join(f'"2 {u}"' for u in units)
            self.problem(key, f'{key} "{value}" is not a length of time like {examples}')
        return span

    def clock(self, key: str) -> time | None:
        value = self.text(key, None)
        if value is None:
            return None
        match = _CLOCK.match(value)
        if not match:
            self.problem(key, f'{key} "{value}" must be a 24-hour time like "09:00"')
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def dates(self, key: str) -> tuple[date, ...]:
        value = self.get(key, list, 'a list of dates, like ["2026-12-29"]', [])
        found: list[date] = []
        for item in value or []:
            parsed = _as_date(item)
            if parsed is None:
                self.problem(key, f'{key}: "{item}" is not a date like "2026-12-29"')
            else:
                found.append(parsed)
        return tuple(found)

    def checked(self, key: str, value: T | None, test: Callable[[T], str | None]) -> T | None:
        """Run `test` on a present value; it returns a message when the value is wrong."""
        if value is None:
            return None
        message = test(value)
        if message:
            self.problem(key, message)
            return None
        return value


def _as_date(item: object) -> date | None:
    if isinstance(item, date):
        return item
    if isinstance(item, str):
        try:
            return date.fromisoformat(item)
        except ValueError:
            return None
    return None


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, str):
        return f'"{value}" (text)'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"{value!r} ({type(value).__name__})"
