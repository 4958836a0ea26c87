"""Checks the rows of the observation files: measures, periods, values, repeats.

Each check runs once per distinct text of a column and is spread to the rows by
indexing (see digest.site.observations).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from digest.errors import Problem
from digest.model import Measure, Unit
from digest.units import UNITS

FOLDER = "data/observations"
COLUMNS = ("measure", "period_end", "value", "note")
REQUIRED = ("measure", "period_end", "value")
CODES = ("c", ":", "z")
# Beyond this many rows with one kind of problem in one file, the rest are counted, not listed.
LISTED_PER_PROBLEM = 10

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.intp]
Texts = npt.NDArray[np.object_]
NAT = np.datetime64("NaT", "ns")
G = TypeVar("G", bound=np.generic)


@dataclass(frozen=True)
class Column:
    """A text column as codes into its distinct texts (stripped), one code per row."""

    codes: Ints
    texts: Texts

    @classmethod
    def of(cls, series: pd.Series) -> Column:
        if isinstance(series.dtype, pd.CategoricalDtype):  # the CSV reader coded it already
            codes, texts = series.cat.codes.to_numpy(), series.cat.categories.to_numpy()
        else:
            codes, texts = pd.factorize(series.to_numpy(dtype=object))
        texts = np.array([str(t).strip() for t in texts] + [""], dtype=object)
        coded: Ints = np.array(codes, dtype=np.intp)  # a copy: the frame keeps its own codes
        coded[coded < 0] = len(texts) - 1  # a cell the reader left empty
        return cls(coded, texts)

    def rows(self, per_text: npt.NDArray[G]) -> npt.NDArray[G]:
        """A value computed once per distinct text, spread to every row."""
        return per_text[self.codes]

    def text(self, row: int) -> str:
        return str(self.texts[self.codes[row]])

    def series(self) -> pd.Series:
        """The distinct texts as a Series, for pandas' string functions."""
        return pd.Series(self.texts, dtype=object)

    def canonical(self) -> tuple[Ints, Texts]:
        """Codes such that equal texts have equal codes, and those texts (each once)."""
        index, uniques = pd.factorize(self.texts)
        return index.astype(np.intp)[self.codes], np.asarray(uniques, dtype=object)


@dataclass(frozen=True)
class ObservationTable:
    """The rows of one or more files: their columns, file and line numbers."""

    columns: dict[str, Column]
    files: list[str]
    file_of: Ints  # index into `files`, per row
    lines: Ints

    def __len__(self) -> int:
        return len(self.lines)


class _Reporter:
    """Collects row problems, listing a few of each kind per file and counting the rest."""

    def __init__(self, table: ObservationTable, problems: list[Problem]) -> None:
        self.table = table
        self.problems = problems
        self.bad = np.zeros(len(table), dtype=bool)

    def report(self, mask: Bools, message: str, detail: Column | None = None) -> None:
        """Report the rows where `mask` holds; `detail` fills {} in the message per row."""
        rows = np.flatnonzero(mask & ~self.bad)
        if not rows.size:
            return
        self.bad[rows] = True
        file_of = self.table.file_of[rows]
        for file in np.unique(file_of).tolist():  # files are in row order already
            self._report_file(file, rows[file_of == file], detail, message)

    def _report_file(self, file: int, rows: Ints, detail: Column | None, message: str) -> None:
        name, lines = self.table.files[file], self.table.lines
        for row in rows[:LISTED_PER_PROBLEM].tolist():
            text = message.format(detail.text(row) if detail is not None else "")
            self.problems.append(Problem(name, int(lines[row]), text))
        more = len(rows) - LISTED_PER_PROBLEM
        if more > 0:
            last = int(lines[rows[-1]])
            self.problems.append(
                Problem(
                    name, last, f"and {more} more rows with the same problem (up to line {last})"
                )
            )


