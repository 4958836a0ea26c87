"""A file the team can break in ways that are not its contents: each gets its own FILE:LINE."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest.cli import main
from tests.sites import write_site


def check(site: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--site", str(site), "check"]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "internal error" not in text
    return text


def test_a_pipe_in_place_of_publications_is_named_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    (site / "data/publications.csv").unlink()
    os.mkfifo(site / "data/publications.csv")
    assert "data/publications.csv:1: not a regular file" in check(site, capsys)


def test_a_pipe_among_the_observation_files_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    os.mkfifo(site / "data/observations/pipe.csv")
    assert "data/observations/pipe.csv:1: not a regular file" in check(site, capsys)


def test_recipients_toml_being_a_folder_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    (site / "recipients.toml").unlink()
    (site / "recipients.toml").mkdir()
    assert "recipients.toml:1: not a regular file" in check(site, capsys)


def test_a_catalogue_that_is_not_utf8_names_the_line_of_the_bad_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    measures = site / "data/measures.csv"
    lines = measures.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Open referrals", b"Open r\xe9ferrals")  # Latin-1, not UTF-8
    measures.write_bytes(b"".join(lines))
    assert "data/measures.csv:3: not UTF-8 text" in check(site, capsys)


def test_a_sender_of_two_addresses_is_refused_not_cut_to_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    schedules = site / "schedules.toml"
    text = schedules.read_text()
    start = text.index("sender = ")
    end = text.index("\n", start)
    schedules.write_text(
        text[:start] + 'sender = "a@example.gov.uk, b@example.gov.uk"' + text[end:]
    )
    assert "must be one address" in check(site, capsys)


def test_a_huge_cell_is_named_by_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    measures = site / "data/measures.csv"
    lines = measures.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("Open referrals.", "x" * 140_000)
    measures.write_text("".join(lines))
    assert "data/measures.csv:3: this row cannot be read" in check(site, capsys)
