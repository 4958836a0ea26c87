"""Alembic environment: digest.delivery.store passes its open connection in."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from digest.delivery.store import Delivery

config = context.config
target_metadata = Delivery.metadata


def run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    # Developers writing a new revision: `alembic -x url=... revision --autogenerate`.
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ["DIGEST_DATABASE_URL"]
    with sa.create_engine(url).begin() as fresh:
        run_migrations(fresh)
