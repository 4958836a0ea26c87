"""Which store a site sends from: a random id kept in the store, and a marker in the site.

The store is the only memory of what was sent. If it is lost (`.digest/state.db`
deleted, DIGEST_DATABASE_URL pointing at another or an empty database), a new
store remembers nothing and would mail every member again. So the first send
from a store writes its id to a marker file in the site folder, outside
`.digest/`; the commands that send refuse a store whose id is not the marker's
until they are told `--new-state`.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from digest.delivery.store import DELIVERY, SENT, Store, UtcDateTime
from digest.errors import DigestError

log = logging.getLogger("digest")

MARKER = ".digest-sent-before"

STORE_IDENTITY = sa.Table(
    "store_identity",
    sa.MetaData(),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)


class StateLost(DigestError):
    """The site has sent before from a store that is not the one open now."""


@dataclass(frozen=True)
class Marker:
    """What the marker says: the store the site sent from (None: it cannot be read)."""

    path: Path
    store: str | None
    database: str = ""


def store_id(store: Store) -> str:
    """The store's own random id (given by migration 0008)."""
    with store.transaction() as connection:
        found = connection.execute(sa.select(STORE_IDENTITY.c.id).limit(1)).scalar_one()
    return str(found)


def read_marker(site_root: Path) -> Marker | None:
    """The site's marker, or None when the site has not sent from any store."""
    path = site_root / MARKER
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return Marker(path, None)
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return Marker(path, None)
    found = values.get("store")
    database = values.get("database")
    return Marker(path, found if isinstance(found, str) and found else None,
                  database if isinstance(database, str) else "")  # fmt: skip


def write_marker(site_root: Path, store: Store, now: datetime) -> Path:
    """Record that this site sends from this store (atomically: a reader sees all or nothing)."""
    path = site_root / MARKER
    database = store.engine.url.render_as_string(hide_password=True)
    text = (
        "# Written by digest: this site has sent email from the store named here.\n"
        "# If that store is lost, digest refuses to send from another (it would mail\n"
        "# every member again): restore the store, or pass --new-state to start afresh.\n"
        "# Keep this file; do not copy it to another site.\n"
        f'store = "{store_id(store)}"\n'
        f"database = {_toml_string(database)}\n"
        f'since = "{now.isoformat(timespec="seconds")}"\n'
    )
    partial = path.with_name(f"{MARKER}.{os.getpid()}.tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lost_store_problem(site_root: Path, store: Store) -> str | None:
    """Why sending from this store would mail members again, or None when it is the site's own."""
    marker = read_marker(site_root)
    if marker is None or marker.store == store_id(store):
        return None
    if marker.store is None:
        sent_from = "from a store it cannot name (the marker cannot be read)"
    else:
        elsewhere = f", {marker.database}" if marker.database else ""
        sent_from = f"from store {marker.store}{elsewhere}"
    now_open = store.engine.url.render_as_string(hide_password=True)
    return (
        f"{marker.path}: this site has sent before {sent_from}, and that store is no longer "
        f"here (the store open now, {now_open}, is another); sending now would mail every "
        "member again. Restore the store (or DIGEST_DATABASE_URL), or pass --new-state to "
        "start afresh knowingly"
    )


def guard(site_root: Path, store: Store, now: datetime, *, new_state: bool = False) -> str | None:
    """Refuse (StateLost) to send from a store that is not the site's own, unless
    `new_state`: then the marker names this store from now on (said in the line returned).
    A site that sent before the marker existed is marked now."""
    problem = lost_store_problem(site_root, store)
    if problem is not None and not new_state:
        raise StateLost(problem)
    if problem is not None:
        path = write_marker(site_root, store, now)
        return f"--new-state: starting afresh with a new store; {path} names it from now on"
    if read_marker(site_root) is None and _has_sent(store):
        write_marker(site_root, store, now)
    return None


def mark_sent(site_root: Path, store: Store, now: datetime) -> bool:
    """After a send: mark the site as sending from this store, unless it is marked
    already (another store's marker is `guard`'s to refuse, never overwritten here).
    True when the site is marked with this store."""
    try:
        marker = read_marker(site_root)
        if marker is None:
            write_marker(site_root, store, now)
            return True
        return marker.store == store_id(store)
    except OSError as exc:
        log.error("could not write %s (%s): a lost store would not be noticed", site_root / MARKER,
                  exc.strerror or exc)  # fmt: skip
        return False


def _has_sent(store: Store) -> bool:
    with store.transaction() as connection:
        query = sa.select(DELIVERY.c.id).where(DELIVERY.c.state == SENT).limit(1)
        return connection.execute(query).first() is not None
