"""What digests last showed of each figure, from the figures kept with every sent message."""

from __future__ import annotations

import json

import sqlalchemy as sa

from digest.delivery.store import DELIVERY, SENT_MESSAGE, Store


def last_shown(store: Store) -> dict[str, dict[str, float]]:
    """The value each measure's period (ISO period_end) had in the last message that
    showed it, from the figures kept with every sent message (for `revised`)."""
    query = (
        sa.select(SENT_MESSAGE.c.figures)
        .join(DELIVERY, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id)
        .where(DELIVERY.c.sent_at.is_not(None))
        .order_by(DELIVERY.c.sent_at)
    )
    shown: dict[str, dict[str, float]] = {}
    with store.transaction() as connection:
        for (figures,) in connection.execute(query):
            for row in json.loads(figures or "[]"):
                # Later messages overwrite earlier ones: the last showing is what counts.
                if row.get("value") is not None and row.get("period_end"):
                    shown.setdefault(row["measure"], {})[row["period_end"]] = row["value"]
    return shown
