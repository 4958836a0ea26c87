"""Delivery state: SQLModel tables, the engine, migrations and the run log."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Dialect, Engine
from sqlmodel import Field, SQLModel

from digest.delivery.instances import database_now, worker_id
from digest.errors import DigestError
from digest.model import OutgoingMessage

__all__ = [
    "database_now",
    "worker_id",
]  # claimants' ids live in instances.py; older callers import it here

PENDING, SENDING, SENT, RETRYING, FAILED = "pending", "sending", "sent", "retrying", "failed"
STATES = (PENDING, SENDING, SENT, RETRYING, FAILED)
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name, "") or default)


# Every bound on waiting for the database, in one place (issue 13's retries read them).
# A lock held by a stalled (or SIGSTOPped) process must not stop the others for long:
# a waiter gives up after LOCK_TIMEOUT, and the server ends a transaction left idle
# for IDLE_IN_TRANSACTION, freeing its locks.
LOCK_TIMEOUT_MS = int(_setting("DIGEST_DB_LOCK_TIMEOUT_MS", 5_000))
STATEMENT_TIMEOUT_MS = int(_setting("DIGEST_DB_STATEMENT_TIMEOUT_MS", 60_000))
IDLE_IN_TRANSACTION_MS = int(_setting("DIGEST_DB_IDLE_IN_TRANSACTION_MS", 30_000))
CONNECT_TIMEOUT_SECONDS = int(_setting("DIGEST_DB_CONNECT_TIMEOUT_SECONDS", 10))
MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every digest process.
PG_MIGRATION_LOCK = 0x6469676573
_MIGRATING = threading.Lock()


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware UTC datetime on every dialect (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        # SQLite stores text: naive UTC keeps it fixed-width, so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _timestamp(*, nullable: bool) -> Any:
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable)


class Delivery(SQLModel, table=True):
    """One message to one recipient for one occurrence of a schedule."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.Index("ix_delivery_due", "state", "next_attempt_at"),
        sa.Index("ix_delivery_occurrence", "schedule_id", "occurrence_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_key: str = Field(max_length=400, unique=True)
    schedule_id: str = Field(max_length=100)
    occurrence_key: str = Field(max_length=100)
    recipient_id: str = Field(max_length=100)
    recipient_name: str = Field(max_length=300)
    email: str = Field(max_length=320)
    subject: str = Field(sa_type=sa.Text)
    message_id: str = Field(max_length=300)
    state: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = _timestamp(nullable=True)
    claimed_at: datetime | None = _timestamp(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=300)
    first_attempt_at: datetime | None = _timestamp(nullable=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_code: int | None = None
    created_at: datetime = _timestamp(nullable=False)
    updated_at: datetime = _timestamp(nullable=False)
    sent_at: datetime | None = _timestamp(nullable=True)


class SentMessage(SQLModel, table=True):
    """The exact bytes a delivery carries and the figures it shows, kept for audit."""

    __tablename__ = "sent_message"

    delivery_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("delivery.id", ondelete="CASCADE"), primary_key=True
        )
    )
    raw: bytes = Field(sa_type=sa.LargeBinary)  # the whole message, or its own bytes (recipe)
    figures: str = Field(sa_type=sa.Text)  # "" when kept once in message_part (figures_part)
    # How to rebuild the exact bytes: a JSON list of part keys (shared bytes, kept once
    # in message_part) and byte counts (taken in turn from `raw`). None: `raw` is whole.
    recipe: str | None = Field(default=None, sa_type=sa.Text)
    figures_part: str | None = Field(default=None, max_length=64)


class MessagePart(SQLModel, table=True):
    """Bytes that every message of one content variant shares, kept once."""

    __tablename__ = "message_part"
    __table_args__ = (sa.Index("ix_message_part_occurrence", "schedule_id", "occurrence_key"),)

    key: str = Field(primary_key=True, max_length=64)  # sha256 of occurrence and bytes
    schedule_id: str = Field(max_length=100)
    occurrence_key: str = Field(max_length=100)
    data: bytes = Field(sa_type=sa.LargeBinary)


