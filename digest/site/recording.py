"""Appends publications and deep-dive requests to the CSV files the performance team also edits.

The checks are pure (site, arguments and `today` in; a record or a refusal out).
The writes hold an exclusive lock, keep the file's bytes and line endings, add
exactly one line, and replace the file atomically, so that `digest run` reading
it never sees half a row.
"""

from __future__ import annotations

import csv
import fcntl
import io
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from digest.calendar import deep_dive_closes_at, deep_dive_deadline
from digest.calendar.words import format_clock, format_date, format_long_date
from digest.errors import ConfigError, DigestError, UsageError
from digest.files import write_atomically
from digest.model import DeepDiveRequest, Measure, Publication, Recipient, Site
from digest.site.catalogue import (
    MEASURES,
    PUBLICATION_COLUMNS,
    PUBLICATIONS,
    REQUEST_COLUMNS,
    REQUESTS,
)
from digest.site.config import RECIPIENTS
from digest.site.fields import suggestion
from digest.site.load import LoadedSite, load_site

LOCK_FILE = ".digest/csv.lock"
URL_SCHEMES = ("https://", "http://")
NEW_FILE_MODE = 0o644


@dataclass(frozen=True)
class RecordedRequest:
    """A deep-dive request and the publication window it belongs to."""

    request: DeepDiveRequest  # the row in the file (the earlier one when already recorded)
    publication: Publication
    recipient: Recipient
    measure: Measure
    deadline: date
    already_recorded: bool
    closes: time = time(16, 0)  # the deadline's time of day


# --- checks (pure) -------------------------------------------------------------


def check_publication(
    site: Site, scorecard: str, period_end: date, url: str, on: date, today: date
) -> Publication:
    """The publication to record, or a UsageError/DigestError saying why it cannot be."""
    scorecards = sorted({m.scorecard for m in site.measures})
    if scorecard not in scorecards:
        raise UsageError(
            f'no scorecard "{scorecard}" in {MEASURES}{suggestion(scorecard, scorecards)}: '
            f"the scorecards are {', '.join(scorecards)}"
        )
    if not _is_web_address(url):
        raise UsageError(
            f'"{url}" is not a web address: give the link members open, starting with https://',
            argument="url",
        )
    if period_end > today:
        raise UsageError(
            f"{period_end} is in the future (today is {today}): "
            "record a scorecard once its period has ended",
            argument="period_end",
        )
    if on < period_end:
        raise UsageError(
            f"the publication date {on} is before the end of the period it reports ({period_end}): "
            "check the publication date and the period end"
        )
    for existing in site.publications:
        if (existing.scorecard, existing.period_end) == (scorecard, period_end):
            raise DigestError(
                f"{scorecard} for the period ending {period_end} is already in {PUBLICATIONS}: "
                f"published on {existing.published_on} at {existing.url}; "
                "to correct it, edit that row"
            )
    return Publication(scorecard, period_end, on, url)


def _is_web_address(url: str) -> bool:
    # Whitespace or control characters would let one argument become several CSV lines.
    scheme = next((s for s in URL_SCHEMES if url.startswith(s)), None)
    clean = all(c.isprintable() and not c.isspace() for c in url)
    return scheme is not None and len(url) > len(scheme) and clean


def invited(site: Site, publication: Publication, recipient: Recipient) -> bool:
    """Whether a deep-dive invitation following the publication's scorecard goes to them."""
    return any(
        recipient in site.audience(s.to)
        for s in site.schedules
        if s.digest == "deep-dive-invite" and s.after == publication.scorecard
    )


def _check_invited(site: Site, publication: Publication, recipient: Recipient) -> None:
    # A request from someone the invitation did not go to would reach no summary
    # meant for it: only those invited may ask.
    if not invited(site, publication, recipient):
        raise DigestError(
            f'recipient "{recipient.id}" ({recipient.name}) is not invited to ask for deep dives '
            f"on {publication.scorecard}: no deep-dive-invite schedule following it goes to them"
        )


def check_request(
    site: Site, measure_id: str, by: str, on: date, now: datetime | None = None
) -> RecordedRequest:
    """The request to record (or the identical one already there), or why it cannot be."""
    measure = site.measure(measure_id)
    if measure is None:
        known = [m.id for m in site.measures]
        raise UsageError(f'no measure "{measure_id}" in {MEASURES}{suggestion(measure_id, known)}')
    recipient = site.recipient(by)
    if recipient is None:
        known = [r.id for r in site.recipients]
        raise UsageError(f'no recipient "{by}" in {RECIPIENTS}{suggestion(by, known)}')
    if not recipient.active:
        raise DigestError(
            f'recipient "{by}" ({recipient.name}) is inactive in {RECIPIENTS}: '
            "set active = true there before recording a request for them"
        )
    publication = publication_for_request(site, measure.scorecard, on)
    _check_invited(site, publication, recipient)
    deadline = deep_dive_deadline(publication, site.settings)
    # A request made now on deadline day counts only until the deadline's time of day.
    closed_today = (
        on == deadline
        and now is not None
        and now >= deep_dive_closes_at(publication, site.settings)
    )
    if on > deadline or closed_today:
        raise DigestError(
            f"deep-dive requests for {publication.scorecard} (period ending "
            f"{format_date(publication.period_end)}, published {format_date(publication.published_on)}) "
            f"closed on {format_long_date(deadline)}: the next publication of "
            f"{publication.scorecard} opens a new window "
            f"(requests close at {format_clock(site.settings.deep_dive_closes)} on the deadline day)"
        )
    request = DeepDiveRequest(publication.scorecard, publication.period_end, measure.id, by, on)
    earlier = next((r for r in site.requests if _same_request(r, request)), None)
    return RecordedRequest(
        earlier or request, publication, recipient, measure, deadline, earlier is not None,
        site.settings.deep_dive_closes,
    )  # fmt: skip


