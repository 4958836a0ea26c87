"""Reads data/observations/*.csv and *.xlsx into one checked long-format frame.

A million rows hold only a few thousand distinct texts (measure ids, dates, values), so
each column is kept as codes into its distinct texts: every check and conversion runs
once per distinct text and is spread to the rows by indexing, never row by row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from digest.errors import Problem
from digest.model import Measure
from digest.site.csvfile import MAX_CELL_CHARS, TOO_MANY_CELLS, csv_rows, long_cell
from digest.site.fields import suggestion
from digest.site.observation_rows import (
    COLUMNS,
    FOLDER,
    LISTED_PER_PROBLEM,
    REQUIRED,
    Bools,
    Column,
    Ints,
    ObservationTable,
    checked,
)
from digest.site.workbook import WorkbookError, read_workbook


def empty_frame() -> pd.DataFrame:
    """The frame the indicator engine expects, with no rows."""
    return pd.DataFrame(
        {
            "measure": pd.Series([], dtype=object),
            "period_end": pd.Series([], dtype="datetime64[ns]"),
            "value": pd.Series([], dtype="float64"),
            "missing": pd.Series([], dtype=object),
            "note": pd.Series([], dtype=object),
        }
    )


def read_observations(
    root: Path,
    measures: Iterable[Measure],
    today: date,
    problems: list[Problem],
    unreadable: Collection[str] = (),
) -> pd.DataFrame:
    """All observation files, checked; rows with problems are reported and left out."""
    folder = root / FOLDER
    files = sorted([*folder.glob("*.csv"), *folder.glob("*.xlsx")]) if folder.is_dir() else []
    if not files:
        problems.append(
            Problem(
                FOLDER,
                1,
                "no observation files: add CSV or XLSX files with columns measure,period_end,value",
            )
        )
        return empty_frame()
    tables = [t for t in (_read_file(root, path, problems) for path in files) if t is not None]
    if not tables:
        return empty_frame()
    return checked(_joined(tables), {m.id: m for m in measures}, today, problems, unreadable)


def _read_file(root: Path, path: Path, problems: list[Problem]) -> ObservationTable | None:
    name = path.relative_to(root).as_posix()
    if not path.is_file():  # a folder or a pipe would fail, or wait for ever, when read
        problems.append(Problem(name, 1, "not a regular file: replace it with a CSV or .xlsx file"))
        return None
    try:
        frame, lines = (
            _read_xlsx(path, name, problems)
            if path.suffix == ".xlsx"
            else _read_csv(path, name, problems)
        )
    except WorkbookError as exc:
        problems.append(Problem(name, exc.line, str(exc)))
        return None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as exc:
        problems.append(
            Problem(name, 1, f"cannot be read ({_first_line(exc)}): save it as UTF-8 CSV or .xlsx")
        )
        return None
    header = [str(c).strip() for c in frame.columns]
    if not _header_fits(name, header, problems):
        return None
    columns = {h: Column.of(frame.iloc[:, i]) for i, h in reversed(list(enumerate(header)))}
    kept = _not_blank(list(columns.values()), len(frame))
    kept = kept[_short(list(columns.values()), kept, name, lines, problems)]
    if len(kept) < len(frame):
        columns = {c: _rows_of(column, kept) for c, column in columns.items()}
    columns = {c: columns.get(c) or _blank(len(kept)) for c in COLUMNS}
    return ObservationTable(columns, [name], np.zeros(len(kept), dtype=np.intp), lines[kept])


def _header_fits(name: str, header: list[str], problems: list[Problem]) -> bool:
    """Report unknown and missing columns; True when there are none."""
    wanted = "the columns are measure,period_end,value[,note]"
    bad = [c for c in header if c not in (*COLUMNS, "line")]
    missing = [c for c in REQUIRED if c not in header]
    for column in bad:
        message = f'unknown column "{column}"{suggestion(column, COLUMNS)}: {wanted}'
        problems.append(Problem(name, 1, message))
    for column in missing:
        message = f'missing column "{column}": the header must be measure,period_end,value[,note]'
        problems.append(Problem(name, 1, message))
    return not (bad or missing)


def _read_csv(path: Path, name: str, problems: list[Problem]) -> tuple[pd.DataFrame, Ints]:
    try:
        frame = pd.read_csv(
            path,
            dtype="category",  # each column as codes into its distinct texts, as it is parsed
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            skip_blank_lines=False,
        )
    except pd.errors.ParserError:
        return _read_ragged_csv(path, name, problems)
    if not isinstance(frame.index, pd.RangeIndex):
        # The first row had more cells than the header, and pandas took the extra
        # leading cells for an index, shifting every column: read it row by row.
        return _read_ragged_csv(path, name, problems)
    return frame, np.arange(2, len(frame) + 2)


def _read_ragged_csv(path: Path, name: str, problems: list[Problem]) -> tuple[pd.DataFrame, Ints]:
    """The slow path for a file whose rows do not all match the header: name each bad row."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv_rows(handle, name, problems)
        header = next(reader, (1, []))[1]
        rows, lines = [], []
        for line, cells in reader:
            if len(cells) > len(header):
                problems.append(Problem(name, line, TOO_MANY_CELLS))
                continue
            rows.append(cells + [""] * (len(header) - len(cells)))
            lines.append(line)
    return pd.DataFrame(rows, columns=header, dtype=object), np.array(lines, dtype=np.intp)


