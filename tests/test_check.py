"""`digest check`: every broken file is named with its line, all at once, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from digest.cli import main
from tests.sites import REPO, write_site

MONTHLY_ROWS = 72  # tests/sites.py writes 24 months x 3 measures
APPENDED = MONTHLY_ROWS + 2  # the line of a row appended to monthly.csv

# (file, text to find, replacement, expected line, fragment of the message)
BREAKAGES = [
    (
        "recipients.toml",
        'email = "a@example.gov.uk"',
        'email = "a@example"',
        17,
        "not a valid email",
    ),
    ("recipients.toml", 'id = "lead"', 'id = "chair"', 9, "already used on line 2"),
    ("recipients.toml", 'id = "member-a"', 'id = "Member A"', 15, "a-z, 0-9"),
    ("recipients.toml", 'roles = ["member"]', "roles = []", 18, "at least one role"),
    (
        "recipients.toml",
        'name = "Cllr A"',
        'name = "Cllr A"\nemial = "x"',
        17,
        'unknown key "emial"',
    ),
    ("recipients.toml", 'name = "Cllr A"\n', "", 14, 'missing required key "name"'),
    ("recipients.toml", 'name = "Cllr A"', 'name = "Cllr A', 16, "not valid TOML"),
    ("recipients.toml", 'roles = ["member"]', 'roles = "member"', 18, "must be a list"),
    ("recipients.toml", 'themes = ["care"]', 'themes = ["cares"]', 6, 'theme "cares"'),
    (
        "recipients.toml",
        'roles = ["member"]',
        'roles = ["member"]\nactive = "no"',
        19,
        "active must be true or false",
    ),
    ("schedules.toml", '"Europe/London"', '"Europe/Londres"', 3, "IANA time zone"),
    ("schedules.toml", 'holidays = "england"', 'holidays = "englund"', 4, 'did you mean "england"'),
    ("schedules.toml", '"2026-12-29"', '"2026-13-29"', 5, "is not a date"),
    (
        "schedules.toml",
        'sender = "Performance <perf@example.gov.uk>"',
        'sender = "Performance"',
        6,
        "sender",
    ),
    ("schedules.toml", '"30 7 * * mon-fri"', '"30 25 * * mon-fri"', 19, "cron"),
    (
        "schedules.toml",
        '"role:chair", "role:lead-member"',
        '"role:chiar", "role:lead-member"',
        18,
        '"role:chiar" is not a role',
    ),
    (
        "schedules.toml",
        'to = ["role:member"]',
        'to = ["role:member", "nobody"]',
        27,
        '"nobody" is not a recipient id',
    ),
    (
        "schedules.toml",
        'measures = ["daily"]',
        'measures = ["dialy"]',
        21,
        '"dialy" is not a measure id, theme or scorecard',
    ),
    (
        "schedules.toml",
        'after = "social-care"',
        'after = "social-cares"',
        28,
        'after "social-cares" is not a scorecard',
    ),
    (
        "schedules.toml",
        'offset = "0 days"',
        'offset = "0 days"\ncron = "0 9 * * *"',
        28,
        'either "cron" or "after"',
    ),
    ("schedules.toml", 'id = "tracker"', 'id = "daily"', 25, "already used on line 16"),
    (
        "schedules.toml",
        'digest = "tracker"',
        'digest = "trackers"',
        26,
        'digest "trackers" is not one of',
    ),
    (
        "schedules.toml",
        'catch_up = "12 hours"',
        'catch_up = "twelve hours"',
        22,
        "not a length of time",
    ),
    ("schedules.toml", 'at = "09:00"', 'at = "9am"', 30, "24-hour time"),
    (
        "schedules.toml",
        'transport = "pickup"',
        'transport = "smtp"\nhost = "smtp.example.gov.uk"\nsecurity = "none"',
        14,
        "loopback",
    ),
    (
        "schedules.toml",
        'pickup_dir = "outbox"',
        'pickup_dir = "outbox"\npassword = "x"',
        14,
        "DIGEST_SMTP_PASSWORD",
    ),
    (
        "schedules.toml",
        "deep_dive_window",
        "deep_dive_windows",
        9,
        'unknown key "deep_dive_windows"',
    ),
    ("schedules.toml", "[site]\n", "", 1, "missing the [site] table"),
    ("data/measures.csv", "count,lower,daily", "counts,lower,daily", 2, 'unit "counts"'),
    (
        "data/measures.csv",
        "referrals,Open referrals",
        "in-care,Open referrals",
        3,
        "already used on line 2",
    ),
    (
        "data/measures.csv",
        "range,monthly,14,18",
        "range,monthly,14,",
        6,
        "needs both target and target_max",
    ),
    (
        "data/measures.csv",
        "percent,lower,monthly,20",
        "percent,lower,monthly,twenty",
        4,
        'target "twenty" is not a number',
    ),
    (
        "data/measures.csv",
        ",0,care,owner,",
        ",0,care,nobody,",
        2,
        'owner "nobody" is not a recipient id',
    ),
    ("data/measures.csv", "description\n", "descripton\n", 1, 'unknown column "descripton"'),
    (
        "data/measures.csv",
        "daily,count,info,daily",
        "daily,count,info,fortnightly",
        3,
        'frequency "fortnightly"',
    ),
    (
        "data/observations/monthly.csv",
        "measure,period_end",
        "measure,period",
        1,
        'missing column "period_end"',
    ),
    (
        "data/publications.csv",
        "social-care,2026-09-30,2026-10-14",
        "social-cars,2026-09-30,2026-10-14",
        2,
        'scorecard "social-cars"',
    ),
    (
        "data/publications.csv",
        "social-care,2026-09-30,2026-10-14",
        "social-care,2026-09-30,2026-09-14",
        2,
        "is before the period",
    ),
    (
        "data/publications.csv",
        "https://example.gov.uk/sc/2026-09",
        "example.gov.uk/sc/2026-09",
        2,
        "must start with https://",
    ),
    (
        "data/publications.csv",
        "social-care,2026-10-31,2026-11-12",
        "social-care,2026-09-30,2026-11-12",
        3,
        "already published on line 2",
    ),
    (
        "data/deep_dive_requests.csv",
        ",chair,2026-11-13",
        ",nobody,2026-11-13",
        2,
        'requested_by "nobody"',
    ),
    ("data/deep_dive_requests.csv", ",visits,chair", ",visitz,chair", 2, 'measure "visitz"'),
    (
        "data/deep_dive_requests.csv",
        "2026-10-31,visits",
        "2026-08-31,visits",
        2,
        "no publication of social-care for 2026-08-31",
    ),
]

# Rows appended to data/observations/monthly.csv, and what check must say of them.
BAD_ROWS = [
    ("re-referrals,2024-01-31,abc,", 'value "abc" is not a number'),
    ("unknown,2025-01-31,5,", 'measure "unknown" is not in data/measures.csv'),
    ("re-referrals,2099-01-31,20,", "is in the future"),
    ("visits,2026-02-30,90,", 'period_end "2026-02-30" is not a date'),
    ("visits,2024-09-30,120,", "percentage outside 0-100"),
    ("visits,2024-09-15,90,", "must be the last day of the month"),
    ("visits,2024-09-30,90,note,extra", "more cells than the header"),
]


def run_check(site: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["--site", str(site), "check"])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out.splitlines()


def assert_reported(lines: list[str], file: str, line: int, fragment: str) -> None:
    prefix = f"{file}:{line}: "
    hits = [entry for entry in lines if entry.startswith(prefix)]
    assert any(fragment in entry for entry in hits), f"expected {prefix}...{fragment!r} in {lines}"


def test_the_demo_site_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run_check(REPO, capsys)
    assert (code, lines) == (0, [])


def test_the_test_site_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run_check(write_site(tmp_path), capsys)
    assert (code, lines) == (0, [])


@pytest.mark.parametrize(
    ("file", "find", "replace", "line", "fragment"),
    BREAKAGES,
    ids=[f"{b[0]}:{b[4][:30]}" for b in BREAKAGES],
)
def test_it_names_file_and_line_of_each_broken_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    find: str,
    replace: str,
    line: int,
    fragment: str,
) -> None:
    site = write_site(tmp_path)
    path = site / file
    text = path.read_text(encoding="utf-8")
    assert find in text, f"the test site no longer contains {find!r}"
    path.write_text(text.replace(find, replace, 1), encoding="utf-8")
    code, lines = run_check(site, capsys)
    assert code == 1
    assert_reported(lines, file, line, fragment)


@pytest.mark.parametrize(("row", "fragment"), BAD_ROWS, ids=[r[1][:30] for r in BAD_ROWS])
def test_it_names_the_line_of_a_bad_observation_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, fragment: str
) -> None:
    site = write_site(tmp_path)
    with (site / "data/observations/monthly.csv").open("a", encoding="utf-8") as handle:
        handle.write(row + "\n")
    code, lines = run_check(site, capsys)
    assert code == 1
    assert_reported(lines, "data/observations/monthly.csv", APPENDED, fragment)


def test_it_names_both_places_of_a_pair_given_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    (site / "data/observations/zz-extra.csv").write_text(
        "measure,period_end,value\nvisits,2026-10-31,90\n", encoding="utf-8"
    )
    code, lines = run_check(site, capsys)
    assert code == 1
    assert_reported(
        lines,
        "data/observations/zz-extra.csv",
        2,
        "already given in data/observations/monthly.csv line 72",
    )


def test_it_reads_xlsx_rows_with_their_sheet_row_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (
        ["measure", "period_end", "value"],
        ["visits", "2023-10-31", 91.5],
        ["visits", "2023-09-30", "n/a"],
    ):
        sheet.append(row)
    book.save(site / "data/observations/extra.xlsx")
    code, lines = run_check(site, capsys)
    assert code == 1
    assert_reported(lines, "data/observations/extra.xlsx", 3, 'value "n/a" is not a number')
    assert not any(":2: " in entry and "extra.xlsx" in entry for entry in lines)


def test_it_names_the_line_of_a_template_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    (site / "templates/email/broken.html").write_text("<p>\n{% if %}\n</p>\n", encoding="utf-8")
    code, lines = run_check(site, capsys)
    assert code == 1
    assert_reported(lines, "templates/email/broken.html", 2, "template syntax")


def test_it_reports_every_problem_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    for file, find, replace, _, _ in (BREAKAGES[0], BREAKAGES[10], BREAKAGES[28], BREAKAGES[36]):
        path = site / file
        path.write_text(
            path.read_text(encoding="utf-8").replace(find, replace, 1), encoding="utf-8"
        )
    code, lines = run_check(site, capsys)
    assert code == 1
    files = {entry.split(":", 1)[0] for entry in lines}
    assert {
        "recipients.toml",
        "schedules.toml",
        "data/measures.csv",
        "data/publications.csv",
    } <= files


def test_it_lists_a_few_rows_of_a_repeated_problem_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    rows = "".join(f"visits,{year}-01-31,bad,\n" for year in range(1900, 1950))
    with (site / "data/observations/monthly.csv").open("a", encoding="utf-8") as handle:
        handle.write(rows)
    code, lines = run_check(site, capsys)
    assert code == 1
    assert sum('value "bad"' in entry for entry in lines) == 10
    assert any("and 40 more rows with the same problem" in entry for entry in lines)


def test_it_survives_a_binary_file_where_a_csv_should_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    (site / "data/observations/garbage.csv").write_bytes(b"\xff\xfe\x00\x01\x02binary")
    (site / "recipients.toml").write_bytes(b"\xff\xfe\x00")
    code, lines = run_check(site, capsys)
    assert code == 1
    assert_reported(lines, "data/observations/garbage.csv", 1, "cannot be read")
    assert_reported(lines, "recipients.toml", 1, "not UTF-8")


def test_a_missing_site_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run_check(tmp_path / "nowhere", capsys)
    assert code == 1
    assert_reported(lines, "recipients.toml", 1, "file not found")


def test_it_names_the_line_of_a_misspelt_template_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    path = site / "templates/email/tracker/body.html"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if "content.flagged" in line)
    path.write_text(
        "".join(lines).replace("content.flagged", "content.flaged", 1), encoding="utf-8"
    )
    code, found = run_check(site, capsys)
    assert code == 1
    assert_reported(found, "templates/email/tracker/body.html", number, "has no attribute 'flaged'")


def test_it_names_a_missing_template_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    (site / "templates/email/alert/body.txt").unlink()
    code, found = run_check(site, capsys)
    assert code == 1
    assert found == ["templates/email/alert/body.txt:1: missing: digest alert needs it"]


def test_a_bad_measure_row_is_reported_once_not_once_per_row_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    path = site / "data" / "measures.csv"
    path.write_text(path.read_text().replace("percent,higher,monthly", "percent,highr,monthly"))
    code, lines = run_check(site, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("data/measures.csv:5: ")


def test_a_bad_recipient_is_reported_once_not_again_by_what_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path)
    path = site / "recipients.toml"
    path.write_text(path.read_text().replace("chair@example.gov.uk", "chair@example"))
    code, lines = run_check(site, capsys)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("recipients.toml:"), lines


def test_the_trial_render_draws_no_chart_and_inlines_no_css(tmp_path: Path) -> None:
    # check (and run, taking up an edit) only tries the templates: it must not load
    # matplotlib or premailer, which an idle daemon would otherwise carry for ever.
    import subprocess
    import sys

    site = write_site(tmp_path / "site")
    code = (
        "import sys\nfrom digest.cli import main\n"
        f"assert main(['--site', {str(site)!r}, 'check']) == 0\n"
        "print(sorted(m for m in ('matplotlib', 'premailer') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
