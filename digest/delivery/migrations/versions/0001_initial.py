"""Deliveries, the messages they carry, and runs.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _timestamp(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delivery_key", sa.String(400), nullable=False, unique=True),
        sa.Column("schedule_id", sa.String(100), nullable=False),
        sa.Column("occurrence_key", sa.String(100), nullable=False),
        sa.Column("recipient_id", sa.String(100), nullable=False),
        sa.Column("recipient_name", sa.String(300), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        _timestamp("next_attempt_at", nullable=True),
        _timestamp("claimed_at", nullable=True),
        sa.Column("claimed_by", sa.String(300), nullable=True),
        _timestamp("first_attempt_at", nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_code", sa.Integer, nullable=True),
        _timestamp("created_at", nullable=False),
        _timestamp("updated_at", nullable=False),
        _timestamp("sent_at", nullable=True),
    )
    op.create_index("ix_delivery_due", "delivery", ["state", "next_attempt_at"])
    op.create_index("ix_delivery_occurrence", "delivery", ["schedule_id", "occurrence_key"])
    op.create_table(
        "sent_message",
        sa.Column(
            "delivery_id",
            sa.Integer,
            sa.ForeignKey("delivery.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("figures", sa.Text, nullable=False),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("schedule_id", sa.String(100), nullable=False),
        sa.Column("occurrence_key", sa.String(100), nullable=False),
        _timestamp("started_at", nullable=False),
        _timestamp("finished_at", nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("already", sa.Integer, nullable=False),
        sa.Column("sent", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_run_occurrence", "run", ["schedule_id", "occurrence_key"])


def downgrade() -> None:
    op.drop_table("run")
    op.drop_table("sent_message")
    op.drop_table("delivery")
