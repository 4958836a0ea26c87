"""Each variant's shared bytes kept once; each delivery's exact bytes rebuilt on demand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import tests.render_fixtures as fx
from digest.delivery.audit import HistoryQuery, history, raw_message
from digest.delivery.outbox import claim, enqueue, record_sent
from digest.delivery.retention import purge
from digest.delivery.store import (
    MESSAGE_PART,
    MIGRATIONS,
    SENT_MESSAGE,
    Store,
    open_store,
    pack,
    stored_message,
)
from digest.email.render import build_messages
from digest.model import Recipient
from digest.site.retention import Period, Retention

NOW = datetime(2026, 11, 12, 9, 0).astimezone()
MEMBERS = tuple(
    Recipient(f"member-{n:03d}", f"Cllr Member {n}", f"member{n}@example.gov.uk", ("member",))
    for n in range(40)
)


def tracker_messages() -> list:  # type: ignore[type-arg]
    site = fx.make_site(recipients=(*MEMBERS, *fx.RECIPIENTS))
    occurrence = fx.occurrence(fx.TRACKER, date(2026, 11, 12), fx.SOCIAL_CARE)
    return [m.outgoing for m in build_messages(site, occurrence, fx.monthly_statuses())]


def stored_sizes(store: Store) -> tuple[int, int]:
    """Bytes kept per delivery (own bytes, recipe, figures), and bytes kept once (parts)."""
    with store.transaction() as connection:
        own = connection.execute(sa.select(
            sa.func.sum(sa.func.length(SENT_MESSAGE.c.raw)) + sa.func.sum(sa.func.length(SENT_MESSAGE.c.figures))
            + sa.func.sum(sa.func.coalesce(sa.func.length(SENT_MESSAGE.c.recipe), 0))
        )).scalar_one()  # fmt: skip
        shared = connection.execute(sa.select(sa.func.sum(sa.func.length(MESSAGE_PART.c.data)))).scalar()
    return int(own), int(shared or 0)


def test_a_variant_is_stored_once_and_every_message_comes_back_exactly(store: Store) -> None:
    messages = tracker_messages()
    assert len(messages) > 40 and all(m.shared for m in messages)
    enqueue(store, messages, NOW)
    sent = sum(len(m.raw) for m in messages)
    own, shared = stored_sizes(store)
    assert own <= 0.10 * sent  # headers, greeting, links: the rest is kept once per variant
    variants = {tuple(m.raw[a : a + len(d)] for a, d in m.shared): len(m.raw) for m in messages}
    assert len(variants) < len(messages) / 5
    assert shared <= sum(variants.values()) + 10_000  # about one message per variant
    by_key = {m.delivery_key: m for m in messages}
    claimed = claim(store, NOW, 1000)
    assert len(claimed) == len(messages)
    for c in claimed:  # what the worker sends is byte for byte what was rendered
        assert c.raw == by_key[c.delivery_key].raw
        assert c.figures == by_key[c.delivery_key].figures
        record_sent(store, c, NOW)
    one = messages[7]
    stored = stored_message(store, one.delivery_key)
    assert stored is not None and stored.raw == one.raw and stored.figures == one.figures
    (entry,) = history(store, HistoryQuery(recipient_id=one.recipient.id))
    assert entry.figures == one.figures and entry.kept
    assert raw_message(store, entry.id) == one.raw


def test_purging_the_bytes_drops_the_shared_parts_but_keeps_the_figures(store: Store) -> None:
    messages = tracker_messages()
    enqueue(store, messages, NOW)
    for c in claim(store, NOW, 1000):
        record_sent(store, c, NOW)
    later = NOW + timedelta(days=800)
    purged = purge(store, Retention(messages=Period(days=731), records=Period(days=3000)), later)
    assert purged.messages == len(messages)
    one = messages[0]
    (entry,) = history(store, HistoryQuery(recipient_id=one.recipient.id))
    assert not entry.kept and raw_message(store, entry.id) is None
    assert entry.figures == one.figures  # the record of what it showed stays
    with store.transaction() as connection:
        parts = connection.execute(sa.select(sa.func.count()).select_from(MESSAGE_PART)).scalar()
    figures_variants = len({m.figures for m in messages})
    assert parts == figures_variants  # only the figures are left


def test_the_migration_shares_old_rows_figures_and_keeps_their_bytes(database_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    (tmp_path / ".digest").mkdir(exist_ok=True)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        for n in range(3):
            connection.execute(sa.text(
                "INSERT INTO delivery (id, delivery_key, schedule_id, occurrence_key, recipient_id, "
                "recipient_name, email, subject, message_id, state, attempts, created_at, updated_at, sent_at) "
                "VALUES (:id, :key, 'monthly-tracker', 'social-care:2026-09-30', :r, 'Cllr', 'c@example.gov.uk', "
                "'s', '<m@x>', 'sent', 1, :now, :now, :now)"
            ), {"id": n + 1, "key": f"monthly-tracker/social-care:2026-09-30/r{n}", "r": f"r{n}", "now": NOW})
            connection.execute(
                sa.text("INSERT INTO sent_message (delivery_id, raw, figures) VALUES (:id, :raw, :f)")
                .bindparams(sa.bindparam("raw", type_=sa.LargeBinary)),
                {"id": n + 1, "raw": f"Subject: s\r\n\r\nold {n}\r\n".encode(), "f": '[{"measure":"m","value":1}]'},
            )  # fmt: skip
    engine.dispose()
    store = open_store(tmp_path, database_url)  # upgrades to head
    try:
        entries = history(store, HistoryQuery(schedule_id="monthly-tracker"))
        assert {e.figures for e in entries} == {'[{"measure":"m","value":1}]'}
        assert sorted(raw_message(store, e.id) or b"" for e in entries)[0] == b"Subject: s\r\n\r\nold 0\r\n"
        with store.transaction() as connection:
            parts = connection.execute(sa.select(sa.func.count()).select_from(MESSAGE_PART)).scalar()
            own = connection.execute(sa.select(SENT_MESSAGE.c.figures)).scalars().all()
        assert parts == 1 and set(own) == {""}  # three rows' figures, kept once
    finally:
        store.close()


def test_a_message_without_shared_spans_is_kept_whole(store: Store) -> None:
    (message, *_) = tracker_messages()
    plain = replace(message, shared=())
    enqueue(store, [plain], NOW)
    (c,) = claim(store, NOW, 10)
    assert c.raw == plain.raw


def test_the_shared_bytes_a_message_carries_are_its_own_spans_shared_by_its_variant() -> None:
    """pack takes the parts from the bytes objects render hands it (keyed without being
    read again): they must be exactly the spans of raw, the same objects within a variant."""
    messages = tracker_messages()
    for message in messages:
        assert all(message.raw[a : a + len(data)] == data for a, data in message.shared)
        copied = tuple((a, bytes(bytearray(data))) for a, data in message.shared)
        assert pack(message) == pack(replace(message, shared=copied))
    by_variant: dict[bytes, set[int]] = {}
    for message in messages:
        last = message.shared[-1][1]
        by_variant.setdefault(last, set()).add(id(last))
    assert len(by_variant) > 1 and all(len(ids) == 1 for ids in by_variant.values())
