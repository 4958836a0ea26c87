"""A small, valid site written to a folder, for tests to break or send from."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RECIPIENTS = """\
[[recipient]]
id = "chair"
name = "Cllr Chair"
email = "chair@example.gov.uk"
roles = ["chair", "member"]
themes = ["care"]

[[recipient]]
id = "lead"
name = "Cllr Lead"
email = "lead@example.gov.uk"
roles = ["lead-member", "member"]

[[recipient]]
id = "member-a"
name = "Cllr A"
email = "a@example.gov.uk"
roles = ["member"]

[[recipient]]
id = "perf"
name = "Performance Officer"
email = "perf@example.gov.uk"
roles = ["performance"]

[[recipient]]
id = "owner"
name = "Head of Service"
email = "owner@example.gov.uk"
roles = ["lead-officer"]
"""

SCHEDULES = """\
[site]
name = "Test Commission"
timezone = "Europe/London"
holidays = "england"
closures = ["2026-12-29"]
sender = "Performance <perf@example.gov.uk>"
reply_to = "perf@example.gov.uk"
alerts_to = ["role:performance"]
deep_dive_window = "7 days"

[delivery]
transport = "pickup"
pickup_dir = "outbox"

[[schedule]]
id = "daily"
digest = "key-indicators"
to = ["role:chair", "role:lead-member"]
cron = "30 7 * * mon-fri"
working_days_only = true
measures = ["daily"]
catch_up = "12 hours"

[[schedule]]
id = "tracker"
digest = "tracker"
to = ["role:member"]
after = "social-care"
offset = "0 days"
at = "09:00"

[[schedule]]
id = "invite"
digest = "deep-dive-invite"
to = ["role:member"]
after = "social-care"
at = "10:00"

[[schedule]]
id = "reminder"
digest = "deep-dive-reminder"
to = ["role:member"]
after = "social-care"
before_deadline = "2 working days"
at = "09:00"

[[schedule]]
id = "summary"
digest = "deep-dive-summary"
to = ["role:performance", "role:lead-officer"]
after = "social-care"
before_deadline = "0 working days"
at = "16:00"
"""

MEASURES = """\
id,title,scorecard,unit,polarity,frequency,target,target_max,tolerance,decimals,themes,owner,england,statistical_neighbours,description
in-care,Children in care,daily,count,lower,daily,,,,0,care,owner,,,Children looked after.
referrals,Open referrals,daily,count,info,daily,,,,0,,owner,,,Open referrals.
re-referrals,Re-referrals,social-care,percent,lower,monthly,20,,3,1,front-door,owner,22,21,Re-referrals within 12 months.
visits,Visits in time,social-care,percent,higher,monthly,95,,2,1,care,owner,,,Visits to children in care on time.
caseload,Average caseload,social-care,number,range,monthly,14,18,1,1,workforce,,16.3,,Cases per social worker.
"""


def _daily_rows(last: date, days: int) -> list[str]:
    rows = []
    for i in range(days):
        day = last - timedelta(days=days - 1 - i)
        rows.append(f"in-care,{day.isoformat()},{300 + (i % 5)},")
        rows.append(f"referrals,{day.isoformat()},{50 + (i % 7)},")
    return rows


def _monthly_rows(months: int, last_day: date) -> list[str]:
    """Month-end rows from November 2024, none for a month not yet over on `last_day`."""
    rows = []
    for i in range(months):
        year, month = 2024 + (i + 10) // 12, (i + 10) % 12 + 1  # from 2024-11
        end = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).isoformat()
        if end > last_day.isoformat():
            break
        rows.append(f"re-referrals,{end},{21 + (i % 3) * 0.5},")
        rows.append(f"visits,{end},{93 + (i % 4)},")
        rows.append(f"caseload,{end},{16 + (i % 2)},")
    return rows


def send_by_smtp(site: Path, port: int) -> Path:
    """Switch the site's delivery from the pickup folder to plain SMTP on 127.0.0.1:port."""
    path = site / "schedules.toml"
    path.write_text(path.read_text().replace(
        'transport = "pickup"\npickup_dir = "outbox"',
        f'transport = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"',
    ))  # fmt: skip
    return site


def write_site(root: Path, *, last_day: date = date(2026, 11, 25)) -> Path:
    """A valid site: 5 recipients, 5 schedules, 5 measures, 24 months and 60 days of data."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "recipients.toml").write_text(RECIPIENTS, encoding="utf-8")
    (root / "schedules.toml").write_text(SCHEDULES, encoding="utf-8")
    data = root / "data"
    (data / "observations").mkdir(parents=True, exist_ok=True)
    (data / "measures.csv").write_text(MEASURES, encoding="utf-8")
    header = "measure,period_end,value,note\n"
    (data / "observations" / "daily.csv").write_text(
        header + "\n".join(_daily_rows(last_day, 60)) + "\n", encoding="utf-8"
    )
    (data / "observations" / "monthly.csv").write_text(
        header + "\n".join(_monthly_rows(24, last_day)) + "\n", encoding="utf-8"
    )
    (data / "publications.csv").write_text(
        "scorecard,period_end,published_on,url\n"
        "social-care,2026-09-30,2026-10-14,https://example.gov.uk/sc/2026-09\n"
        "social-care,2026-10-31,2026-11-12,https://example.gov.uk/sc/2026-10\n",
        encoding="utf-8",
    )
    (data / "deep_dive_requests.csv").write_text(
        "scorecard,period_end,measure,requested_by,requested_on\n"
        "social-care,2026-10-31,visits,chair,2026-11-13\n",
        encoding="utf-8",
    )
    shutil.copytree(REPO / "templates", root / "templates", dirs_exist_ok=True)
    return root
