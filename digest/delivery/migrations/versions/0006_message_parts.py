"""Each content variant's shared bytes and figures stored once (message_part).

A new message keeps its own bytes (headers, greeting, signed links) and a recipe;
the bytes its variant shares are kept once per occurrence. Old messages keep their
whole bytes (nothing marks which of them are shared), and their figures move into
message_part, once per distinct figures of each occurrence.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

BATCH = 500


def upgrade() -> None:
    op.create_table(
        "message_part",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("schedule_id", sa.String(100), nullable=False),
        sa.Column("occurrence_key", sa.String(100), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_message_part_occurrence", "message_part", ["schedule_id", "occurrence_key"])
    with op.batch_alter_table("sent_message") as batch:
        batch.add_column(sa.Column("recipe", sa.Text, nullable=True))
        batch.add_column(sa.Column("figures_part", sa.String(64), nullable=True))
    _share_old_figures()


def _share_old_figures() -> None:
    """Old rows' figures, kept once per occurrence and content (the same key as new rows)."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT m.delivery_id, d.schedule_id, d.occurrence_key, m.figures FROM sent_message m "
        "JOIN delivery d ON d.id = m.delivery_id WHERE m.figures <> ''"
    )).all()  # fmt: skip
    seen: set[str] = set()
    parts, updates = [], []
    for delivery_id, schedule_id, occurrence_key, figures in rows:
        data = figures.encode("utf-8")
        digest = hashlib.sha256(f"{schedule_id}\0{occurrence_key}\0".encode())
        digest.update(data)
        key = digest.hexdigest()
        if key not in seen:
            seen.add(key)
            parts.append({"key": key, "schedule_id": schedule_id,
                          "occurrence_key": occurrence_key, "data": data})  # fmt: skip
        updates.append({"id": delivery_id, "key": key})
    insert = sa.text(
        "INSERT INTO message_part (key, schedule_id, occurrence_key, data) "
        "VALUES (:key, :schedule_id, :occurrence_key, :data)"
    ).bindparams(sa.bindparam("data", type_=sa.LargeBinary))
    for i in range(0, len(parts), BATCH):
        connection.execute(insert, parts[i : i + BATCH])
    update = sa.text("UPDATE sent_message SET figures = '', figures_part = :key WHERE delivery_id = :id")
    for i in range(0, len(updates), BATCH):
        connection.execute(update, updates[i : i + BATCH])


def downgrade() -> None:
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT 1 FROM sent_message WHERE recipe IS NOT NULL")).first():
        raise RuntimeError("messages are stored in parts since 0006: a downgrade would lose their bytes")
    connection.execute(sa.text(
        "UPDATE sent_message SET figures = (SELECT convert_from(data, 'UTF8') FROM message_part p "
        "WHERE p.key = sent_message.figures_part) WHERE figures_part IS NOT NULL"
        if connection.dialect.name == "postgresql" else
        "UPDATE sent_message SET figures = (SELECT CAST(data AS TEXT) FROM message_part p "
        "WHERE p.key = sent_message.figures_part) WHERE figures_part IS NOT NULL"
    ))  # fmt: skip
    with op.batch_alter_table("sent_message") as batch:
        batch.drop_column("figures_part")
        batch.drop_column("recipe")
    op.drop_index("ix_message_part_occurrence", "message_part")
    op.drop_table("message_part")
