"""Read-only questions to the store: what an occurrence holds, what failed, whether there is one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from digest.delivery.store import DELIVERY, FAILED, Store, database_url, open_store

_D = DELIVERY.c


def delivery_states(store: Store, schedule_id: str, occurrence_key: str) -> dict[str, str]:
    """Each delivery key of one occurrence with its state: what a dry run compares with."""
    query = sa.select(DELIVERY.c.delivery_key, DELIVERY.c.state).where(
        DELIVERY.c.schedule_id == schedule_id, DELIVERY.c.occurrence_key == occurrence_key
    )
    with store.transaction() as connection:
        return {key: state for key, state in connection.execute(query)}


@dataclass(frozen=True)
class FailedDelivery:
    """A message that failed for good: who, which occurrence, and why."""

    schedule_id: str
    occurrence_key: str
    recipient_id: str
    email: str
    error: str
    id: int = 0  # the delivery's row, for the team's "Send again"
    name: str = ""


def failed_deliveries(store: Store, limit: int = 20) -> list[FailedDelivery]:
    """The most recent deliveries that failed for good, with the server's reason."""
    query = (
        sa.select(
            _D.schedule_id, _D.occurrence_key, _D.recipient_id, _D.email, _D.last_error, _D.id,
            _D.recipient_name,
        )
        .where(_D.state == FAILED)
        .order_by(_D.id.desc())
        .limit(limit)
    )
    with store.transaction() as connection:
        rows = connection.execute(query).all()
    return [FailedDelivery(s, o, r, e, error or "no reason recorded", i, n)
            for s, o, r, e, error, i, n in rows]  # fmt: skip


def existing_store(site_root: Path) -> Store | None:
    """The site's store if it has one (a dry run never creates one), else None."""
    url = database_url(site_root)
    if url.startswith("sqlite"):
        database = sa.make_url(url).database
        if not database or not Path(database).exists():
            return None
    return open_store(site_root, url, reading=True)
