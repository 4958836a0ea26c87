"""Who an instance is: a random id per process, and where it runs.

A claim's holder is `<random id>@<host>/<boot id>:<PID namespace>/<PID>`. The random
part makes every process's id its own, so two containers with one host name never
pass for each other; the place and PID let a process notice at once that a claimant
of its own host, boot and PID namespace has died (a killed `digest send`).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# Random per process: two hosts (or containers) with one host name and PID never share it.
INSTANCE = secrets.token_hex(8)


def worker_id() -> str:
    """Who holds a claim: this process's random id, then where it runs and its PID, so a
    dead process of this very PID namespace can be seen at once."""
    return f"{INSTANCE}@{machine()}/{os.getpid()}"


@cache
def machine() -> str:
    """This host, boot and PID namespace: the kernel's boot id tells apart hosts (and
    their containers) that share a host name and a namespace number."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"{socket.gethostname()}/unknown-{INSTANCE}"  # nothing to share: no fast takeover
    return f"{socket.gethostname()}/{boot}:{namespace}"


def local_pid(holder: str) -> int | None:
    """The PID of a claimant of this host, boot and PID namespace; None for any other."""
    place, _, pid = holder.partition("@")[2].rpartition("/")
    return int(pid) if place == machine() and pid.isdigit() else None


def dead_here(holders: Iterable[str]) -> set[str]:
    """Those of `holders` that are processes of this host, boot and PID namespace, and
    gone (only those can be looked up here)."""
    return {h for h in holders if (pid := local_pid(h)) is not None and not process_exists(pid)}


def process_exists(pid: int) -> bool:
    """Whether a process of this machine is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def database_now(connection: Connection) -> datetime:
    """The database server's clock: the one time every instance agrees on."""
    if connection.dialect.name == "postgresql":
        value = connection.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        return cast(datetime, value).astimezone(UTC)
    text = connection.exec_driver_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").scalar_one()
    return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
