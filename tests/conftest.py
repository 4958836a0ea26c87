"""Shared fixtures: a database on SQLite and on PostgreSQL, messages, an SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest.delivery.store import Store, open_store
from digest.model import OutgoingMessage, Recipient, delivery_key, message_id
from tests.smtp_server import SmtpServer

# CI starts PostgreSQL with trust auth; when it is not there the tests fail, not skip.
POSTGRES_URL = os.environ.get(
    "DIGEST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
SENDER = "Performance and Quality <performance@example.gov.uk>"

MakeMessages = Callable[..., list[OutgoingMessage]]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no other test sees: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+pysqlite:///{tmp_path / '.digest' / 'state.db'}"
        return
    with fresh_schema() as url:
        yield url


@contextmanager
def fresh_schema() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path, database_url)
    yield opened
    opened.close()


def build_message(
    recipient_id: str,
    *,
    schedule_id: str = "daily-key-indicators",
    occurrence_key: str = "2026-11-02",
    email: str | None = None,
) -> OutgoingMessage:
    """A complete one-recipient email, as render produces it."""
    recipient = Recipient(
        recipient_id, f"Cllr {recipient_id}", email or f"{recipient_id}@example.gov.uk", ("member",)
    )
    key = delivery_key(schedule_id, occurrence_key, recipient_id)
    mail = EmailMessage(policy=SMTP)
    mail["From"] = SENDER
    mail["To"] = f"{recipient.name} <{recipient.email}>"
    mail["Subject"] = f"Key indicators {occurrence_key}"
    mail["Message-ID"] = message_id(key, "example.gov.uk")
    mail.set_content(f"Dear {recipient.name},\n\nChildren in care: 412 (no change).\n")
    return OutgoingMessage(
        delivery_key=key,
        schedule_id=schedule_id,
        occurrence_key=occurrence_key,
        recipient=recipient,
        subject=str(mail["Subject"]),
        message_id=str(mail["Message-ID"]),
        raw=mail.as_bytes(),
        figures='{"cla-count": 412}',
    )


def a_dead_process_id() -> int:
    """The PID of a process that has come and gone."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


@pytest.fixture
def make_messages() -> MakeMessages:
    """`make_messages(count, **options)`: messages to cllr-0000, cllr-0001, ..."""

    def make(count: int, **options: str) -> list[OutgoingMessage]:
        return [build_message(f"cllr-{n:04d}", **options) for n in range(count)]

    return make


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on 127.0.0.1 that records what it accepts."""
    with SmtpServer() as server:
        yield server