def _read_xlsx(path: Path, name: str, problems: list[Problem]) -> tuple[pd.DataFrame, Ints]:
    sheet = read_workbook(path, name, problems)
    frame = pd.DataFrame(sheet.rows, columns=sheet.header, dtype=object)
    return frame, np.array(sheet.lines, dtype=np.intp)


def _not_blank(columns: list[Column], count: int) -> Ints:
    """Rows with something in at least one cell (the header is line 1)."""
    blank = np.ones(count, dtype=bool)
    for column in columns:
        blank &= column.rows(column.texts == "")
    return np.flatnonzero(~blank)


def _short(
    columns: list[Column], rows: Ints, name: str, lines: Ints, problems: list[Problem]
) -> Bools:
    """Per row of `rows`: whether every cell is within the limit; the others are reported."""
    longest = np.zeros(len(rows), dtype=np.intp)
    for column in columns:
        lengths = np.array([len(t) for t in column.texts], dtype=np.intp)
        if lengths.max(initial=0) <= MAX_CELL_CHARS:
            continue  # no text of this column is too long: no row needs looking at
        longest = np.maximum(longest, lengths[column.codes[rows]])
    long = np.flatnonzero(longest > MAX_CELL_CHARS)
    for at in long[:LISTED_PER_PROBLEM].tolist():
        problems.append(Problem(name, int(lines[rows[at]]), long_cell(f"{longest[at]:,}")))
    if len(long) > LISTED_PER_PROBLEM:
        problems.append(
            Problem(
                name,
                int(lines[rows[long[-1]]]),
                f"and {len(long) - LISTED_PER_PROBLEM} more rows with a cell over the limit",
            )
        )
    return longest <= MAX_CELL_CHARS


def _rows_of(column: Column, rows: Ints) -> Column:
    return Column(column.codes[rows], column.texts)


def _blank(count: int) -> Column:
    return Column(np.zeros(count, dtype=np.intp), np.array([""], dtype=object))


def _joined(tables: list[ObservationTable]) -> ObservationTable:
    """One table of every file's rows, in file order; codes renumbered past earlier texts."""
    if len(tables) == 1:
        return tables[0]
    columns = {}
    for name in COLUMNS:
        parts = [t.columns[name] for t in tables]
        offsets = np.cumsum([0] + [len(p.texts) for p in parts[:-1]])
        codes = np.concatenate([p.codes + o for p, o in zip(parts, offsets, strict=True)])
        columns[name] = Column(codes, np.concatenate([p.texts for p in parts]))
    file_of = np.concatenate([np.full(len(t), i, dtype=np.intp) for i, t in enumerate(tables)])
    lines = np.concatenate([t.lines for t in tables])
    return ObservationTable(columns, [t.files[0] for t in tables], file_of, lines)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
