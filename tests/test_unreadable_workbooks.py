"""An .xlsx observation file that is not what it claims, or is built to hurt: one line, quickly."""

from __future__ import annotations

import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook

from digest.cli import main
from tests.sites import write_site

NAME = "data/observations/extra.xlsx"
SHEET = "xl/worksheets/sheet1.xml"


def good_workbook(path: Path, rows: list[list[object]] | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows or [["measure", "period_end", "value"], ["visits", "2023-10-31", 91.5]]:
        sheet.append(row)
    book.save(path)
    # The same bytes on every run (openpyxl dates each part by the clock), so that a
    # bit flipped at a given step always lands in the same place.
    with zipfile.ZipFile(path) as made:
        parts = [(info.filename, made.read(info)) for info in made.infolist()]
    parts = [(name, re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", data))
             for name, data in parts]  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as fixed:
        for name, data in parts:
            fixed.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data,
                           compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
    return path


def rewritten(path: Path, part: str, change: Callable[[bytes], bytes]) -> None:
    """The workbook with one of its parts changed."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info.filename) for info in old.infolist()}
    parts[part] = change(parts[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)


def check(site: Path, capsys: pytest.CaptureFixture[str]) -> str:
    started = time.monotonic()
    assert main(["--site", str(site), "check"]) == 1
    assert time.monotonic() - started < 10
    out = capsys.readouterr()
    text = out.out + out.err
    assert "internal error" not in text and "Traceback" not in text
    return text


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site")


def test_a_text_file_named_xlsx_is_one_line(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / NAME).write_text("measure,period_end,value\nvisits,2023-10-31,91.5\n")
    assert f"{NAME}:1: not an .xlsx workbook" in check(site, capsys)


def test_a_truncated_workbook_is_one_line(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = good_workbook(site / NAME).read_bytes()
    (site / NAME).write_bytes(whole[: len(whole) // 2])
    assert f"{NAME}:1: not an .xlsx workbook" in check(site, capsys)


@pytest.mark.parametrize("step", [37, 97, 211, 1001])
def test_a_bit_flipped_workbook_is_one_line(
    site: Path, capsys: pytest.CaptureFixture[str], step: int
) -> None:
    data = bytearray(good_workbook(site / NAME).read_bytes())
    for at in range(step, len(data), step):
        data[at] ^= 0x5A
    (site / NAME).write_bytes(bytes(data))
    assert f"{NAME}:1: " in check(site, capsys)


def zip_bomb(path: Path, expanded: int) -> None:
    """A good workbook whose sheet inflates to `expanded` bytes, mostly spaces, made in a
    moment: one deflated mebibyte, flushed whole, repeated (its CRC is left at 0)."""
    with zipfile.ZipFile(good_workbook(path)) as book:
        parts = {info.filename: book.read(info.filename) for info in book.infolist()}
    sheet = parts.pop(SHEET)
    head, tail = sheet.split(b"</sheetData>")
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = squeeze.compress(b" " * 2**20) + squeeze.flush(zlib.Z_FULL_FLUSH)
    count = (expanded - len(sheet)) // 2**20
    bomb = (squeeze.compress(head) + squeeze.flush(zlib.Z_FULL_FLUSH) + block * count
            + squeeze.compress(b"</sheetData>" + tail) + squeeze.flush())  # fmt: skip
    members = [(name, _deflated(data), len(data), zlib.crc32(data)) for name, data in parts.items()]
    members.append((SHEET, bomb, len(sheet) + count * 2**20, 0))
    local, central = b"", b""
    for name, body, size, crc in members:
        header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body),
                             size, len(name), 0)  # fmt: skip
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                               len(body), size, len(name), 0, 0, 0, 0, 0, len(local))  # fmt: skip
        central += name.encode()
        local += header + name.encode() + body
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(local), 0)  # fmt: skip
    path.write_bytes(local + central + end)


def _deflated(data: bytes) -> bytes:
    squeeze = zlib.compressobj(6, zlib.DEFLATED, -15)
    return squeeze.compress(data) + squeeze.flush()


def test_a_zip_bomb_is_refused_before_it_is_inflated(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zip_bomb(site / NAME, 3 * 2**30)
    text = check(site, capsys)
    assert f"{NAME}:1: " in text
    assert "unpacks to" in text


def test_a_tightly_packed_member_is_refused_by_its_ratio(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_workbook(site / NAME)
    rewritten(site / NAME, SHEET, lambda data: data.replace(b"</worksheet>", b" " * 20_000_000 + b"</worksheet>"))  # fmt: skip
    text = check(site, capsys)
    assert f"{NAME}:1: " in text
    assert "packed" in text


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


@pytest.mark.parametrize("part", [SHEET, "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml"])
def test_a_billion_laughs_is_refused_in_any_part(
    site: Path, capsys: pytest.CaptureFixture[str], part: str
) -> None:
    good_workbook(site / NAME, [["measure", "period_end", "value"], ["visits", "2023-10-31", "x"]])

    def laughing(data: bytes) -> bytes:
        return LAUGHS + data.split(b"?>", 1)[-1].replace(b"visits", b"&lol9;")

    rewritten(site / NAME, part, laughing)
    text = check(site, capsys)
    assert f"{NAME}:1: " in text
    assert "DTD" in text


def test_a_cell_longer_than_excel_allows_is_named_by_its_row(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_workbook(site / NAME)
    rewritten(site / NAME, SHEET, lambda data: data.replace(b"<t>visits</t>", b"<t>" + b"v" * 40_000 + b"</t>"))  # fmt: skip
    assert f"{NAME}:2: a cell of 40,000 characters" in check(site, capsys)


def test_a_sheet_longer_than_excel_allows_is_refused(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_workbook(site / NAME)
    far = b'<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>visits</t></is></c></row>'
    rewritten(site / NAME, SHEET, lambda data: data.replace(b"</sheetData>", far + b"</sheetData>"))
    assert f"{NAME}:1048577: more than 1,048,576 rows" in check(site, capsys)


def test_a_sheet_wider_than_the_observations_need_is_refused(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_workbook(site / NAME)
    wide = b'<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row>'
    rewritten(site / NAME, SHEET, lambda data: data.replace(b"</row>", wide, 2).replace(wide, b"</row>", 1))  # fmt: skip
    assert f"{NAME}:2: cells beyond column" in check(site, capsys)


def test_a_good_workbook_is_still_read(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good_workbook(
        site / NAME, [["measure", "period_end", "value"], ["visits", "2023-09-30", "n/a"]]
    )
    assert f'{NAME}:2: value "n/a" is not a number' in check(site, capsys)


def test_a_workbook_whose_zip_names_an_unknown_version_is_one_line(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = bytearray(good_workbook(site / NAME).read_bytes())
    central = whole.rfind(b"PK\x01\x02")  # the last part's central directory entry
    whole[central + 6] = 78  # "version needed to extract": 7.8, which zipfile refuses
    (site / NAME).write_bytes(bytes(whole))
    assert f"{NAME}:1: not an .xlsx workbook" in check(site, capsys)
