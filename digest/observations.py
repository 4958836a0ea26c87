"""Reads data/observations/*.csv and *.xlsx into one checked long-format frame."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from digest.errors import Problem
from digest.fields import suggestion
from digest.model import Measure

FOLDER = "data/observations"
COLUMNS = ("measure", "period_end", "value", "note")
REQUIRED = ("measure", "period_end", "value")
CODES = ("c", ":", "z")
# Beyond this many rows with one kind of problem in one file, the rest are counted, not listed.
LISTED_PER_PROBLEM = 10


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
    root: Path, measures: Iterable[Measure], today: date, problems: list[Problem]
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
    frames = [f for f in (_read_file(root, path, problems) for path in files) if f is not None]
    if not frames:
        return empty_frame()
    raw = pd.concat(frames, ignore_index=True)
    return _checked(raw, {m.id: m for m in measures}, today, problems)


def _read_file(root: Path, path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    name = path.relative_to(root).as_posix()
    try:
        frame = _read_xlsx(path) if path.suffix == ".xlsx" else _read_csv(path, name, problems)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as exc:
        problems.append(
            Problem(name, 1, f"cannot be read ({_first_line(exc)}): save it as UTF-8 CSV or .xlsx")
        )
        return None
    header = [str(c).strip() for c in frame.columns]
    frame.columns = pd.Index(header)
    bad = [c for c in header if c not in (*COLUMNS, "line")]
    missing = [c for c in REQUIRED if c not in header]
    for column in bad:
        problems.append(
            Problem(
                name,
                1,
                f'unknown column "{column}"{suggestion(column, COLUMNS)}: the columns are measure,period_end,value[,note]',
            )
        )
    for column in missing:
        problems.append(
            Problem(
                name,
                1,
                f'missing column "{column}": the header must be measure,period_end,value[,note]',
            )
        )
    if bad or missing:
        return None
    if "note" not in frame.columns:
        frame["note"] = ""
    frame = frame.loc[:, [*COLUMNS, "line"]].fillna("")
    frame["file"] = name
    return frame


def _read_csv(path: Path, name: str, problems: list[Problem]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=False
        )
    except pd.errors.ParserError:
        return _read_ragged_csv(path, name, problems)
    return _numbered(frame)


def _read_ragged_csv(path: Path, name: str, problems: list[Problem]) -> pd.DataFrame:
    """The slow path for a file whose rows do not all match the header: name each bad row."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows, lines = [], []
        for cells in reader:
            if len(cells) > len(header):
                message = "this row has more cells than the header: check for a stray comma"
                problems.append(Problem(name, reader.line_num, message))
                continue
            rows.append(cells + [""] * (len(header) - len(cells)))
            lines.append(reader.line_num)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    blank = frame.apply(lambda column: column.str.strip()).eq("").all(axis=1).to_numpy()
    frame["line"] = lines
    return pd.DataFrame(frame[~blank])


def _read_xlsx(path: Path) -> pd.DataFrame:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c) if c is not None else "" for c in next(rows, ())]
        body = [[_cell_text(c) for c in row] for row in rows]
    finally:
        book.close()
    return _numbered(pd.DataFrame(body, columns=header, dtype=object))


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """Number rows by their line in the file (the header is line 1) and drop blank ones."""
    blank = frame.astype(str).apply(lambda column: column.str.strip()).eq("").all(axis=1)
    frame["line"] = np.arange(2, len(frame) + 2)
    return pd.DataFrame(frame[~blank.to_numpy()])


def _cell_text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class _Reporter:
    """Collects row problems, listing a few of each kind per file and counting the rest."""

    def __init__(self, frame: pd.DataFrame, problems: list[Problem]) -> None:
        self.frame = frame
        self.problems = problems
        self.bad = np.zeros(len(frame), dtype=bool)

    def report(self, mask: np.ndarray, message: str, detail: pd.Series | None = None) -> None:
        """Report the rows where `mask` holds; `detail` fills {} in the message per row."""
        mask = mask & ~self.bad
        self.bad |= mask
        if not mask.any():
            return
        rows = self.frame[mask]
        details = detail[mask] if detail is not None else None
        for file, group in rows.groupby("file", sort=False):
            self._report_file(str(file), group, details, message)

    def _report_file(
        self, file: str, group: pd.DataFrame, details: pd.Series | None, message: str
    ) -> None:
        listed = group.head(LISTED_PER_PROBLEM)
        for index, line in zip(listed.index, listed["line"], strict=True):
            text = message.format(details[index] if details is not None else "")
            self.problems.append(Problem(file, int(line), text))
        more = len(group) - len(listed)
        if more:
            last = int(group["line"].iloc[-1])
            self.problems.append(
                Problem(
                    file, last, f"and {more} more rows with the same problem (up to line {last})"
                )
            )


