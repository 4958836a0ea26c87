"""A lost store is not a fresh start: a site that has sent before refuses to send from a
store that is not the one it sent from (issue 13: 2,008 members mailed again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from digest.cli import main as cli_main
from digest.delivery.identity import MARKER, store_id
from digest.delivery.store import MIGRATIONS, open_store
from tests.conftest import fresh_schema
from tests.sites import write_site

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def main(site: Path, *argv: str) -> int:
    return cli_main(["--site", str(site), *argv], clock=lambda: NOW)


def sent_files(site: Path) -> list[Path]:
    return sorted((site / "outbox").glob("*.eml"))


def lose_the_store(site: Path) -> None:
    for path in (site / ".digest").glob("state.db*"):
        path.unlink()


def sent_then_lost(site: Path) -> None:
    """The daily sent, then the store it was recorded in lost (the marker stays)."""
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0
    lose_the_store(site)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    return write_site(tmp_path / "site")


def test_it_refuses_to_send_again_from_a_new_store_after_the_old_one_is_lost(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent_then_lost(site)
    assert len(sent_files(site)) == 2
    assert (site / MARKER).is_file()
    capsys.readouterr()

    assert main(site, "send", "daily", "--on", "2026-11-26") == 1

    err = capsys.readouterr().err
    assert len(sent_files(site)) == 2  # nobody mailed again
    assert str(site / MARKER) in err
    assert "has sent before" in err and "every member again" in err
    assert "--new-state" in err and "Restore the store" in err
    assert "Traceback" not in err


def test_new_state_starts_afresh_knowingly_and_then_sends_once(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent_then_lost(site)
    capsys.readouterr()
    assert main(site, "send", "daily", "--on", "2026-11-26", "--new-state") == 0
    said = capsys.readouterr()
    assert "2 new message(s) queued; now 2 sent" in said.out  # knowingly sent again
    assert f"{site / MARKER} names it from now on" in said.err
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0  # the new store is the one now
    assert "nothing new to send" in capsys.readouterr().out


def test_retry_and_run_refuse_a_lost_store_too(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent_then_lost(site)
    capsys.readouterr()
    assert main(site, "retry") == 1
    assert str(site / MARKER) in capsys.readouterr().err
    assert main(site, "run") == 1  # refused before the scheduler starts
    assert "--new-state" in capsys.readouterr().err
    assert main(site, "retry", "--new-state") == 0


def test_reading_commands_are_not_refused_and_status_names_the_problem(
    site: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sent_then_lost(site)
    for argv in (["check"], ["history"], ["upcoming"],
                 ["preview", "daily", "--on", "2026-11-26", "--out", str(tmp_path / "p")]):  # fmt: skip
        assert main(site, *argv) == 0, argv
    capsys.readouterr()

    assert main(site, "status") == 1
    out = capsys.readouterr().out
    assert str(site / MARKER) in out and "--new-state" in out
    assert main(site, "status", "--json") == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any(str(site / MARKER) in p for p in problems)
    assert main(site, "send", "daily", "--on", "2026-11-26") == 1  # status made no store good


def test_a_site_that_never_sent_is_not_refused(site: Path) -> None:
    assert main(site, "status") == 0
    assert not (site / MARKER).exists()  # reading writes no marker
    lose_the_store(site)
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0


@pytest.fixture
def two_databases(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The test's database and a second, empty one of the same engine."""
    if database_url.startswith("sqlite"):
        yield database_url, f"sqlite+pysqlite:///{tmp_path / 'elsewhere' / 'state.db'}"
        return
    with fresh_schema() as other:
        yield database_url, other


def test_pointing_the_site_at_another_database_is_caught(
    two_databases: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    first, other = two_databases
    site = write_site(tmp_path / "site")
    monkeypatch.setenv("DIGEST_DATABASE_URL", first)
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0
    monkeypatch.setenv("DIGEST_DATABASE_URL", other)
    capsys.readouterr()
    assert main(site, "send", "daily", "--on", "2026-11-26") == 1
    assert "has sent before" in capsys.readouterr().err
    assert len(sent_files(site)) == 2
    monkeypatch.setenv("DIGEST_DATABASE_URL", first)  # back to its own store: all is well
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0
    assert len(sent_files(site)) == 2


def test_the_migration_gives_an_existing_store_an_id_and_a_site_that_sent_adopts_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = write_site(tmp_path / "site")
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    (tmp_path / ".digest").mkdir(exist_ok=True)
    engine = sa.create_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:  # a store of before the marker, that has sent
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(sa.text(
            "INSERT INTO delivery (delivery_key, schedule_id, occurrence_key, recipient_id, "
            "recipient_name, email, subject, message_id, state, attempts, created_at, updated_at, sent_at) "
            "VALUES ('daily/2026-11-25/chair', 'daily', '2026-11-25', 'chair', 'Cllr', "
            "'chair@example.gov.uk', 's', '<m@x>', 'sent', 1, :now, :now, :now)"
        ), {"now": NOW})  # fmt: skip
    engine.dispose()
    store = open_store(site, database_url)
    try:
        identity = store_id(store)
        assert len(identity) >= 16
        assert store_id(store) == identity  # kept, not made anew
    finally:
        store.close()
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0
    assert identity in (site / MARKER).read_text()  # protected from now on


def test_the_help_names_the_marker_the_store_writes() -> None:
    from digest.cli.main import MARKER as SAID

    assert SAID == MARKER
