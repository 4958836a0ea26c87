"""CSV text row by row, each row with its line: a row that cannot be read is named, not fatal."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from digest.errors import Problem

MAX_CELL_CHARS = 32_767  # Excel's own limit for a cell, so a file Excel wrote always fits
TOO_MANY_CELLS = "this row has more cells than the header: check for a stray comma"


def long_cell(length: str) -> str:
    """The message for a cell over the limit; `length` says how long it is ("40,000")."""
    return (f"a cell of {length} characters: a cell holds at most {MAX_CELL_CHARS:,} "
            "(Excel's own limit); shorten it, or look for a quote left open")  # fmt: skip


class _Counted:
    """The lines handed to the csv reader, counted: the reader's own count is not
    always up to date when it fails."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = iter(lines)
        self.count = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.count += 1
        return line


def csv_rows(
    lines: Iterable[str], name: str, problems: list[Problem]
) -> Iterator[tuple[int, list[str]]]:
    """Each row with the line it ends on; rows that cannot be read, or with a cell over
    the limit, are reported and left out, and reading goes on with the next line."""
    counted = _Counted(lines)
    reader = csv.reader(counted)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem(name, counted.count, _unreadable(exc)))
            continue
        longest = max((len(c) for c in cells), default=0)
        if longest > MAX_CELL_CHARS:
            problems.append(Problem(name, counted.count, long_cell(f"{longest:,}")))
            continue
        yield counted.count, cells


def _unreadable(exc: csv.Error) -> str:
    if "field limit" in str(exc):
        return long_cell(f"more than {csv.field_size_limit():,}")
    return (
        f"this row cannot be read ({exc}): look for a stray quote or a character that is not text"
    )