def _per_measure(
    column: Column, measures: dict[str, Measure], test: Callable[[Measure], bool]
) -> Bools:
    """Per row: whether the row's measure is known and passes `test`."""
    flags = [t in measures and test(measures[t]) for t in column.texts]
    return column.rows(np.array(flags, dtype=bool))


def _monthly(measure: Measure) -> bool:
    return measure.frequency == "monthly"


def _in_unit(unit: Unit, measure: Measure) -> bool:
    return measure.unit == unit


def checked(
    table: ObservationTable,
    measures: dict[str, Measure],
    today: date,
    problems: list[Problem],
    unreadable: Collection[str] = (),
) -> pd.DataFrame:
    measure, period_text = table.columns["measure"], table.columns["period_end"]
    reporter = _Reporter(table, problems)
    # Rows of a measure whose own row did not parse are left out unreported: one root
    # cause, reported once in data/measures.csv.
    reporter.bad |= measure.rows(np.array([t in unreadable for t in measure.texts], dtype=bool))
    reporter.report(
        measure.rows(measure.texts == ""), "measure is empty: every row needs a measure id"
    )
    known = np.array([t in measures for t in measure.texts], dtype=bool)
    reporter.report(
        ~measure.rows(known),
        'measure "{}" is not in data/measures.csv: add it there or correct the id',
        measure,
    )
    period = _periods(period_text, _per_measure(measure, measures, _monthly))
    reporter.report(
        np.isnat(period),
        'period_end "{}" is not a date: write YYYY-MM-DD (or YYYY-MM for a monthly measure)',
        period_text,
    )
    value, missing = _values(table, measures, reporter)
    reporter.report(
        period > np.datetime64(today, "ns"),
        "period_end {} is in the future (today is " + today.isoformat() + "): check the date",
        period_text,
    )
    _check_month_ends(table, period, measures, reporter)
    return _frame(table, period, value, missing, ~reporter.bad, problems)


def _periods(text: Column, monthly: Bools) -> npt.NDArray[np.datetime64]:
    """Per row: the date, from YYYY-MM-DD, or YYYY-MM (month end) for a monthly measure."""
    texts = text.series()
    full = pd.to_datetime(
        texts.where(texts.str.fullmatch(r"\d{4}-\d{2}-\d{2}")), format="%Y-%m-%d", errors="coerce"
    )
    month = pd.to_datetime(
        texts.where(texts.str.fullmatch(r"\d{4}-\d{2}")), format="%Y-%m", errors="coerce"
    ) + pd.offsets.MonthEnd(0)
    full_rows, month_rows = text.rows(_nanoseconds(full)), text.rows(_nanoseconds(month))
    short = np.where(monthly, month_rows, NAT)
    return np.where(np.isnat(full_rows), short, full_rows)


def _nanoseconds(dates: pd.Series) -> npt.NDArray[np.datetime64]:
    """Dates the frame can hold; one outside 1677-2262 is not taken as a date."""
    inside = (dates >= pd.Timestamp.min) & (dates <= pd.Timestamp.max)
    return dates.where(inside).to_numpy(dtype="datetime64[ns]")


def _values(
    table: ObservationTable, measures: dict[str, Measure], reporter: _Reporter
) -> tuple[npt.NDArray[np.float64], Texts]:
    text = table.columns["value"]
    texts = text.series()
    coded = texts.isin(CODES)
    numbers = pd.to_numeric(texts.where(~coded & texts.ne("")), errors="coerce").astype("float64")
    unreadable = texts.ne("") & ~coded & numbers.isna()
    reporter.report(
        text.rows(unreadable.to_numpy(dtype=bool)),
        'value "{}" is not a number: write digits (84.5), leave it empty, or use c, : or z',
        text,
    )
    infinite = ~np.isfinite(numbers.fillna(0).to_numpy())
    reporter.report(text.rows(infinite), 'value "{}" is not a finite number', text)
    value = text.rows(np.asarray(numbers, dtype=np.float64))
    for unit in UNITS.values():
        if unit.low is None and unit.high is None:
            continue
        of_unit = _per_measure(table.columns["measure"], measures, partial(_in_unit, unit.name))
        low = -np.inf if unit.low is None else unit.low
        high = np.inf if unit.high is None else unit.high
        with np.errstate(invalid="ignore"):
            outside = of_unit & ((value < low) | (value > high))
        reporter.report(outside, "value {} " + unit.out_of_bounds, text)
    codes = text.texts.copy()
    codes[~coded.to_numpy(dtype=bool)] = None
    return value, text.rows(codes)


