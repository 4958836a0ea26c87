"""One scheduler leader among several instances, by a lease renewed in the database.

Every instance sends (deliveries are claimed row by row); only the leader decides
what is due, so two instances never both start the same occurrence's run. The
lease row also remembers when a leader was last alive: after downtime, the new
leader knows which occurrences were missed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from digest.delivery.store import Delivery, Store, UtcDateTime

SCHEDULER = "scheduler"
TTL = timedelta(seconds=90)

LEASE_TABLE = sa.Table(
    "lease",
    Delivery.metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("alive_at", UtcDateTime(), nullable=False),
)


def acquire(
    store: Store, holder: str, now: datetime, *, name: str = SCHEDULER, ttl: timedelta = TTL
) -> bool:
    """Take or renew the lease; True when `holder` leads until now + ttl."""
    values = {"holder": holder, "expires_at": now + ttl, "alive_at": now}
    with store.transaction() as connection:
        taken = connection.execute(
            LEASE_TABLE.update()
            .where(LEASE_TABLE.c.name == name)
            .where(sa.or_(LEASE_TABLE.c.holder == holder, LEASE_TABLE.c.expires_at < now))
            .values(values)
        ).rowcount
        if taken:
            return True
        exists = connection.execute(
            sa.select(LEASE_TABLE.c.name).where(LEASE_TABLE.c.name == name)
        ).first()
        if exists is not None:
            return False
        connection.execute(_insert_new(store), {"name": name, **values})
    return _holder(store, name) == holder


def _insert_new(store: Store) -> sa.Insert:
    if store.dialect == "postgresql":
        return postgresql.insert(LEASE_TABLE).on_conflict_do_nothing(index_elements=["name"])
    return sqlite.insert(LEASE_TABLE).on_conflict_do_nothing(index_elements=["name"])


def _holder(store: Store, name: str) -> str | None:
    with store.transaction() as connection:
        row = connection.execute(
            sa.select(LEASE_TABLE.c.holder).where(LEASE_TABLE.c.name == name)
        ).first()
    return None if row is None else str(row[0])


def release(store: Store, holder: str, *, name: str = SCHEDULER) -> None:
    """Give the lease up at once (a clean stop), keeping when it was last alive."""
    with store.transaction() as connection:
        connection.execute(
            LEASE_TABLE.update()
            .where(LEASE_TABLE.c.name == name, LEASE_TABLE.c.holder == holder)
            .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
        )


def last_alive(store: Store, *, name: str = SCHEDULER) -> datetime | None:
    """When any leader last renewed the lease; None on a new site."""
    with store.transaction() as connection:
        row = connection.execute(
            sa.select(LEASE_TABLE.c.alive_at).where(LEASE_TABLE.c.name == name)
        ).first()
    return None if row is None else cast(datetime, row[0])
