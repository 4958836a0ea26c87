"""Reads the first sheet of an .xlsx observation file, within limits, as rows of text.

An .xlsx is a zip of XML parts. Before openpyxl sees one, its zip directory is checked
(file size, what it unpacks to, how tightly each part is packed) and every part is read
once for a DTD: no part of a workbook has one, and entities are how an XML "billion
laughs" grows. Whatever openpyxl still cannot read is this file's fault: one line.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from digest.errors import DigestError, Problem

MAX_FILE_BYTES = 64 * 2**20
MAX_UNPACKED_BYTES = 256 * 2**20  # about a million rows of four cells
MAX_PARTS = 10_000
MAX_RATIO = 100  # unpacked/packed, for parts over a mebibyte; a sheet packs about 12 to 1
RATIO_FROM = 2**20
MAX_ROWS = 1_048_576  # Excel's own
MAX_CELL_CHARS = 32_767  # Excel's own
MAX_COLUMNS = 64  # observations use four; the rest only hides mistakes
PACKINGS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what Excel and LibreOffice write
DTD_MARKS = tuple("<!DOCTYPE".encode(code) for code in ("utf-8", "utf-16-le", "utf-16-be"))
RESAVE = "save it again from Excel as .xlsx, or as CSV UTF-8"


class WorkbookError(DigestError):
    """The workbook cannot be read, or is refused; `line` is the sheet row (1: the file)."""

    def __init__(self, message: str, line: int = 1) -> None:
        self.line = line
        super().__init__(message)


@dataclass(frozen=True)
class Sheet:
    """The first sheet as text: its header, and the rows with something in them."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # each row's number in the sheet


def read_workbook(path: Path, name: str, problems: list[Problem]) -> Sheet:
    """The first sheet; a row with cells beyond the header is reported and left out."""
    _check_archive(path)
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # the size it declares may hide rows and cells: read them all
            return _sheet(sheet.iter_rows(min_row=1, min_col=1, values_only=True), name, problems)
        finally:
            book.close()
    except WorkbookError:
        raise
    except Exception as exc:  # openpyxl on a broken file can fail in any way: it is the file's
        raise WorkbookError(
            f"not an .xlsx workbook openpyxl can read ({_said(exc)}): {RESAVE}"
        ) from None


def _check_archive(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise WorkbookError(f"{size:,} bytes is more than the {MAX_FILE_BYTES:,} an observation "
                            "workbook may have: split it, or save it as CSV UTF-8")  # fmt: skip
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            _check_parts(parts)
            for part in parts:
                _check_no_dtd(archive, part)
    except WorkbookError:
        raise
    except Exception as exc:  # zipfile on damaged bytes fails in many ways (BadZipFile,
        # zlib.error, EOFError, NotImplementedError for a "zip version 7.8", RuntimeError
        # for encryption...): each is the file's, said in its one line
        raise WorkbookError(
            f"not an .xlsx workbook (it does not unzip: {_said(exc)}): {RESAVE}"
        ) from None


def _check_parts(parts: list[zipfile.ZipInfo]) -> None:
    if len(parts) > MAX_PARTS:
        raise WorkbookError(f"{len(parts):,} parts in the zip, more than a workbook has: {RESAVE}")
    unpacked = sum(p.file_size for p in parts)
    if unpacked > MAX_UNPACKED_BYTES:
        raise WorkbookError(f"unpacks to {unpacked:,} bytes, more than the {MAX_UNPACKED_BYTES:,} "
                            "an observation workbook may: split it, or save it as CSV UTF-8")  # fmt: skip
    for part in parts:
        if part.compress_type not in PACKINGS:
            raise WorkbookError(
                f'part "{part.filename}" is packed in a way Excel does not use: {RESAVE}'
            )
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > RATIO_FROM and ratio > MAX_RATIO:
            raise WorkbookError(f'part "{part.filename}" is packed {ratio:,.0f} to 1, more tightly '
                                f"than any workbook ({MAX_RATIO} to 1 at most): {RESAVE}")  # fmt: skip


def _check_no_dtd(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """Refuse a part with a DTD: its entities could expand without end when parsed."""
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(2**20):
            if any(mark in tail + chunk for mark in DTD_MARKS):
                raise WorkbookError(f'part "{part.filename}" has a DTD (<!DOCTYPE>), which no '
                                    f"workbook needs and which can hide an XML bomb: {RESAVE}")  # fmt: skip
            tail = chunk[-32:]


def _sheet(rows: Iterator[tuple[object, ...]], name: str, problems: list[Problem]) -> Sheet:
    header: list[str] | None = None
    sheet = Sheet([], [], [])
    for line, row in enumerate(rows, start=1):
        if line > MAX_ROWS:
            raise WorkbookError(
                f"more than {MAX_ROWS:,} rows (Excel's own limit): split the sheet", line
            )
        if len(row) > MAX_COLUMNS and any(c is not None for c in row[MAX_COLUMNS:]):
            raise WorkbookError(f"cells beyond column {MAX_COLUMNS}: observations use the columns "
                                "measure,period_end,value[,note]; delete the others", line)  # fmt: skip
        texts = [_cell_text(c, line) for c in row[:MAX_COLUMNS]]
        if header is None:
            header = _trimmed(texts)
            sheet = Sheet(header, [], [])
        elif len(_trimmed(texts)) > len(header):
            problems.append(Problem(name, line, "this row has more cells than the header: "
                                    "delete the cells to the right, or name their column"))  # fmt: skip
        elif any(texts):
            sheet.rows.append(texts[: len(header)] + [""] * (len(header) - len(texts)))
            sheet.lines.append(line)
    return sheet


def _trimmed(texts: list[str]) -> list[str]:
    """The cells up to the last that is not empty."""
    filled = [i for i, text in enumerate(texts) if text]
    return texts[: filled[-1] + 1] if filled else []


def _cell_text(cell: object, line: int) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell)
    if len(text) > MAX_CELL_CHARS:
        raise WorkbookError(f"a cell of {len(text):,} characters: a cell holds at most "
                            f"{MAX_CELL_CHARS:,} (Excel's own limit); shorten it", line)  # fmt: skip
    return text


def _said(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
