"""What every transport is: something that hands one message at a time to the outside world."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from digest.errors import DeliveryError, Problem, TransportUnavailable
from digest.model import DeliveryTable, OutgoingMessage, Site
from digest.settings import SettingsTable
from digest.site.fields import Table
from digest.site.toml import TomlLines

__all__ = ["Meanwhile", "Transport", "TransportKind", "TransportUnavailable"]

Meanwhile = Callable[[], Awaitable[None]]


class Transport(Protocol):
    """Something that hands one message at a time to the outside world."""

    async def open(self) -> None: ...

    async def send(self, message: OutgoingMessage, *, meanwhile: Meanwhile | None = None) -> None:
        """Hand the message over, or raise DeliveryError. `meanwhile`, when given, is
        awaited once before the message is handed over (the SMTP transport awaits it
        while the server answers the envelope): the worker records the message before
        there. If it raises, nothing of this message goes and the error propagates."""

    async def close(self) -> None: ...

    async def probe(self) -> None:
        """Try everything but sending (`check --smtp`); TransportUnavailable says what fails."""
        ...


Build = Callable[[Site, Mapping[str, str], "ssl.SSLContext | None"], Transport]
Check = Callable[[Table], None]


@dataclass(frozen=True)
class TransportKind:
    """One transport: its `[delivery] transport` name, how it checks its settings, how it is made."""

    name: str
    settings: SettingsTable  # its own keys of [delivery], with type, default and help
    check: Check  # reads its own keys of the [delivery] table, reporting each problem on it
    build: Build
    hints: Mapping[str, str] = field(default_factory=dict)  # for keys people try that it refuses


def delivery_reader(raw: DeliveryTable, problems: list[Problem]) -> Table:
    """The [delivery] table as site/config read it, for a transport to read its own keys."""
    lines = TomlLines(
        tables={("delivery", 0): raw.line},
        keys={("delivery", 0, key): line for key, line in raw.lines.items()},
    )
    return Table(raw.file, lines, "delivery", 0, dict(raw.values), problems)


def unusable(problems: list[Problem]) -> DeliveryError:
    """The error of a transport whose settings did not pass (check would have said so)."""
    return DeliveryError("; ".join(str(p) for p in problems), permanent=True)
