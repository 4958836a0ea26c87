from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from digest.delivery.outbox import enqueue
from digest.delivery.store import (
    MIGRATIONS,
    Delivery,
    Store,
    database_url,
    finish_run,
    has_run,
    open_store,
    recent_runs,
    start_run,
)
from tests.conftest import NOW, MakeMessages


def test_it_keeps_state_in_the_site_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    store = open_store(tmp_path)
    with store.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    store.close()
    assert (tmp_path / ".digest" / "state.db").is_file()
    assert mode == "wal"
    assert timeout == 30_000


def test_the_database_url_comes_from_the_environment_when_set(tmp_path: Path) -> None:
    url = "postgresql://digest@db.example/digest"
    assert database_url(tmp_path, {"DIGEST_DATABASE_URL": url}) == url
    assert database_url(tmp_path, {}).endswith("/.digest/state.db")


def test_reopening_upgrades_in_place_and_keeps_history(
    database_url: str, tmp_path: Path, make_messages: MakeMessages
) -> None:
    first = open_store(tmp_path, database_url)
    enqueue(first, make_messages(3), NOW)
    first.close()
    again = open_store(tmp_path, database_url)
    with again.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        rows = connection.execute(sa.select(sa.func.count()).select_from(Delivery)).scalar()
    again.close()
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert rows == 3


def test_the_migrations_build_exactly_the_tables_the_code_uses(
    database_url: str, tmp_path: Path
) -> None:
    store = open_store(tmp_path, database_url)
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Delivery.metadata)
    store.close()
    # Tables of modules this test process has not imported are not in the metadata.
    known = Delivery.metadata.tables
    assert [d for d in differences if d[0] != "remove_table" or d[1].name in known] == []
    assert {"delivery", "sent_message", "run"} <= set(known)


def test_timestamps_come_back_as_aware_utc(database_url: str, tmp_path: Path) -> None:
    store = open_store(tmp_path, database_url)
    local = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    start_run(store, "monthly-tracker", "social-care:2026-05-31", local)
    (run,) = recent_runs(store)
    store.close()
    assert run.started_at == local
    assert run.started_at.utcoffset() == timedelta(0)
    assert run.started_at.hour == 8


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
        start_run(store, "daily-key-indicators", "2026-11-02", datetime(2026, 11, 2, 7, 30))


def test_runs_are_listed_newest_first_with_their_counts(database_url: str, tmp_path: Path) -> None:
    store = open_store(tmp_path, database_url)
    older = start_run(store, "daily-key-indicators", "2026-11-02", NOW)
    finish_run(store, older, NOW + timedelta(seconds=5), "ok", added=2, sent=2)
    newer = start_run(store, "daily-key-indicators", "2026-11-03", NOW + timedelta(days=1))
    runs = recent_runs(store)
    assert [r.id for r in runs] == [newer, older]
    assert (runs[1].outcome, runs[1].added, runs[1].sent, runs[1].failed) == ("ok", 2, 2, 0)
    assert runs[1].finished_at == NOW + timedelta(seconds=5)
    assert (runs[0].outcome, runs[0].finished_at) == ("running", None)
    assert has_run(store, "daily-key-indicators", "2026-11-03")
    assert not has_run(store, "daily-key-indicators", "2026-11-04")
    assert recent_runs(store, schedule_id="monthly-tracker") == []
    store.close()
