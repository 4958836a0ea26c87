"""The pickup directory: one `.eml` file per message, for a mail server to collect."""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from collections.abc import Mapping
from pathlib import Path

from digest.delivery.transports.base import (
    Meanwhile,
    Transport,
    TransportKind,
    delivery_reader,
    unusable,
)
from digest.errors import Problem, TransportUnavailable
from digest.files import write_atomically
from digest.model import OutgoingMessage, Site
from digest.settings import Setting, SettingsTable
from digest.site.fields import Table

SETTINGS = SettingsTable(
    "[delivery] pickup",
    (
        Setting(
            "pickup_dir", "folder", "outbox", "where .eml files are written, relative to the site"
        ),
    ),
)


def read(table: Table) -> str | None:
    """pickup_dir, the folder (relative to the site) that .eml files are written to."""
    return table.text("pickup_dir", SETTINGS["pickup_dir"].default)


def check(table: Table) -> None:
    read(table)


def build(site: Site, environ: Mapping[str, str], tls_context: ssl.SSLContext | None) -> Transport:
    problems: list[Problem] = []
    directory = read(delivery_reader(site.delivery, problems))
    if directory is None or problems:
        raise unusable(problems)
    return PickupTransport(site.root / directory)


TRANSPORT = TransportKind("pickup", SETTINGS, check, build)


_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def pickup_name(delivery_key: str) -> str:
    """A readable, filesystem-safe and unique file name for a delivery."""
    readable = _UNSAFE.sub("_", delivery_key).strip("._")[:150]
    # The mapping above can merge two keys ("a/b" and "a_b"); the hash keeps them apart.
    digest = hashlib.sha256(delivery_key.encode("utf-8")).hexdigest()[:12]
    return f"{readable}.{digest}.eml"


class PickupTransport:
    """Writes one `.eml` per message into a folder that a mail server collects from."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def probe(self) -> None:
        """The folder can be made and written to (a file is written and removed)."""
        await self.open()
        trial = self.directory / ".digest-probe"
        try:
            trial.write_bytes(b"")
            trial.unlink()
        except OSError as error:
            raise TransportUnavailable(f"cannot write to {self.directory}: {error}") from None

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TransportUnavailable(f"cannot create {self.directory}: {error}") from None

    async def send(self, message: OutgoingMessage, *, meanwhile: Meanwhile | None = None) -> None:
        """Write the message under a temporary name, then rename it into place."""
        if meanwhile is not None:
            await meanwhile()  # before the file: once written, the message has gone
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as error:
            raise TransportUnavailable(f"cannot write to {self.directory}: {error}") from None

    async def close(self) -> None:
        return None

    def _write(self, message: OutgoingMessage) -> None:
        final = self.directory / pickup_name(message.delivery_key)
        # A dot name and a .tmp suffix: collectors that take *.eml never see it half written.
        write_atomically(final, message.raw)
