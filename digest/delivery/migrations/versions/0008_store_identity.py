"""Each store's own id: a site that sent from one store refuses to send from another.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Stores that exist already get theirs now, new ones as they are made: never two.
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # naive UTC text, as every SQLite timestamp here
    op.bulk_insert(identity, [{"id": secrets.token_hex(16), "created_at": now}])


def downgrade() -> None:
    op.drop_table("store_identity")