def _checked(
    raw: pd.DataFrame, measures: dict[str, Measure], today: date, problems: list[Problem]
) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    for column in COLUMNS:
        raw[column] = raw[column].astype(str).str.strip()
    reporter = _Reporter(raw, problems)
    known = raw["measure"].isin(list(measures)).to_numpy()
    reporter.report(
        raw["measure"].eq("").to_numpy(), "measure is empty: every row needs a measure id"
    )
    reporter.report(
        ~known,
        'measure "{}" is not in data/measures.csv: add it there or correct the id',
        raw["measure"],
    )
    period = _periods(raw, measures)
    reporter.report(
        period.isna().to_numpy(),
        'period_end "{}" is not a date: write YYYY-MM-DD (or YYYY-MM for a monthly measure)',
        raw["period_end"],
    )
    value, missing = _values(raw, measures, reporter)
    future = (period > pd.Timestamp(today)).to_numpy()
    reporter.report(
        future,
        "period_end {} is in the future (today is " + today.isoformat() + "): check the date",
        raw["period_end"],
    )
    _check_month_ends(raw, period, measures, reporter)
    frame = pd.DataFrame(
        {
            "measure": raw["measure"],
            "period_end": period,
            "value": value,
            "missing": missing,
            "note": raw["note"],
            "file": raw["file"],
            "line": raw["line"],
        }
    )
    frame = frame[~reporter.bad]
    return _without_duplicates(frame, problems)


def _periods(raw: pd.DataFrame, measures: dict[str, Measure]) -> pd.Series:
    text = raw["period_end"]
    full = pd.to_datetime(
        text.where(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}")), format="%Y-%m-%d", errors="coerce"
    )
    monthly = raw["measure"].map(lambda m: m in measures and measures[m].frequency == "monthly")
    short = text.str.fullmatch(r"\d{4}-\d{2}") & monthly.astype(bool)
    month = pd.to_datetime(
        text.where(short), format="%Y-%m", errors="coerce"
    ) + pd.offsets.MonthEnd(0)
    return full.fillna(month).astype("datetime64[ns]")


def _values(
    raw: pd.DataFrame, measures: dict[str, Measure], reporter: _Reporter
) -> tuple[pd.Series, pd.Series]:
    text = raw["value"]
    coded = text.isin(CODES)
    numbers = pd.to_numeric(text.where(~coded & text.ne("")), errors="coerce")
    unreadable = (text.ne("") & ~coded & numbers.isna()).to_numpy()
    reporter.report(
        unreadable,
        'value "{}" is not a number: write digits (84.5), leave it empty, or use c, : or z',
        text,
    )
    infinite = ~np.isfinite(numbers.fillna(0).to_numpy())
    reporter.report(infinite, 'value "{}" is not a finite number', text)
    percent = (
        raw["measure"].map(lambda m: m in measures and measures[m].unit == "percent").astype(bool)
    )
    outside = (percent & ((numbers < 0) | (numbers > 100))).to_numpy()
    reporter.report(outside, "value {} is a percentage outside 0-100: write 84.5 for 84.5%", text)
    missing = text.where(coded, None).astype(object)
    return numbers.astype("float64"), missing.where(coded, None)


def _check_month_ends(
    raw: pd.DataFrame, period: pd.Series, measures: dict[str, Measure], reporter: _Reporter
) -> None:
    frequency = raw["measure"].map(lambda m: measures[m].frequency if m in measures else "")
    month_end = period.dt.is_month_end.fillna(True).astype(bool)
    wrong = ((frequency == "monthly") & ~month_end).to_numpy()
    reporter.report(
        wrong,
        "period_end {} of a monthly measure must be the last day of the month (or write YYYY-MM)",
        raw["period_end"],
    )


def _without_duplicates(frame: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    dup = frame.duplicated(["measure", "period_end"], keep="first")
    if dup.any():
        first = frame[~dup].set_index(["measure", "period_end"])
        for _, row in frame[dup].head(LISTED_PER_PROBLEM * 5).iterrows():
            where = first.loc[(row["measure"], row["period_end"])]
            problems.append(
                Problem(
                    row["file"],
                    int(row["line"]),
                    f"{row['measure']} for {row['period_end'].date()} is already given in {where['file']} line {int(where['line'])}: keep one",
                )
            )
    return frame[~dup].drop(columns=["file", "line"]).reset_index(drop=True)
