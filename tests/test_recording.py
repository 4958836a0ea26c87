"""`digest publish` and `digest request`: one line added safely, or a clear refusal."""

from __future__ import annotations

import fcntl
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from digest.model import Publication, Site
from digest.site import recording
from tests.sites import write_site

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)  # after every date the tests record
PUBLICATIONS = Path("data/publications.csv")
REQUESTS = Path("data/deep_dive_requests.csv")
NOVEMBER_ROW = "social-care,2026-11-30,2026-12-10,https://example.gov.uk/sc/2026-11\n"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test site, with the CLI's clock fixed at NOW."""
    return write_site(tmp_path / "site")


def run(site: Path, *args: str) -> int:
    return main(["--site", str(site), *args])


def publish_november(site: Path) -> int:
    return run(
        site,
        "publish",
        "social-care",
        "--period-end",
        "2026-11-30",
        "--url",
        "https://example.gov.uk/sc/2026-11",
        "--on",
        "2026-12-10",
    )


def leftovers(site: Path) -> list[str]:
    """Temporary files a write left behind in data/."""
    return [p.name for p in (site / "data").iterdir() if p.name.startswith(".")]


# --- publish ----------------------------------------------------------------------


def test_publish_appends_one_line_and_keeps_the_original_bytes(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (site / PUBLICATIONS).read_bytes()

    assert publish_november(site) == 0

    assert (site / PUBLICATIONS).read_bytes() == before + NOVEMBER_ROW.encode()
    assert leftovers(site) == []
    out = capsys.readouterr().out
    assert (
        "Recorded in data/publications.csv: social-care for the period ending 30 November 2026"
        in out
    )
    assert "tracker: Thursday 10 December 2026 09:00 GMT to 3 recipients" in out
    assert "summary: Thursday 17 December 2026 16:00 GMT to 2 recipients" in out
    assert "Deep-dive requests close on Thursday 17 December 2026." in out


def test_publish_keeps_crlf_line_endings_and_ends_the_last_line_first(site: Path) -> None:
    path = site / PUBLICATIONS
    original = (
        b"\xef\xbb\xbfscorecard,period_end,published_on,url\r\n"
        b"social-care,2026-10-31,2026-11-12,https://example.gov.uk/sc/2026-10"
    )
    path.write_bytes(original)

    assert publish_november(site) == 0

    added = NOVEMBER_ROW.replace("\n", "\r\n").encode()
    assert path.read_bytes() == original + b"\r\n" + added


def test_publish_writes_in_the_files_own_column_order_and_quotes_fields(site: Path) -> None:
    path = site / PUBLICATIONS
    path.write_text("url,scorecard,published_on,period_end\n", encoding="utf-8")
    url = 'https://example.gov.uk/sc?month=11,year=2026&"x"'

    code = run(
        site,
        "publish",
        "social-care",
        "--period-end",
        "2026-11-30",
        "--url",
        url,
        "--on",
        "2026-12-10",
    )

    assert code == 0
    assert path.read_text(encoding="utf-8") == (
        "url,scorecard,published_on,period_end\n"
        '"https://example.gov.uk/sc?month=11,year=2026&""x""",social-care,2026-12-10,2026-11-30\n'
    )


def test_publish_without_on_records_today_in_the_site_timezone(site: Path) -> None:
    code = run(
        site,
        "publish",
        "social-care",
        "--period-end",
        "2026-12-31",
        "--url",
        "https://x.example/dec",
    )

    assert code == 0
    last = (site / PUBLICATIONS).read_text(encoding="utf-8").splitlines()[-1]
    assert last == "social-care,2026-12-31,2027-01-15,https://x.example/dec"


PUBLISH_REFUSALS = [
    (
        ["social-car", "--period-end", "2026-11-30", "--url", "https://x.example/a"],
        2,
        'no scorecard "social-car" in data/measures.csv (did you mean "social-care"?)',
    ),
    (
        ["social-care", "--period-end", "2026-11-30", "--url", "ftp://x.example/a"],
        2,
        '--url "ftp://x.example/a" is not a web address',
    ),
    (
        ["social-care", "--period-end", "2026-11-30", "--url", "https://x.example/a b"],
        2,
        "is not a web address",
    ),
    (
        [
            "social-care",
            "--period-end",
            "2026-11-30",
            "--url",
            "https://x.example/a",
            "--on",
            "2026-11-29",
        ],
        2,
        "the publication date 2026-11-29 is before the end of the period it reports (2026-11-30)",
    ),
    (
        [
            "social-care",
            "--period-end",
            "2027-01-31",
            "--url",
            "https://x.example/a",
            "--on",
            "2027-02-10",
        ],
        2,
        "--period-end 2027-01-31 is in the future (today is 2027-01-15)",
    ),
    (
        [
            "social-care",
            "--period-end",
            "2026-10-31",
            "--url",
            "https://x.example/a",
            "--on",
            "2026-11-20",
        ],
        1,
        "social-care for the period ending 2026-10-31 is already in data/publications.csv: "
        "published on 2026-11-12",
    ),
]


@pytest.mark.parametrize(("arguments", "code", "message"), PUBLISH_REFUSALS)
def test_publish_refuses_with_one_clear_line_and_writes_nothing(
    site: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], code: int, message: str
) -> None:
    before = (site / PUBLICATIONS).read_bytes()

    assert run(site, "publish", *arguments) == code

    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("digest publish: ") and err.count("\n") == 1
    assert (site / PUBLICATIONS).read_bytes() == before