def _check_month_ends(
    table: ObservationTable, period: npt.NDArray[np.datetime64], measures: dict[str, Measure],
    reporter: _Reporter,
) -> None:  # fmt: skip
    monthly = np.flatnonzero(_per_measure(table.columns["measure"], measures, _monthly))
    days = period[monthly].astype("datetime64[D]")
    month_end = np.isnat(days) | (
        (days + 1).astype("datetime64[M]") != days.astype("datetime64[M]")
    )
    wrong = np.zeros(len(table), dtype=bool)
    wrong[monthly[~month_end]] = True
    reporter.report(
        wrong,
        "period_end {} of a monthly measure must be the last day of the month (or write YYYY-MM)",
        table.columns["period_end"],
    )


def _frame(
    table: ObservationTable, period: npt.NDArray[np.datetime64], value: npt.NDArray[np.float64],
    missing: Texts, good: Bools, problems: list[Problem],
) -> pd.DataFrame:  # fmt: skip
    """The good rows, each measure/period once (the first given); repeats are reported."""
    measure, measures = table.columns["measure"].canonical()
    note, notes = table.columns["note"].canonical()
    rows = np.flatnonzero(good)
    day = period[rows].astype("datetime64[D]").astype(np.int64)
    first_day = int(day.min()) if rows.size else 0
    span = int(day.max()) - first_day + 1 if rows.size else 1
    key = measure[rows].astype(np.int64) * span + (day - first_day)
    repeated = _repeated(key, len(measures) * span)
    if repeated.any():
        _report_repeats(table, rows, key, repeated, period, problems)
    rows = rows[~repeated]
    return pd.DataFrame(
        {
            "measure": pd.Categorical.from_codes(measure[rows], categories=pd.Index(measures)),
            "period_end": period[rows],
            "value": value[rows],
            "missing": pd.Series(missing[rows], dtype=object),
            "note": pd.Categorical.from_codes(note[rows], categories=pd.Index(notes)),
        }
    )


def _repeated(key: npt.NDArray[np.int64], size: int) -> Bools:
    """Which keys were seen before (all but the first of each); keys lie in [0, size)."""
    # Counting is much faster than hashing, and usually shows that nothing repeats.
    if size <= 8 * len(key) + 1_000_000 and np.bincount(key, minlength=size).max(initial=0) <= 1:
        return np.zeros(len(key), dtype=bool)
    return pd.Series(key).duplicated(keep="first").to_numpy()


def _report_repeats(
    table: ObservationTable, rows: Ints, key: npt.NDArray[np.int64], repeated: Bools,
    period: npt.NDArray[np.datetime64], problems: list[Problem],
) -> None:  # fmt: skip
    listed = rows[repeated][: LISTED_PER_PROBLEM * 5]
    wanted = set(key[repeated][: LISTED_PER_PROBLEM * 5].tolist())
    first: dict[int, int] = {}
    for row, k in zip(rows[~repeated].tolist(), key[~repeated].tolist(), strict=True):
        if k in wanted:
            first[k] = row
    for row in listed.tolist():
        where = first[int(key[np.searchsorted(rows, row)])]
        day = period[row].astype("datetime64[D]").item()
        problems.append(
            Problem(
                table.files[table.file_of[row]],
                int(table.lines[row]),
                f"{table.columns['measure'].text(row)} for {day} is already given in {table.files[table.file_of[where]]} line {int(table.lines[where])}: keep one",
            )
        )
