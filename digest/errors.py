"""The one exception family of digest: every error a user can see."""

from __future__ import annotations

from dataclasses import dataclass


class DigestError(Exception):
    """Base of every error digest raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the site, located as FILE:LINE."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ConfigError(DigestError):
    """One or more problems in the site's files; all of them, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DeliveryError(DigestError):
    """A message could not be handed over; `permanent` says whether to retry."""

    def __init__(self, message: str, *, permanent: bool = False, code: int | None = None) -> None:
        self.permanent = permanent
        self.code = code
        super().__init__(message)


class TransportUnavailable(DeliveryError, ConnectionError):
    """The transport could not be used at all (down, TLS, login): not this message's fault.

    Also a ConnectionError, as aiosmtplib's SMTPServerDisconnected is.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class ReplyLost(DeliveryError):
    """The connection went after the message's data was sent, before the server's reply:
    the server may well have taken it. Not resent at once (see worker.py)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class HeaderInjectionError(DigestError):
    """A header value (name, subject) carried CR/LF or an encoded-word trick."""


class UsageError(DigestError):
    """The command line asked for something that cannot be done (exit 2).

    `argument` names the input the message is about ("url", "period_end"), so
    each front end can say it its own way: the CLI as `--url`, a page as a field.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        self.argument = argument
        super().__init__(message)


class RunBroken(DigestError):
    """An occurrence could not be composed (a template or data the checks let through):
    its run is recorded as broken, and every other schedule goes on."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem
