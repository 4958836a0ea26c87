"""A store digest may read but not write (issue 13): the reading commands still work, the
sending ones refuse in one line naming the file; a store that cannot be opened at all is
named too. Never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from tests.sites import write_site

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def main(site: Path, *argv: str) -> int:
    return cli_main(["--site", str(site), *argv], clock=lambda: NOW)


def _protect(paths: list[Path], on: bool) -> None:
    """Make paths unwritable for real: chmod for a user; root ignores modes, so the
    immutable attribute (chattr +i) then, where the file system has it."""
    if os.geteuid() != 0:
        for path in paths:
            path.chmod((0o555 if path.is_dir() else 0o444) if on else 0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a file unwritable")
    done = subprocess.run(["chattr", "+i" if on else "-i", *map(str, paths)], capture_output=True)
    if done.returncode and on:
        pytest.skip(f"running as root on a file system without chattr +i: {done.stderr!r}")


@pytest.fixture
def sent_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site that sent once, whose store (file and folder) can then no longer be written."""
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    site = write_site(tmp_path / "site")
    assert main(site, "send", "daily", "--on", "2026-11-26") == 0
    folder = site / ".digest"
    with closing(sqlite3.connect(folder / "state.db")) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as after a clean stop
    for extra in folder.glob("state.db-*"):
        assert extra.stat().st_size == 0 or extra.name.endswith("-shm")
        extra.unlink()
    paths = [folder / "state.db", folder]
    _protect(paths, True)
    try:
        yield site
    finally:
        _protect(paths, False)


def test_reading_commands_read_a_store_they_cannot_write(
    sent_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(sent_site, "history", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(sent_site, "check") == 0
    assert main(sent_site, "status", "--json") == 1  # it works, and says what is wrong
    report = json.loads(capsys.readouterr().out)
    assert report["deliveries"]["sent"] == 2
    assert any("state.db: can be read but not written" in p for p in report["problems"])


@pytest.mark.parametrize("argv", [["send", "daily", "--on", "2026-11-27"], ["run"], ["retry"]])
def test_sending_commands_refuse_in_one_line_naming_the_file(
    sent_site: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    capsys.readouterr()
    assert main(sent_site, *argv) == 1
    err = capsys.readouterr().err
    assert f"{sent_site / '.digest' / 'state.db'}: the delivery state cannot be" in err
    assert "write access" in err
    assert "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1
    assert len(list((sent_site / "outbox").glob("*.eml"))) == 2  # nothing more sent


def test_a_store_folder_that_is_a_file_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGEST_DATABASE_URL", raising=False)
    site = write_site(tmp_path / "site")
    (site / ".digest").write_text("not a folder")
    for argv in (["send", "daily", "--on", "2026-11-26"], ["status"]):
        assert main(site, *argv) == 1
        err = capsys.readouterr().err
        assert f"{site / '.digest' / 'state.db'}: the delivery state cannot be opened" in err
        assert "internal error" not in err and "Traceback" not in err