def test_publish_refuses_to_write_into_a_file_with_problems(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site / PUBLICATIONS
    path.write_bytes(path.read_bytes() + b"social-care,2026-13-01,2026-12-10,https://x.example/b\n")
    before = path.read_bytes()

    assert publish_november(site) == 1

    err = capsys.readouterr().err
    assert 'data/publications.csv:4: period_end "2026-13-01" is not a date' in err
    assert "fix data/publications.csv first" in err
    assert path.read_bytes() == before


def test_a_row_that_would_add_a_problem_is_taken_back(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unchecked(
        site_: Site, scorecard: str, period_end: date, url: str, on: date, today: date
    ) -> Publication:
        return Publication(scorecard, period_end, on, "ftp://unchecked.example")

    monkeypatch.setattr(recording, "check_publication", unchecked)
    before = (site / PUBLICATIONS).read_bytes()

    assert publish_november(site) == 1

    err = capsys.readouterr().err
    assert "data/publications.csv:4:" in err and "nothing was recorded" in err
    assert (site / PUBLICATIONS).read_bytes() == before
    assert leftovers(site) == []


def test_a_hand_edit_saved_during_the_check_is_not_overwritten(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = site / PUBLICATIONS
    edited = path.read_bytes() + b"early-help,2026-10-31,2026-11-13,https://x.example/eh\n"
    real_check = recording.check_publication

    def check_while_someone_saves(*args: object) -> Publication:
        path.write_bytes(edited)
        return real_check(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(recording, "check_publication", check_while_someone_saves)

    assert publish_november(site) == 1

    assert "data/publications.csv changed while the row was being added" in capsys.readouterr().err
    assert path.read_bytes() == edited


def test_the_csv_lock_is_exclusive_while_held(site: Path) -> None:
    with (
        recording.csv_lock(site),
        (site / ".digest" / "csv.lock").open("a") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with (site / ".digest" / "csv.lock").open("a") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # released afterwards


# --- request ------------------------------------------------------------------------


def test_request_appends_one_line_for_the_latest_publication(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (site / REQUESTS).read_bytes()

    assert run(site, "request", "re-referrals", "--by", "member-a", "--on", "2026-11-16") == 0

    row = b"social-care,2026-10-31,re-referrals,member-a,2026-11-16\n"
    assert (site / REQUESTS).read_bytes() == before + row
    out = capsys.readouterr().out
    assert 'Cllr A (member-a) asks for a deep dive on "Re-referrals" (re-referrals)' in out
    assert "close on Thursday 19 November 2026" in out


def test_request_creates_the_file_with_its_header_when_missing(site: Path) -> None:
    (site / REQUESTS).unlink()

    assert run(site, "request", "visits", "--by", "lead", "--on", "2026-10-15") == 0

    assert (site / REQUESTS).read_text(encoding="utf-8") == (
        "scorecard,period_end,measure,requested_by,requested_on\n"
        "social-care,2026-09-30,visits,lead,2026-10-15\n"
    )


def test_a_repeated_request_records_nothing_and_succeeds(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (site / REQUESTS).read_bytes()

    assert run(site, "request", "visits", "--by", "chair", "--on", "2026-11-16") == 0

    assert (site / REQUESTS).read_bytes() == before
    out = capsys.readouterr().out
    assert "Already recorded in data/deep_dive_requests.csv (requested on 13 November 2026)" in out
    assert "nothing was added" in out


def make_inactive(site: Path) -> None:
    path = site / "recipients.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('roles = ["member"]', 'roles = ["member"]\nactive = false'), encoding="utf-8"
    )


REQUEST_REFUSALS = [
    (
        ["visit", "--by", "lead"],
        2,
        'no measure "visit" in data/measures.csv (did you mean "visits"?)',
    ),
    (
        ["visits", "--by", "membera"],
        2,
        'no recipient "membera" in recipients.toml (did you mean "member-a"?)',
    ),
    (
        ["visits", "--by", "member-a"],
        1,
        'recipient "member-a" (Cllr A) is inactive in recipients.toml',
    ),
    (["in-care", "--by", "lead"], 1, "no publication of daily in data/publications.csv yet"),
    (
        ["visits", "--by", "owner"],
        1,
        'recipient "owner" (Head of Service) is not invited to ask for deep dives on social-care',
    ),
    (
        ["visits", "--by", "lead", "--on", "2026-11-20"],
        1,
        "deep-dive requests for social-care (period ending 31 October 2026, published 12 November 2026) "
        "closed on Thursday 19 November 2026: the next publication of social-care opens a new window",
    ),
    (
        ["visits", "--by", "lead", "--on", "2026-10-13"],
        1,
        "the request date 2026-10-13 is before the first publication of social-care (published 2026-10-14)",
    ),
]


@pytest.mark.parametrize(("arguments", "code", "message"), REQUEST_REFUSALS)
def test_request_refuses_with_one_clear_line_and_writes_nothing(
    site: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], code: int, message: str
) -> None:
    make_inactive(site)
    before = (site / REQUESTS).read_bytes()
    if "--on" not in arguments:
        arguments = [*arguments, "--on", "2026-11-16"]

    assert run(site, "request", *arguments) == code

    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("digest request: ") and err.count("\n") == 1
    assert (site / REQUESTS).read_bytes() == before


def test_request_refuses_to_write_into_a_file_with_problems(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site / REQUESTS
    path.write_text(
        "scorecard,period_end,measure,requested_by\nsocial-care,2026-10-31,visits,chair\n",
        encoding="utf-8",
    )
    before = path.read_bytes()

    assert run(site, "request", "visits", "--by", "lead", "--on", "2026-11-16") == 1

    assert 'data/deep_dive_requests.csv:1: missing column "requested_on"' in capsys.readouterr().err
    assert path.read_bytes() == before


def add_publication(site: Path, row: str) -> None:
    path = site / PUBLICATIONS
    path.write_bytes(path.read_bytes() + row.encode() + b"\n")


def requested(site: Path, *dates: str) -> list[int]:
    return [run(site, "request", "visits", "--by", "lead", "--on", day) for day in dates]


def test_a_deadline_on_a_weekend_moves_to_monday_and_the_saturday_is_still_open(site: Path) -> None:
    # An "8 days" window from Friday 4 December lands on Saturday 12 December.
    schedules = site / "schedules.toml"
    text = schedules.read_text(encoding="utf-8")
    schedules.write_text(
        text.replace('deep_dive_window = "7 days"', 'deep_dive_window = "8 days"'), encoding="utf-8"
    )
    add_publication(site, "social-care,2026-11-30,2026-12-04,https://x.example/nov")

    assert requested(site, "2026-12-12") == [0]
    assert requested(site, "2026-12-14", "2026-12-15") == [0, 1]  # Monday repeats; Tuesday is late


def test_a_deadline_on_christmas_day_moves_past_the_holidays_and_closures(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Friday 18 December + 7 days is Christmas Day; Monday 28 is the Boxing Day
    # substitute and Tuesday 29 a closure of the test site: Wednesday 30 is the deadline.
    add_publication(site, "social-care,2026-11-30,2026-12-18,https://x.example/nov")

    assert requested(site, "2026-12-26", "2026-12-30", "2026-12-31") == [0, 0, 1]

    assert "closed on Wednesday 30 December 2026" in capsys.readouterr().err
    rows = (site / REQUESTS).read_text(encoding="utf-8").splitlines()
    assert rows[-1] == "social-care,2026-11-30,visits,lead,2026-12-26"


def main(argv: list[str], now: datetime = NOW) -> int:
    """The CLI with its clock fixed at NOW."""
    return cli_main(argv, clock=lambda: now)


def test_a_request_on_deadline_day_after_the_deadline_time_is_refused(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    after = datetime(2026, 11, 19, 16, 30, tzinfo=UTC)  # deadline day, after 16:00 GMT
    before = datetime(2026, 11, 19, 15, 30, tzinfo=UTC)
    request = ["--site", str(site), "request", "re-referrals", "--by", "member-a"]
    assert main(request, now=after) == 1
    assert "closed on Thursday 19 November 2026" in capsys.readouterr().err
    assert main(request, now=before) == 0
    assert "close on Thursday 19 November 2026 at 16:00" in capsys.readouterr().out
