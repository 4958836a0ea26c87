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


def edit_lines(path: Path, *edits: tuple[int, str, str]) -> None:
    """In each line `index` (from 0) of the file, replace `old` by `new` once."""
    lines = path.read_text().splitlines(keepends=True)
    for index, old, new in edits:
        lines[index] = lines[index].replace(old, new, 1)
    path.write_text("".join(lines))


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
    edit_lines(site / "data/measures.csv", (2, "Open referrals.", "x" * 140_000))
    assert "data/measures.csv:3: a cell of more than 131,072 characters" in check(site, capsys)


@pytest.mark.parametrize(
    ("name", "index", "old", "cell"),
    [
        ("data/measures.csv", 2, "Open referrals.", "x" * 131_072),
        ("data/publications.csv", 1, "sc/2026-09", "x" * 131_072),
        ("data/deep_dive_requests.csv", 1, "visits", "v" * 200_000),
        ("data/observations/monthly.csv", 1, "re-referrals", "r" * 131_072),
        ("data/observations/monthly.csv", 1, "re-referrals,", "r" * 200_000 + ",,,"),
    ],
)
def test_a_128k_cell_is_named_by_its_line_with_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, index: int, old: str, cell: str
) -> None:
    site = write_site(tmp_path / "site")
    edit_lines(site / name, (index, old, cell))
    text = check(site, capsys)
    assert f"{name}:{index + 1}: a cell of " in text
    assert "32,767" in text


def test_rows_after_a_huge_cell_are_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    edit_lines(site / "data/measures.csv", (1, "Children looked after.", "x" * 140_000),
               (3, "percent", "percentage"))  # fmt: skip
    text = check(site, capsys)
    assert "data/measures.csv:2: a cell of more than 131,072 characters" in text
    assert 'data/measures.csv:4: unit "percentage"' in text


def test_a_stray_comma_in_the_first_observation_row_is_named_not_shifted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    edit_lines(site / "data/observations/monthly.csv", (1, "re-referrals,", "re-referrals,,"))
    text = check(site, capsys)
    assert "data/observations/monthly.csv:2: this row has more cells than the header" in text
    assert "monthly.csv:3:" not in text
