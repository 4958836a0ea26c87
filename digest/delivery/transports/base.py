"""What every transport is: something that hands one message at a time to the outside world."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from digest.errors import TransportUnavailable
from digest.model import DeliverySettings, OutgoingMessage, Site
from digest.settings import SettingsTable
from digest.site.fields import Table

__all__ = ["Transport", "TransportKind", "TransportUnavailable"]


class Transport(Protocol):
    """Something that hands one message at a time to the outside world."""

    async def open(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> None:
        """Hand the message over, or raise DeliveryError."""

    async def close(self) -> None: ...


Build = Callable[[Site, Mapping[str, str], "ssl.SSLContext | None"], Transport]
Check = Callable[[DeliverySettings, Table], None]


@dataclass(frozen=True)
class TransportKind:
    """One transport: its `[delivery] transport` name, how it checks its settings, how it is made."""

    name: str
    settings: SettingsTable  # its own keys of [delivery], with type, default and help
    check: Check  # reports problems of its own settings on the [delivery] table
    build: Build
