"""Members' answers: deep-dive requests, feedback, theme choices, and used forms.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "deep_dive_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scorecard", sa.String(100), nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("measure", sa.String(100), nullable=False),
        sa.Column("recipient_id", sa.String(100), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        _timestamp("requested_at"),
        sa.UniqueConstraint("scorecard", "period_end", "measure", "recipient_id"),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("schedule_id", sa.String(100), nullable=False),
        sa.Column("occurrence_key", sa.String(100), nullable=False),
        sa.Column("recipient_id", sa.String(100), nullable=False),
        sa.Column("useful", sa.Boolean, nullable=False),
        sa.Column("comment", sa.String(500), nullable=False),
        _timestamp("answered_at"),
        sa.UniqueConstraint("schedule_id", "occurrence_key", "recipient_id"),
    )
    op.create_table(
        "theme_choice",
        sa.Column("recipient_id", sa.String(100), primary_key=True),
        sa.Column("themes", sa.Text, nullable=False),
        _timestamp("chosen_at"),
    )
    op.create_table(
        "form_use",
        sa.Column("nonce", sa.String(64), primary_key=True),
        _timestamp("used_at"),
    )


def downgrade() -> None:
    op.drop_table("form_use")
    op.drop_table("theme_choice")
    op.drop_table("feedback")
    op.drop_table("deep_dive_request")