class Run(SQLModel, table=True):
    """One run of one occurrence: `send`, the scheduler or `retry`."""

    __tablename__ = "run"
    __table_args__ = (sa.Index("ix_run_occurrence", "schedule_id", "occurrence_key"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: str = Field(max_length=100)
    occurrence_key: str = Field(max_length=100)
    started_at: datetime = _timestamp(nullable=False)
    finished_at: datetime | None = _timestamp(nullable=True)
    outcome: str = Field(max_length=20)
    added: int = 0
    already: int = 0
    sent: int = 0
    failed: int = 0
    detail: str | None = Field(default=None, sa_type=sa.Text)
    holder: str | None = Field(default=None, max_length=300)  # the process running it


DELIVERY: sa.Table = Delivery.__table__  # type: ignore[attr-defined]
SENT_MESSAGE: sa.Table = SentMessage.__table__  # type: ignore[attr-defined]
MESSAGE_PART: sa.Table = MessagePart.__table__  # type: ignore[attr-defined]
RUN: sa.Table = Run.__table__  # type: ignore[attr-defined]


class StoreUnavailable(DigestError):
    """The delivery database cannot be opened, or cannot be written where digest must write."""


@dataclass(frozen=True)
class Store:
    """An open delivery database; `pinned()` gives one that keeps a single connection."""

    engine: Engine
    connection: Connection | None = None
    read_only: bool = False  # opened for reading only: the file or its folder is not writable

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success, rolled back on error."""
        if self.connection is None:
            with self.engine.begin() as connection:
                yield connection
        else:
            with self.connection.begin():
                yield self.connection

    @contextmanager
    def pinned(self) -> Iterator[Store]:
        """The same database through one connection: no pool round trip per transaction.
        For one thread (or one task) at a time."""
        if self.connection is not None:
            yield self
            return
        with self.engine.connect() as connection:
            if self.dialect != "postgresql":
                yield Store(self.engine, connection)
                return
            # Not waiting for the WAL flush on each commit makes a large run several
            # times faster. A crash of the database server (not of digest) could then
            # forget the last fraction of a second of records, and those messages would
            # be sent again: the at-least-once delivery the design accepts.
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
            connection.commit()
            try:
                yield Store(self.engine, connection)
            except BaseException:
                connection.invalidate()  # discarded by the pool, never reused half-set
                raise
            connection.exec_driver_sql("RESET synchronous_commit")
            connection.commit()

    def now(self) -> datetime:
        """The database server's clock (see `database_now`)."""
        with self.transaction() as connection:
            return database_now(connection)

    @property
    def where(self) -> str:
        """The SQLite file, or the database URL without its password: for messages."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database:
            return url.database.removeprefix("file:").split("?")[0]
        return url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


def database_url(site_root: Path, environ: Mapping[str, str] = os.environ) -> str:
    """DIGEST_DATABASE_URL if set, else SQLite at `<site>/.digest/state.db`."""
    configured = environ.get("DIGEST_DATABASE_URL", "").strip()
    if configured:
        return configured
    path = site_root / ".digest" / "state.db"
    return URL.create("sqlite+pysqlite", database=str(path)).render_as_string()


def open_store(site_root: Path, url: str | None = None, *, reading: bool = False) -> Store:
    """Open (and create or upgrade to the latest schema) the site's delivery database.
    `reading`: a command that only reads may open an existing SQLite file it cannot write."""
    url = _with_driver(url or database_url(site_root))
    database = sa.make_url(url).database if url.startswith("sqlite") else None
    try:
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(url) if url.startswith("sqlite") else _postgresql_engine(url)
        _migrate(engine)
    except (OSError, sa.exc.OperationalError) as exc:
        if reading and database and Path(database).is_file():
            return _read_only_store(Path(database))
        raise StoreUnavailable(
            _unavailable(database or _shown(url), exc, a_file=bool(database))
        ) from exc
    return Store(engine)


def _shown(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def said(exc: BaseException, *, named: bool = False) -> str:
    """A database error as digest prints and logs it: the driver's own first line (under
    SQLAlchemy's wrapping), at most 300 characters, never the SQL, its parameters or
    PostgreSQL's row detail; `named`: after the driver's exception name."""
    cause = getattr(exc, "orig", None) or getattr(exc, "strerror", None) or exc
    lines = str(cause).strip().splitlines()
    first = (lines[0] if lines else type(cause).__name__)[:300]
    return f"{type(cause).__name__}: {first}" if named else first


def _unavailable(where: str, exc: Exception, *, a_file: bool) -> str:
    if a_file:
        hint = ("give the user running digest read and write access to it and to its folder "
                "(or correct DIGEST_DATABASE_URL)")  # fmt: skip
    else:
        hint = "check that the database server is running and reachable, and DIGEST_DATABASE_URL"
    return f"{where}: the delivery state cannot be opened ({said(exc)}): {hint}; nothing was sent"


def _read_only_store(path: Path) -> Store:
    """An existing SQLite store opened for reading only, as it is (never migrated)."""
    # With no write-ahead log beside it, the file holds everything: read it as immutable,
    # which needs no lock files in a folder that may not be writable.
    wal = path.with_name(path.name + "-wal")
    immutable = "&immutable=1" if not wal.exists() or wal.stat().st_size == 0 else ""
    engine = sa.create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro{immutable}&uri=true")
    try:
        with engine.connect() as connection:
            connection.execute(sa.select(sa.func.count()).select_from(DELIVERY))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreUnavailable(_unavailable(str(path), exc, a_file=True)) from exc
    return Store(engine, read_only=True)


def check_writable(store: Store) -> None:
    """Refuse (StoreUnavailable) a store that cannot record: a send must record each
    message before it goes, or it could go twice."""
    problem = "it was opened for reading only" if store.read_only else None
    if problem is None:
        try:
            with store.transaction() as connection:
                connection.execute(sa.text("UPDATE store_identity SET id = id"))
                raise _Probed
        except _Probed:
            return
        except sa.exc.DBAPIError as exc:
            problem = said(exc)
    raise StoreUnavailable(
        f"{store.where}: the delivery state cannot be written ({problem}): digest records every "
        "message before it sends it, so nothing was sent. Give the user running digest "
        "write access to it and to its folder"
    )


class _Probed(Exception):
    """Rolls back the write that showed the store can be written."""


def _with_driver(url: str) -> str:
    """Plain `postgresql://` URLs get psycopg 3, the driver digest installs."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def _postgresql_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        hide_parameters=True,  # an error never prints members' addresses or tokens
    )

    @sa.event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # Session settings, so they hold for every transaction of the connection.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
            cursor.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            cursor.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS}")
        dbapi_connection.commit()

    return engine


