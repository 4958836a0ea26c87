"""The command line: `digest [--site DIR] COMMAND`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from digest.errors import ConfigError, DigestError, UsageError
from digest.model import Clock

# The marker's name, said here so that `--help` does not import the delivery layer.
MARKER = ".digest-sent-before"

Handler = Callable[[argparse.Namespace], int]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a date: write YYYY-MM-DD') from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f'"{text}" must be a whole number of at least 1')
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Performance figures for elected members, on time and never twice.",
    )
    parser.add_argument(
        "--site",
        type=Path,
        default=None,
        help="the site folder (default: $DIGEST_SITE or the current folder)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_reading_commands(commands)
    _add_delivery_commands(commands)
    _add_recording_commands(commands)
    _add_web_commands(commands)
    _add_audit_commands(commands)
    return parser


def _add_reading_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("check", help="validate the whole site; FILE:LINE: message per problem")
    cmd.add_argument("--smtp", action="store_true",
                     help="also try the mail server: connect, TLS, login and sender, sending nothing")  # fmt: skip
    cmd = commands.add_parser("indicators", help="status of every measure as of a date")
    cmd.add_argument("--on", type=_date, help="as of this date (default: today)")
    cmd.add_argument("--json", action="store_true", help="print a JSON array")
    cmd.add_argument("--measure", help="explain one measure in detail (why is it red?)")
    cmd = commands.add_parser("preview", help="render a schedule's emails without sending")
    cmd.add_argument("schedule", metavar="SCHEDULE")
    cmd.add_argument("--on", type=_date, help="the occurrence of this date (default: today)")
    cmd.add_argument("--recipient", metavar="ID", help="only this recipient")
    cmd.add_argument(
        "--out", type=Path, default=Path("preview"), help="folder to write to (default: preview)"
    )
    cmd = commands.add_parser("upcoming", help="occurrences to come, in local time")
    cmd.add_argument("--from", dest="start", type=_date, help="first day (default: today)")
    cmd.add_argument("--days", type=_positive, default=14, help="how many days (default: 14)")
    cmd.add_argument("--json", action="store_true", help="print a JSON array")


def _add_delivery_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("send", help="run a schedule's occurrence now")
    cmd.add_argument("schedule", metavar="SCHEDULE")
    cmd.add_argument("--on", type=_date, help="the occurrence of this date (default: today)")
    cmd.add_argument(
        "--dry-run", action="store_true", help="say what would be sent; send and record nothing"
    )
    _add_new_state(cmd)
    _add_new_state(commands.add_parser("run", help="the scheduler, until SIGTERM or SIGINT"))
    cmd = commands.add_parser("status", help="recent runs, deliveries by state, next occurrences")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    cmd = commands.add_parser("retry", help="send again what is due, or failed")
    cmd.add_argument("--failed", action="store_true", help="also send again what failed for good")
    _add_new_state(cmd)


def _add_new_state(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--new-state",
        action="store_true",
        help=f"send from this store although the site has sent before from another ({MARKER} "
        "names it): the new store remembers nothing, so everything due is sent again",
    )


def _add_recording_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("publish", help="record a scorecard publication")
    cmd.add_argument("scorecard", metavar="SCORECARD")
    cmd.add_argument(
        "--period-end", type=_date, required=True, help="last day of the period reported"
    )
    cmd.add_argument("--url", required=True, help="where the scorecard is published")
    cmd.add_argument("--on", type=_date, help="publication date (default: today)")
    cmd = commands.add_parser("request", help="record a member's deep-dive request")
    cmd.add_argument("measure", metavar="MEASURE")
    cmd.add_argument("--by", required=True, metavar="RECIPIENT", help="the member's recipient id")
    cmd.add_argument("--on", type=_date, help="date of the request (default: today)")


def _add_web_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("serve", help="the web application for members' answers")
    cmd.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    cmd.add_argument("--port", type=_port, default=8000, help="port to listen on (default: 8000)")
    cmd.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="IPS",
        help="proxies trusted for X-Forwarded-* headers (default: 127.0.0.1)",
    )
    cmd = commands.add_parser("answers", help="deep-dive requests, feedback and theme choices")
    cmd.add_argument("--from", dest="start", type=_date, help="only answers since this date")
    cmd.add_argument("--json", action="store_true", help="print JSON")


def _add_audit_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("approve", help="sign off an occurrence; sends it if it is due")
    cmd.add_argument("schedule", metavar="SCHEDULE")
    cmd.add_argument("--on", type=_date, help="the occurrence of this date (default: today)")
    cmd.add_argument("--by", required=True, metavar="RECIPIENT", help="the approver's id")
    _add_new_state(cmd)
    cmd = commands.add_parser("history", help="the audit: what was sent to whom, when")
    cmd.add_argument("--recipient", metavar="ID", help="only what this recipient was sent")
    cmd.add_argument("--schedule", metavar="ID", help="only this schedule's messages")
    cmd.add_argument("--from", dest="start", type=_date, help="sent on or after this date")
    cmd.add_argument("--to", dest="end", type=_date, help="sent on or before this date")
    cmd.add_argument("--json", action="store_true", help="print JSON")
    commands.add_parser("purge", help="apply [retention] now: old messages, then old records")


def _port(text: str) -> int:
    port = _positive(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f'"{text}" must be a port number from 1 to 65535')
    return port


# Each command's module, imported only when that command runs: `check` need not load
# the database and SMTP libraries.
MODULES = {
    "upcoming": "digest.cli.calendar_commands",
    "publish": "digest.cli.calendar_commands",
    "request": "digest.cli.calendar_commands",
    "send": "digest.cli.delivery_commands",
    "retry": "digest.cli.delivery_commands",
    "status": "digest.cli.delivery_commands",
    "run": "digest.cli.delivery_commands",
    "serve": "digest.cli.web_commands",
    "answers": "digest.cli.web_commands",
    "approve": "digest.cli.audit_commands",
    "history": "digest.cli.audit_commands",
    "purge": "digest.cli.audit_commands",
}


def _handler(command: str) -> Handler:
    module = importlib.import_module(MODULES.get(command, "digest.cli.site_commands"))
    return getattr(module, "cmd_" + command.replace("-", "_"))  # type: ignore[no-any-return]


def system_clock() -> datetime:
    """The one place digest reads the clock."""
    return datetime.now(UTC)


def main(argv: Sequence[str] | None = None, clock: Clock = system_clock) -> int:
    """Run one command; `clock` tells every command the time (tests pass a fixed one)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock
    # The real clock: leases and claims then go by the database's (tests' fixed clocks rule).
    args.database_clock = clock is system_clock
    args.site = (args.site or Path(os.environ.get("DIGEST_SITE") or ".")).resolve()
    # Our own events at INFO; libraries (alembic, apscheduler) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    # The daemon logs one line per event; other commands print their own summary.
    logging.getLogger("digest").setLevel(
        logging.INFO if args.command in ("run", "serve") else logging.WARNING
    )
    try:
        return _handler(args.command)(args)
    except Exception as exc:
        if os.environ.get("DIGEST_DEBUG") and not isinstance(exc, DigestError):
            raise
        return _report(args.command, exc)
    except KeyboardInterrupt:
        print(f"digest {args.command}: interrupted", file=sys.stderr)
        return 130


