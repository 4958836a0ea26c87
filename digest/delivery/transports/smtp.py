"""SMTP through aiosmtplib: one connection reused for a batch."""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal, cast

import aiosmtplib

from digest.delivery.transports.base import (
    Meanwhile,
    Transport,
    TransportKind,
    delivery_reader,
    unusable,
)
from digest.errors import DeliveryError, Problem, ReplyLost, TransportUnavailable
from digest.model import OutgoingMessage, Site
from digest.settings import Setting, SettingsTable
from digest.site.fields import Table
from digest.site.web import is_loopback  # one rule, beside [web]'s own use of it

PASSWORD_ENV = "DIGEST_SMTP_PASSWORD"

HINTS = {
    "password": f"remove it: the password comes only from the {PASSWORD_ENV} environment variable"
}
SETTINGS = SettingsTable(
    "[delivery] smtp",
    (
        Setting("host", "host name or address", "127.0.0.1", "the mail server"),
        Setting("port", "whole number", 587, "its port"),
        Setting(
            "security",
            "starttls, tls or none",
            "starttls",
            '"none" only to a loopback host (localhost, 127.0.0.1, ::1)',
        ),
        Setting(
            "username",
            "text",
            None,
            f"log in as this; the password comes only from {PASSWORD_ENV}",
        ),
        Setting("timeout", "whole number of seconds", 60, "how long the server may take to answer"),
    ),
)


Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    """The [delivery] keys of the smtp transport, read and checked."""

    host: str = SETTINGS["host"].default
    port: int = SETTINGS["port"].default
    security: Security = SETTINGS["security"].default
    username: str | None = None
    timeout_seconds: float = float(SETTINGS["timeout"].default)


def security_problems(host: str, security: str, username: str | None) -> Iterator[tuple[str, str]]:
    """(key, message) for settings that would send mail or a password in clear over a network."""
    if security != "none":
        return
    if not is_loopback(host):
        yield (
            "security",
            (
                f'security = "none" is only allowed to a loopback host'
                f' (localhost, 127.0.0.1, ::1), not "{host}": use "starttls" or "tls"'
            ),
        )
    if username:
        yield (
            "username",
            (
                'a username with security = "none" would send the password in clear:'
                ' use security = "starttls" or "tls"'
            ),
        )


def read(table: Table) -> SmtpSettings | None:
    """The smtp settings of [delivery], each problem reported on its line."""
    host = table.text("host", SETTINGS["host"].default)
    port = table.get("port", int, "a whole number", SETTINGS["port"].default)
    port = table.checked("port", port, _port_problem)
    security = table.choice("security", SECURITIES, SETTINGS["security"].default)
    username = table.text("username", None)
    timeout = table.get("timeout", int, "a whole number of seconds", SETTINGS["timeout"].default)
    if host is not None and security is not None:
        for key, message in security_problems(host, security, username):
            table.problem(key, message)
    if host is None or port is None or security is None or timeout is None:
        return None
    return SmtpSettings(host, port, cast(Security, security), username, float(timeout))


def check(table: Table) -> None:
    """Report the SMTP settings that cannot be used, on the lines that set them."""
    read(table)


def _port_problem(port: int) -> str | None:
    return None if 0 < port < 65536 else f"port {port} must be between 1 and 65535"


def build(site: Site, environ: Mapping[str, str], tls_context: ssl.SSLContext | None) -> Transport:
    problems: list[Problem] = []
    settings = read(delivery_reader(site.delivery, problems))
    if settings is None or problems:
        raise unusable(problems)
    return SmtpTransport(settings, site.settings.sender, environ, tls_context=tls_context)


TRANSPORT = TransportKind("smtp", SETTINGS, check, build, HINTS)


DATA_REFUSALS_FOR_OUTAGE = 3  # permanent refusals at DATA, none taken: the server's