def _sqlite_engine(url: str) -> Engine:
    engine = sa.create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True
    )

    @sa.event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from pysqlite so that every transaction is IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers work while one process writes; NORMAL sync is still
        # safe against a killed process (only a power cut can lose a commit).
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front: writers queue on the busy
        # timeout instead of failing when a read transaction tries to upgrade.
        # Straight to the driver: every transaction pays for this, and a large run
        # commits once per message.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

    return engine


def _migrate(engine: Engine) -> None:
    """Upgrade the schema to head in one transaction, one process at a time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic keeps the running migration in module globals: one thread at a time.
    with _MIGRATING, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_MIGRATION_LOCK)))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@dataclass(frozen=True)
class RunRecord:
    """A run as `digest status` shows it."""

    id: int
    schedule_id: str
    occurrence_key: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    added: int
    already: int
    sent: int
    failed: int
    detail: str | None
    holder: str | None = None


def start_run(store: Store, schedule_id: str, occurrence_key: str, now: datetime) -> int:
    """Record that a run began; returns its id for `finish_run`."""
    values = {
        "schedule_id": schedule_id,
        "occurrence_key": occurrence_key,
        "started_at": now,
        "outcome": "running",
        "holder": worker_id(),
    }
    with store.transaction() as connection:
        run_id = connection.execute(RUN.insert().values(values).returning(RUN.c.id)).scalar_one()
    return int(run_id)


def finish_run(
    store: Store,
    run_id: int,
    now: datetime,
    outcome: str,
    *,
    added: int = 0,
    already: int = 0,
    sent: int = 0,
    failed: int = 0,
    detail: str | None = None,
) -> None:
    """Record how a run ended: `ok`, `partial`, `failed` or `nothing-new`."""
    values = {
        "finished_at": now,
        "outcome": outcome,
        "added": added,
        "already": already,
        "sent": sent,
        "failed": failed,
        "detail": detail,
    }
    with store.transaction() as connection:
        connection.execute(RUN.update().where(RUN.c.id == run_id).values(values))


def recent_runs(store: Store, limit: int = 20, schedule_id: str | None = None) -> list[RunRecord]:
    """The latest runs, newest first."""
    query = sa.select(RUN).order_by(RUN.c.started_at.desc(), RUN.c.id.desc()).limit(limit)
    if schedule_id is not None:
        query = query.where(RUN.c.schedule_id == schedule_id)
    with store.transaction() as connection:
        rows = connection.execute(query).mappings().all()
    return [RunRecord(**row) for row in rows]


TRANSPORT_RUN = "delivery"  # the run rows that say when delivery stopped and resumed


def record_transport(store: Store, error: str | None, now: datetime) -> None:
    """Say in the store that nothing can be delivered (`error`), or that delivery resumed."""
    values = {"schedule_id": TRANSPORT_RUN, "occurrence_key": now.date().isoformat(),
              "started_at": now, "finished_at": now, "outcome": "unavailable" if error else "resumed",
              "added": 0, "already": 0, "sent": 0, "failed": 0, "detail": error}  # fmt: skip
    with store.transaction() as connection:
        connection.execute(RUN.insert().values(values))


def transport_problem(store: Store) -> RunRecord | None:
    """The latest word on delivery, if it is that nothing can be delivered."""
    runs = recent_runs(store, 1, TRANSPORT_RUN)
    return runs[0] if runs and runs[0].outcome == "unavailable" else None


# A run that did not end: still going, broken while composing (tried again after an
# edit), or left by a process that died (resumed by the next run).
UNFINISHED = ("running", "broken", "interrupted")


def broken_runs(store: Store, limit: int = 20) -> list[RunRecord]:
    """Occurrences whose latest run could not be composed, newest first."""
    latest = (
        sa.select(sa.func.max(RUN.c.id).label("id"))
        .group_by(RUN.c.schedule_id, RUN.c.occurrence_key)
        .subquery()
    )
    query = (
        sa.select(RUN)
        .where(RUN.c.id.in_(sa.select(latest.c.id)), RUN.c.outcome == "broken")
        .order_by(RUN.c.id.desc())
        .limit(limit)
    )
    with store.transaction() as connection:
        rows = connection.execute(query).mappings().all()
    return [RunRecord(**row) for row in rows]


def has_run(store: Store, schedule_id: str, occurrence_key: str, *, finished: bool = False) -> bool:
    """Whether a run of this occurrence was ever started (or, with `finished`, ended:
    sent, nothing new, or recorded as missed)."""
    query = sa.select(RUN.c.id).where(
        RUN.c.schedule_id == schedule_id, RUN.c.occurrence_key == occurrence_key
    )
    if finished:
        query = query.where(RUN.c.outcome.not_in(UNFINISHED))
    with store.transaction() as connection:
        return connection.execute(query.limit(1)).first() is not None


@dataclass(frozen=True)
class StoredMessage:
    """What one recipient was (or is to be) sent, for audit."""

    delivery_key: str
    email: str
    subject: str
    message_id: str
    state: str
    sent_at: datetime | None
    raw: bytes
    figures: str


def counts(
    store: Store, schedule_id: str | None = None, occurrence_key: str | None = None
) -> dict[str, int]:
    """Deliveries by state (every state present, zero when none)."""
    query = sa.select(DELIVERY.c.state, sa.func.count()).group_by(DELIVERY.c.state)
    if schedule_id is not None:
        query = query.where(DELIVERY.c.schedule_id == schedule_id)
    if occurrence_key is not None:
        query = query.where(DELIVERY.c.occurrence_key == occurrence_key)
    with store.transaction() as connection:
        found = {state: int(n) for state, n in connection.execute(query)}
    return {state: found.get(state, 0) for state in STATES} | found


_STORED_COLUMNS = (
    *(DELIVERY.c[name] for name in ("delivery_key", "email", "subject", "message_id", "state")),
    DELIVERY.c.sent_at,
    SENT_MESSAGE.c.raw,
    SENT_MESSAGE.c.figures,
    SENT_MESSAGE.c.recipe,
    SENT_MESSAGE.c.figures_part,
)


def stored_message(store: Store, delivery_key: str) -> StoredMessage | None:
    """Exactly what one delivery carries, and whether and when it was sent."""
    query = (
        sa.select(*_STORED_COLUMNS)
        .join(SENT_MESSAGE, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id)
        .where(DELIVERY.c.delivery_key == delivery_key)
    )
    with store.transaction() as connection:
        row = connection.execute(query).first()
        if row is None:
            return None
        ((raw, figures),) = unpack(connection, [row])
    fields = {k: v for k, v in row._mapping.items() if k not in ("recipe", "figures_part")}
    return StoredMessage(**{**fields, "raw": raw, "figures": figures})


@lru_cache(maxsize=8192)
def part_key(schedule_id: str, occurrence_key: str, data: bytes) -> str:
    """The key of shared bytes: one occurrence's, so a purge can drop them with it."""
    digest = hashlib.sha256(f"{schedule_id}\0{occurrence_key}\0".encode())
    digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Packed:
    """A message as stored: its own bytes, the recipe, and the shared parts it needs."""

    row: dict[str, Any]  # raw, figures, recipe, figures_part
    parts: dict[str, bytes]  # key -> shared bytes


