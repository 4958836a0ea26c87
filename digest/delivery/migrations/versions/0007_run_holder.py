"""Who runs each run: a run whose process died is shown interrupted, not running for ever.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("run") as run:
        run.add_column(sa.Column("holder", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run") as run:
        run.drop_column("holder")