class SmtpTransport:
    """SMTP with one connection reused for a batch, reopened when the server drops it."""

    def __init__(
        self,
        settings: SmtpSettings,
        sender: str,
        environ: Mapping[str, str] = os.environ,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        for _, problem in security_problems(settings.host, settings.security, settings.username):
            raise DeliveryError(f"[delivery] {problem}", permanent=True)
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
        # Until the server has taken one message, a refusal at DATA may be the server's
        # (a server-wide 554), not the message's: see `_refused_data`.
        self._accepted = 0
        self._data_refusals = 0

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

    async def send(self, message: OutgoingMessage, *, meanwhile: Meanwhile | None = None) -> None:
        """Send to the one recipient, reconnecting once if the server dropped us;
        `meanwhile` is awaited while the server answers MAIL FROM (its time is not
        counted against the timeout)."""
        try:
            async with asyncio.timeout(self._settings.timeout_seconds) as deadline:
                await self._send_reconnecting(message, meanwhile, deadline)
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

    async def _send_reconnecting(
        self, message: OutgoingMessage, meanwhile: Meanwhile | None, deadline: asyncio.Timeout
    ) -> None:
        for retry in (False, True):
            client, data = await self._connected(), False
            try:
                await self._envelope_from(client, meanwhile, deadline)
                meanwhile = None  # once, even when the connection has to be made again
                await client.rcpt(message.recipient.email)
                data = True  # from here a lost connection may hide a delivered message
                await client.data(message.raw)
                self._accepted += 1
                return
            except TransportUnavailable:
                raise
            except aiosmtplib.SMTPServerDisconnected as error:
                self._drop()
                if data:
                    raise ReplyLost(f"{self._server} went without replying to the message data") from None
                if retry:
                    raise self._unavailable("dropped the connection twice", error) from None
            except aiosmtplib.SMTPResponseException as error:
                self._drop()  # a fresh connection, not a half-open envelope, for the next one
                if data and error.code >= 500:
                    raise self._refused_data(message, error) from None
                raise self._refused(message, error) from None
            except aiosmtplib.SMTPNotSupported as error:
                raise DeliveryError(self._scrub(str(error)), permanent=True) from None
            except (aiosmtplib.SMTPException, OSError) as error:
                self._drop()
                raise self._unavailable("failed while sending", error) from None

    async def _envelope_from(
        self, client: aiosmtplib.SMTP, meanwhile: Meanwhile | None, deadline: asyncio.Timeout
    ) -> None:
        """MAIL FROM, with `meanwhile` awaited while the server works on it."""
        if meanwhile is None:
            await self._mail_from(client)
            return
        mail = asyncio.ensure_future(self._mail_from(client))
        await asyncio.sleep(0)  # let it write the command before meanwhile takes the loop
        deadline.reschedule(None)  # the store's time is not the server's
        try:
            await meanwhile()
        except BaseException:
            await asyncio.gather(mail, return_exceptions=True)
            self._drop()  # no half-open envelope left for the next message
            raise
        deadline.reschedule(asyncio.get_running_loop().time() + self._settings.timeout_seconds)
        await mail

    async def _mail_from(self, client: aiosmtplib.SMTP) -> None:
        """MAIL FROM; a permanent refusal of the sender stops all delivery, not one message."""
        try:
            await client.mail(self._sender)
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                self._drop()
                raise TransportUnavailable(
                    f"SMTP server {self._server} refuses the sender {self._sender}: {error.code} "
                    f"{self._scrub(error.message)}: check [site] sender and the server's relay rules"
                ) from None
            raise

    async def probe(self) -> None:
        """Connect, secure and log in as configured, and offer the sender, sending nothing."""
        await self.open()
        client = await self._connected()
        try:
            async with asyncio.timeout(self._settings.timeout_seconds):
                await self._mail_from(client)
                await client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            self._drop()
            raise self._unavailable("could not be used", error) from None
        finally:
            await self.close()

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

    def _refused_data(
        self, message: OutgoingMessage, error: aiosmtplib.SMTPResponseException
    ) -> DeliveryError:
        """A permanent refusal of the message data. Once the server has taken a message,
        it is this message's; before that, it may be the server refusing everything, so
        the first ones retry later, and DATA_REFUSALS_FOR_OUTAGE in a row stop delivery
        (the message in hand waits untried) instead of failing every member for good."""
        if self._accepted:
            return self._refused(message, error)
        self._data_refusals += 1
        reply = f"{error.code} {self._scrub(error.message)}"
        if self._data_refusals >= DATA_REFUSALS_FOR_OUTAGE:
            return TransportUnavailable(
                f"SMTP server {self._server} refuses every message at DATA ({reply}): ask its "
                "administrator why (relay, content or policy rules) before sending again"
            )
        return DeliveryError(
            f"{self._server} refused the message to {message.recipient.email}: {reply} "
            "(tried again later: the server has taken no message yet)",
            permanent=False, code=error.code,
        )  # fmt: skip

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
