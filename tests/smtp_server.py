"""A real SMTP server (aiosmtpd) on 127.0.0.1 for delivery tests, configurable per test."""

from __future__ import annotations

import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message_id(self) -> str:
        return str(message_from_bytes(self.data)["Message-ID"])


class RecordingHandler:
    """Records accepted messages; refuses given recipients or drops connections on request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._refusals: dict[str, list[int]] = {}  # email -> [code, times left]
        self._drop_after: int | None = None
        self.dropped = 0
        self._lose_every: int | None = None
        self.sender_refusal: str | None = None  # e.g. "550 5.7.1 not allowed to relay"
        self.data_refusal: str | None = None  # e.g. "554 5.7.1 rejected": every message
        self.mails = 0  # MAIL FROM commands seen
        # Called with each message's bytes as it arrives, before it is taken (in the
        # server's thread): a test looks at the store at that moment.
        self.on_data: Callable[[bytes], None] | None = None

    def refuse(self, email: str, code: int, times: int = 1_000_000) -> None:
        """Answer `code` to RCPT TO for this address, `times` times."""
        with self._lock:
            self._refusals[email] = [code, times]

    def drop_after(self, count: int) -> None:
        """Once `count` messages have been accepted, cut the next connection at MAIL FROM."""
        with self._lock:
            self._drop_after = count

    def lose_reply_every(self, count: int) -> None:
        """Take every `count`-th message, then cut the connection instead of replying."""
        with self._lock:
            self._lose_every = count

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            self.mails += 1
            drop = self._drop_after is not None and len(self.received) >= self._drop_after
            if drop:
                self._drop_after = None
                self.dropped += 1
        if drop:
            server.transport.abort()  # no answer at all: the client sees the connection go
            return "421 4.3.0 gone"
        if self.sender_refusal is not None:
            return self.sender_refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            refusal = self._refusals.get(address)
            if refusal is not None and refusal[1] > 0:
                refusal[1] -= 1
                code = refusal[0]
                kind = "4.2.1 try again later" if code < 500 else "5.1.1 no such user"
                return f"{code} {kind}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_refusal is not None:
            return self.data_refusal
        if self.on_data is not None:
            self.on_data(bytes(envelope.content))
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
            lose = self._lose_every is not None and len(self.received) % self._lose_every == 0
        if lose:
            server.transport.abort()  # taken, but the client never hears so
        return "250 Message accepted"

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        with self._lock:
            return Counter(r.message_id for r in self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Authenticator:
    """Accepts one login; a refusal echoes what it was given, as careless servers do."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        if (login, password) == (self.username, self.password):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad {password}")


class SmtpServer:
    """aiosmtpd in a thread on a free loopback port; use as a context manager."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.handler = RecordingHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        options: dict[str, Any] = {}
        if starttls is not None:
            options.update(tls_context=starttls, require_starttls=True)
        if login is not None:
            options.update(authenticator=Authenticator(*login), auth_require_tls=True)
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, ssl_context=implicit_tls, **options
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._controller.stop()