def _report(command: str, exc: Exception) -> int:
    """Say what went wrong in one line per problem, and choose the exit code."""
    if isinstance(exc, UsageError):
        flag = f"--{exc.argument.replace('_', '-')} " if exc.argument else ""
        print(f"digest {command}: {flag}{exc}", file=sys.stderr)
        return 2
    if isinstance(exc, ConfigError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"digest {command}: the site has problems; run 'digest check' and fix them",
              file=sys.stderr)  # fmt: skip
        return 1
    if isinstance(exc, DigestError):
        print(f"digest {command}: {exc}", file=sys.stderr)
        return 1
    if isinstance(exc, BrokenPipeError):
        return 0
    if (store_problem := _store_problem(exc)) is not None:
        print(f"digest {command}: {store_problem}", file=sys.stderr)
        return 1
    # A bug: say so in one line; the traceback only on request.
    print(f"digest {command}: internal error: {type(exc).__name__}: {exc} "
          "(set DIGEST_DEBUG=1 to see where)", file=sys.stderr)  # fmt: skip
    return 1


def _store_problem(exc: Exception) -> str | None:
    """A database that does not answer, said in one line: its own first line of error,
    never the SQL or its parameters."""
    from sqlalchemy.exc import SQLAlchemyError

    from digest.delivery.store import said

    if not isinstance(exc, SQLAlchemyError):
        return None
    if "readonly" in said(exc).replace(" ", "").replace("-", "").lower():
        hint = "give digest write access to its state store (.digest/state.db and its folder)"
    else:
        hint = ("check that the database is running and reachable (DIGEST_DATABASE_URL); "
                "nothing recorded is lost, and the next run takes up where this one stopped")  # fmt: skip
    return f"the state store did not answer ({said(exc, named=True)}): {hint}"


if __name__ == "__main__":
    sys.exit(main())
