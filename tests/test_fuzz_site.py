"""Seeded mutations of every file of a good site: `check` never crashes, and what it
refuses, `send` sends nothing of.

Deterministic: each case is a (file, mutation, seed) drawn from fixed seeds, so a failure
names the case that reproduces it.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from digest.cli import main as cli_main
from tests.sites import REPO, send_by_smtp, write_site
from tests.smtp_server import SmtpServer

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HUGE = 200_000
Mutation = Callable[[Path, random.Random], None]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True) or [b""]


def truncate(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: rng.randrange(len(data) + 1)])


def flip_bytes(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def insert_non_utf8(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    at = rng.randrange(len(data) + 1)
    path.write_bytes(
        data[:at] + rng.choice([b"\xff", b"\xc3(", b"\xe9", b"\x80\x80", b"\x00"]) + data[at:]
    )


def duplicate_line(path: Path, rng: random.Random) -> None:
    lines = _lines(path)
    at = rng.randrange(len(lines))
    path.write_bytes(b"".join([*lines[: at + 1], lines[at], *lines[at + 1 :]]))


def delete_line(path: Path, rng: random.Random) -> None:
    lines = _lines(path)
    del lines[rng.randrange(len(lines))]
    path.write_bytes(b"".join(lines))


def huge_cell(path: Path, rng: random.Random) -> None:
    lines = _lines(path)
    at = rng.randrange(len(lines))
    cut = rng.randrange(len(lines[at]) + 1)
    filler = rng.choice([b"x", b"9", b" ", b'"', b","]) * HUGE
    lines[at] = lines[at][:cut] + filler + lines[at][cut:]
    path.write_bytes(b"".join(lines))


def empty(path: Path, rng: random.Random) -> None:
    path.write_bytes(b"")


def directory(path: Path, rng: random.Random) -> None:
    path.unlink()
    path.mkdir()


MUTATIONS: dict[str, Mutation] = {
    "truncate": truncate,
    "flip-bytes": flip_bytes,
    "non-utf8": insert_non_utf8,
    "duplicate-line": duplicate_line,
    "delete-line": delete_line,
    "huge-cell": huge_cell,
    "empty": empty,
    "directory": directory,
}
# Each file of the site's own data takes every mutation with two seeds; each template,
# three mutations chosen by a fixed seed (there are many, and they are read alike).
DATA_SEEDS = (1, 2)
TEMPLATE_MUTATIONS = 3


def base_site(root: Path) -> Path:
    site = write_site(root)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["measure", "period_end", "value", "note"], ["visits", "2024-10-31", 94, ""]):
        sheet.append(row)
    book.save(site / "data/observations/extra.xlsx")
    return site


def _case_list() -> list[tuple[str, str, int]]:
    names = [
        "recipients.toml",
        "schedules.toml",
        "data/measures.csv",
        "data/publications.csv",
        "data/deep_dive_requests.csv",
        "data/observations/daily.csv",
        "data/observations/monthly.csv",
        "data/observations/extra.xlsx",
    ]
    found = [
        (name, mutation, seed) for name in names for mutation in MUTATIONS for seed in DATA_SEEDS
    ]
    templates = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*") if p.is_file()
    )
    chooser = random.Random(13)
    for name in templates:
        for mutation in chooser.sample(sorted(MUTATIONS), TEMPLATE_MUTATIONS):
            found.append((name, mutation, chooser.randrange(1000)))
    return found


CASES = _case_list()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Path:
    return send_by_smtp(base_site(tmp_path_factory.mktemp("pristine") / "site"), smtp.port)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli_main(argv, clock=lambda: NOW)
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_clean(code: int, text: str, allowed: tuple[int, ...]) -> None:
    assert code in allowed, text
    assert "internal error" not in text, text
    assert "Traceback" not in text, text


def test_the_unmutated_site_checks_clean(
    pristine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--site", str(pristine), "check"], capsys)[0] == 0


@pytest.mark.parametrize(
    ("name", "mutation", "seed"), CASES, ids=[f"{n}-{m}-{s}" for n, m, s in CASES]
)
def test_a_mutated_file_is_reported_and_never_half_sent(
    tmp_path: Path,
    pristine: Path,
    smtp: SmtpServer,
    capsys: pytest.CaptureFixture[str],
    name: str,
    mutation: str,
    seed: int,
) -> None:
    site = tmp_path / "site"
    shutil.copytree(pristine, site)
    MUTATIONS[mutation](site / name, random.Random(f"{name}/{mutation}/{seed}"))
    code, text = run(["--site", str(site), "check"], capsys)
    assert_clean(code, text, (0, 1))
    if code == 0:
        return
    before = len(smtp.received)
    code, text = run(["--site", str(site), "send", "daily", "--on", "2026-11-26"], capsys)
    assert_clean(code, text, (1, 2))
    assert len(smtp.received) == before, text
    assert not list(site.rglob("*.eml")), text