def publication_for_request(site: Site, scorecard: str, on: date) -> Publication:
    """The latest publication of a scorecard on or before `on`: the window a request falls in."""
    published = [p for p in site.publications if p.scorecard == scorecard]
    if not published:
        raise DigestError(
            f"no publication of {scorecard} in {PUBLICATIONS} yet: deep dives open when it is "
            f"published (digest publish {scorecard} ...)"
        )
    before = [p for p in published if p.published_on <= on]
    if not before:
        first = min(published, key=lambda p: p.published_on)
        raise DigestError(
            f"the request date {on} is before the first publication of {scorecard} "
            f"(published {first.published_on}): check the date of the request"
        )
    return max(before, key=lambda p: (p.published_on, p.period_end))


def _same_request(a: DeepDiveRequest, b: DeepDiveRequest) -> bool:
    return (a.scorecard, a.period_end, a.measure, a.requested_by) == (
        b.scorecard,
        b.period_end,
        b.measure,
        b.requested_by,
    )


# --- recording (locked read-check-write) -----------------------------------------


def record_publication(
    root: Path, scorecard: str, period_end: date, url: str, on: date, today: date
) -> tuple[Publication, LoadedSite]:
    """Append a publication to data/publications.csv; the site as reloaded afterwards."""
    with _locked_site(root, PUBLICATIONS, today) as (loaded, original):
        publication = check_publication(loaded.site, scorecard, period_end, url, on, today)
        cells = {
            "scorecard": publication.scorecard,
            "period_end": publication.period_end.isoformat(),
            "published_on": publication.published_on.isoformat(),
            "url": publication.url,
        }
        after = _append(root, PUBLICATIONS, PUBLICATION_COLUMNS, original, cells, loaded, today)
    return publication, after


def record_request(
    root: Path, measure_id: str, by: str, on: date, today: date, now: datetime | None = None
) -> RecordedRequest:
    """Append a deep-dive request to data/deep_dive_requests.csv, unless it is already there."""
    with _locked_site(root, REQUESTS, today) as (loaded, original):
        recorded = check_request(loaded.site, measure_id, by, on, now)
        if not recorded.already_recorded:
            request = recorded.request
            cells = {
                "scorecard": request.scorecard,
                "period_end": request.period_end.isoformat(),
                "measure": request.measure,
                "requested_by": request.requested_by,
                "requested_on": request.requested_on.isoformat(),
            }
            _append(root, REQUESTS, REQUEST_COLUMNS, original, cells, loaded, today)
    return recorded


@contextmanager
def csv_lock(root: Path) -> Iterator[None]:
    """Hold the site's CSV lock: one `digest publish`/`request` writes at a time."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _locked_site(root: Path, name: str, today: date) -> Iterator[tuple[LoadedSite, bytes | None]]:
    """Under the lock: the file's bytes and the site read after them, the file checked clean."""
    with csv_lock(root):
        original = _read(root / name)
        loaded = load_site(root, today, with_observations=False)
        problems = [p for p in loaded.problems if p.file == name]
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DigestError(
                f"{problems[0]}{more}: fix {name} first (digest check lists every problem); "
                "nothing was recorded"
            )
        yield loaded, original


def _append(
    root: Path,
    name: str,
    columns: Sequence[str],
    original: bytes | None,
    cells: dict[str, str],
    before: LoadedSite,
    today: date,
) -> LoadedSite:
    """Write the file with one more row, then reload the site; undo if that made it worse."""
    path = root / name
    _replace_if_unchanged(path, name, original, with_row(original, columns, cells))
    try:
        after = load_site(root, today, with_observations=False)
    except ConfigError as exc:
        _restore(path, original)
        raise DigestError(
            f"{name}: the new row would leave the site unusable ({exc.problems[0]}); nothing was recorded"
        ) from None
    added = [p for p in after.problems if p not in before.problems]
    if added:
        _restore(path, original)
        raise DigestError(f"{added[0]}: the new row would add this problem; nothing was recorded")
    return after


def with_row(original: bytes | None, columns: Sequence[str], cells: dict[str, str]) -> bytes:
    """The file's bytes with one CSV line added, in its own column order and line endings."""
    if original is None:
        return (_csv_line(columns, "\n") + _csv_line([cells[c] for c in columns], "\n")).encode()
    text = original.decode("utf-8-sig")
    eol = "\r\n" if "\r\n" in text else "\n"
    header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
    prefix = original if not original or original.endswith(b"\n") else original + eol.encode()
    return prefix + _csv_line([cells[c] for c in header], eol).encode("utf-8")


def _csv_line(values: Sequence[str], eol: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=eol).writerow(values)
    return buffer.getvalue()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _replace_if_unchanged(path: Path, name: str, original: bytes | None, content: bytes) -> None:
    # A hand edit saved since we read the file would be lost by the replace: refuse instead.
    if _read(path) != original:
        raise DigestError(
            f"{name} changed while the row was being added "
            "(saved by hand?): nothing was recorded; run the command again"
        )
    _write_atomically(path, content)


def _write_atomically(path: Path, content: bytes) -> None:
    """Keep the file's permissions across the rename (the team's editors may rely on them)."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
    write_atomically(path, content, mode=mode)


def _restore(path: Path, original: bytes | None) -> None:
    if original is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomically(path, original)
