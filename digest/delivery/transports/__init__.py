"""Handing finished messages over: SMTP through aiosmtplib, or a pickup directory."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import ssl
import uuid
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from digest.errors import DeliveryError
from digest.model import DeliverySettings, OutgoingMessage, Site
from digest.site.config import is_loopback

PASSWORD_ENV = "DIGEST_SMTP_PASSWORD"


class Transport(Protocol):
    """Something that hands one message at a time to the outside world."""

    async def open(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> None:
        """Hand the message over, or raise DeliveryError."""

    async def close(self) -> None: ...


class TransportUnavailable(DeliveryError):
    """The server could not be used at all (down, TLS, login): not this message's fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


def transport_for(
    site: Site,
    environ: Mapping[str, str] = os.environ,
    tls_context: ssl.SSLContext | None = None,
) -> Transport:
    """The transport `[delivery]` in schedules.toml asks for."""
    if site.delivery.transport == "pickup":
        return PickupTransport(site.root / site.delivery.pickup_dir)
    return SmtpTransport(site.delivery, site.settings.sender, environ, tls_context=tls_context)


class SmtpTransport:
    """SMTP with one connection reused for a batch, reopened when the server drops it."""

    def __init__(
        self,
        settings: DeliverySettings,
        sender: str,
        environ: Mapping[str, str] = os.environ,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_security(settings)
        self._settings = settings
        self._server = f"{settings.host}:{settings.port}"
        self._sender = parseaddr(sender)[1]
        self._tls_context = tls_context or ssl.create_default_context()
        self._password: str | None = None
        if settings.username:
            self._password = environ.get(PASSWORD_ENV) or None
            if self._password is None:
                raise DeliveryError(
                    f"[delivery] username is set but {PASSWORD_ENV} is not: set it in the"
                    " environment of digest",
                    permanent=True,
                )
        self._client: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        """Connect (and log in) now, so a broken setup shows before the first message."""
        try:
            async with asyncio.timeout(self._settings.timeout_seconds):
                await self._connected()
        except TimeoutError:
            self._drop()
            raise TransportUnavailable(
                f"SMTP server {self._server} did not answer within"
                f" {self._settings.timeout_seconds:g}s"
            ) from None

    async def send(self, message: OutgoingMessage) -> None:
        """Send to the one recipient, reconnecting once if the server dropped us."""
        try:
            async with asyncio.timeout(self._settings.timeout_seconds):
                await self._send_reconnecting(message)
        except TimeoutError:
            self._drop()
            raise TransportUnavailable(
                f"{self._server} took longer than {self._settings.timeout_seconds:g}s"
                f" to take the message to {message.recipient.email}"
            ) from None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _quit(client)

    async def _send_reconnecting(self, message: OutgoingMessage) -> None:
        for retry in (False, True):
            client = await self._connected()
            try:
                await client.sendmail(self._sender, [message.recipient.email], message.raw)
                return
            except aiosmtplib.SMTPServerDisconnected as error:
                self._drop()
                if retry:
                    raise self._unavailable("dropped the connection twice", error) from None
            except aiosmtplib.SMTPRecipientsRefused as error:
                raise self._refused(message, error.recipients[0]) from None
            except aiosmtplib.SMTPResponseException as error:
                raise self._refused(message, error) from None
            except aiosmtplib.SMTPNotSupported as error:
                raise DeliveryError(self._scrub(str(error)), permanent=True) from None
            except (aiosmtplib.SMTPException, OSError) as error:
                self._drop()
                raise self._unavailable("failed while sending", error) from None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        security = self._settings.security
        client = aiosmtplib.SMTP(
            hostname=self._settings.host,
            port=self._settings.port,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            tls_context=self._tls_context,
            timeout=self._settings.timeout_seconds,
        )
        try:
            await client.connect()
            if self._settings.username and self._password:
                await client.login(self._settings.username, self._password)
        except (aiosmtplib.SMTPException, OSError) as error:
            await _quit(client)  # e.g. connected but the login was refused
            raise self._unavailable("could not be used", error) from None
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _refused(
        self, message: OutgoingMessage, error: aiosmtplib.SMTPResponseException
    ) -> DeliveryError:
        text = f"{self._server} refused the message to {message.recipient.email}:"
        text += f" {error.code} {self._scrub(error.message)}"
        return DeliveryError(text, permanent=error.code >= 500, code=error.code)

    def _unavailable(self, what: str, error: BaseException) -> TransportUnavailable:
        reason = self._scrub(str(error) or type(error).__name__)
        return TransportUnavailable(f"SMTP server {self._server} {what}: {reason}")

    def _scrub(self, text: str) -> str:
        """Remove the password, plain or in the encodings AUTH uses, from server text."""
        if not self._password:
            return text
        user = self._settings.username or ""
        secrets = {
            self._password,
            base64.b64encode(self._password.encode()).decode(),
            base64.b64encode(f"\0{user}\0{self._password}".encode()).decode(),
        }
        for secret in secrets:
            text = text.replace(secret, "********")
        return text


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Say goodbye if the server is still listening; close the socket in any case."""
    try:
        if client.is_connected:
            await client.quit(timeout=5)
    except (aiosmtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
        # Let the event loop finish closing the socket (and any TLS layer) now.
        await asyncio.sleep(0)


def _check_security(settings: DeliverySettings) -> None:
    """Refuse settings that would send mail or a password in clear over a network."""
    if settings.security != "none":
        return
    if settings.username:
        raise DeliveryError(
            '[delivery] has a username with security = "none": the password would cross'
            ' the network in clear; use security = "starttls" or "tls"',
            permanent=True,
        )
    if not is_loopback(settings.host):
        raise DeliveryError(
            f'[delivery] security = "none" is only allowed to a loopback host'
            f' (localhost, 127.0.0.1, ::1), not {settings.host}; use "starttls" or "tls"',
            permanent=True,
        )


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

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TransportUnavailable(f"cannot create {self.directory}: {error}") from None

    async def send(self, message: OutgoingMessage) -> None:
        """Write the message under a temporary name, then rename it into place."""
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as error:
            raise TransportUnavailable(f"cannot write to {self.directory}: {error}") from None

    async def close(self) -> None:
        return None

    def _write(self, message: OutgoingMessage) -> None:
        final = self.directory / pickup_name(message.delivery_key)
        # A dot name and a .tmp suffix: collectors that take *.eml never see it half written.
        temporary = self.directory / f".{final.name}.{uuid.uuid4().hex}.tmp"
        try:
            with open(temporary, "wb") as handle:
                handle.write(message.raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(self.directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