def pack(message: OutgoingMessage) -> Packed:
    """Split a message into what it shares with its variant and what is its own."""
    if not message.shared:
        return Packed({"raw": message.raw, "figures": message.figures, "recipe": None,
                       "figures_part": None}, {})  # fmt: skip
    schedule, occurrence, raw = message.schedule_id, message.occurrence_key, message.raw
    own: list[bytes] = []
    recipe: list[str | int] = []
    parts: dict[str, bytes] = {}
    at = 0
    for start, data in (*message.shared, (len(raw), b"")):
        if start > at:
            own.append(raw[at:start])
            recipe.append(start - at)
        if data:
            key = part_key(schedule, occurrence, data)
            parts[key] = data
            recipe.append(key)
        at = start + len(data)
    figures = message.figures.encode("utf-8")
    figures_key = part_key(schedule, occurrence, figures)
    parts[figures_key] = figures
    row = {"raw": b"".join(own), "figures": "", "recipe": json.dumps(recipe, separators=(",", ":")),
           "figures_part": figures_key}  # fmt: skip
    return Packed(row, parts)


def unpack(connection: sa.Connection, rows: Sequence[Any]) -> list[tuple[bytes, str]]:
    """The exact bytes and the figures of stored messages (sent_message rows), in order.

    An emptied message (purged) comes back as b"" with its figures."""
    keys: set[str] = set()
    for row in rows:
        if row.recipe and row.raw:
            keys.update(k for k in json.loads(row.recipe) if isinstance(k, str))
        if row.figures_part:
            keys.add(row.figures_part)
    parts = _part_data(connection, keys)
    out = []
    for row in rows:
        raw = bytes(row.raw or b"")
        if row.recipe and raw:
            pieces, at = [], 0
            for item in json.loads(row.recipe):
                if isinstance(item, int):
                    pieces.append(raw[at : at + item])
                    at += item
                else:
                    pieces.append(parts[item])
            raw = b"".join(pieces)
        figures = parts[row.figures_part].decode("utf-8") if row.figures_part else row.figures
        out.append((raw, figures or ""))
    return out


def figures_parts(connection: sa.Connection, keys: Iterable[str]) -> dict[str, str]:
    """Figures kept once per variant, by part key."""
    return {key: data.decode("utf-8") for key, data in _part_data(connection, keys).items()}


def _part_data(connection: sa.Connection, keys: Iterable[str]) -> dict[str, bytes]:
    """The shared bytes of these part keys, read 500 keys at a time."""
    found: dict[str, bytes] = {}
    ordered = sorted(set(keys))
    for i in range(0, len(ordered), 500):
        query = sa.select(MESSAGE_PART.c.key, MESSAGE_PART.c.data).where(
            MESSAGE_PART.c.key.in_(ordered[i : i + 500])
        )
        found.update((key, bytes(data)) for key, data in connection.execute(query))
    return found
