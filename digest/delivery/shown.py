"""What digests last showed of each figure, from the figures kept with every sent message."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from digest.delivery.store import DELIVERY, SENT_MESSAGE, Store, figures_parts
from digest.model import LastSent, Occurrence


def last_shown(store: Store) -> dict[str, dict[str, float]]:
    """The value each measure's period (ISO period_end) had in the last message that
    showed it, from the figures kept with every sent message (for `revised`)."""
    query = (
        sa.select(SENT_MESSAGE.c.figures, SENT_MESSAGE.c.figures_part)
        .join(DELIVERY, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id)
        .where(DELIVERY.c.sent_at.is_not(None))
        .order_by(DELIVERY.c.sent_at)
    )
    shown: dict[str, dict[str, float]] = {}
    with store.transaction() as connection:
        found = connection.execute(query).all()
        shared = figures_parts(connection, [part for _, part in found if part])
        for own, part in found:
            figures = shared.get(part, own) if part else own
            for row in json.loads(figures or "[]"):
                # Later messages overwrite earlier ones: the last showing is what counts.
                if row.get("value") is not None and row.get("period_end"):
                    shown.setdefault(row["measure"], {})[row["period_end"]] = row["value"]
    return shown


def last_sent(store: Store, occurrence: Occurrence) -> dict[str, LastSent]:
    """Each recipient's message of the schedule's latest earlier occurrence that reached
    them, with the figures it showed: what "since your last digest" compares with.

    A schedule's occurrence keys all have one form (an ISO date, or scorecard and ISO
    period end), so their text order is their time order, whenever they were sent."""
    query = (
        sa.select(
            DELIVERY.c.recipient_id,
            DELIVERY.c.occurrence_key,
            DELIVERY.c.sent_at,
            SENT_MESSAGE.c.figures,
            SENT_MESSAGE.c.figures_part,
        )
        .join(SENT_MESSAGE, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id)
        .where(
            DELIVERY.c.schedule_id == occurrence.schedule.id,
            DELIVERY.c.occurrence_key < occurrence.key,
            DELIVERY.c.sent_at.is_not(None),
        )
        .order_by(DELIVERY.c.occurrence_key, DELIVERY.c.sent_at)
    )
    zone = occurrence.due.tzinfo or ZoneInfo("UTC")
    found: dict[str, LastSent] = {}
    with store.transaction() as connection:
        rows = connection.execute(query).all()
        shared = figures_parts(connection, [row[4] for row in rows if row[4]])
        for recipient_id, key, sent_at, own, part in rows:
            figures = shared.get(part, own) if part else own
            found[recipient_id] = LastSent(sent_at.astimezone(zone).date(), figures or "[]", key)
    return found
