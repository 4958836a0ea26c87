"""Write the demo site: Kestrel Vale Borough Council's children's services figures.

Deterministic (seeded per measure), so the demo data only changes when this script does.
Run from the repository root: python scripts/make_demo_site.py
"""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Iterator
from dataclasses import astuple, dataclass, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import holidays
import numpy as np
from openpyxl import Workbook
from openpyxl.xml.functions import tostring

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "kestrelvale.example.gov.uk"
SEED = 2026
CHILD_POPULATION = 52_100  # residents aged 0-17: the denominator of the per-10,000 rates
HISTORY_START = date(2023, 11, 1)  # daily stocks are simulated from here to feed monthly rates
DAILY_START = date(2024, 10, 1)
LAST_DAY = date(2026, 11, 25)  # "today" is 2026-11-26; daily figures arrive for the day before
FIXED_STAMP = datetime(2026, 11, 26, 6, 0)  # workbook metadata, so reruns match
SC, EH, DAILY = "social-care", "early-help", "daily"
HEAD_SC, HEAD_CIC, HEAD_EH = "janet-okafor", "claire-whitfield", "raj-mistry"


@dataclass(frozen=True)
class Row:
    """One line of data/measures.csv."""

    id: str
    title: str
    scorecard: str
    unit: str
    polarity: str
    frequency: str
    target: float | None = None
    target_max: float | None = None
    tolerance: float | None = None
    decimals: int = 1
    themes: str = ""
    owner: str = ""
    england: float | None = None
    statistical_neighbours: float | None = None
    description: str = ""


def monthly(
    id_: str, title: str, card: str, unit: str, polarity: str, target: float | None,
    tolerance: float | None, themes: str, owner: str, england: float | None,
    neighbours: float | None, description: str, decimals: int = 1,
) -> Row:  # fmt: skip
    return Row(id_, title, card, unit, polarity, "monthly", target, None, tolerance, decimals,
               themes, owner, england, neighbours, description)  # fmt: skip


# Daily rows by keyword. Monthly rows: id, title, scorecard, unit, polarity, target,
# tolerance, themes, owner, England, statistical neighbours, description (decimals 1).
MEASURES: tuple[Row, ...] = (
    Row("cla-count", "Children in care", DAILY, "count", "lower", "daily", decimals=0,
        themes="children-in-care", owner=HEAD_CIC,
        description="Children looked after by the council at the end of the day."),
    Row("cp-plans", "Children on child protection plans", DAILY, "count", "info", "daily",
        decimals=0, themes="child-protection", owner=HEAD_SC,
        description="Children subject to a child protection plan at the end of the day."),
    Row("open-referrals", "Open referrals", DAILY, "count", "lower", "daily", target=300,
        tolerance=40, decimals=0, themes="front-door", owner=HEAD_SC,
        description="Referrals awaiting a decision or an assessment at the end of the day."),
    Row("contacts", "Contacts yesterday", DAILY, "count", "info", "daily", decimals=0,
        themes="front-door", owner=HEAD_SC,
        description="Contacts received by the Front Door on the day, including out of hours."),
    Row("caseload", "Average social worker caseload", DAILY, "number", "range", "daily",
        target=14, target_max=18, tolerance=2, themes="workforce", owner=HEAD_SC, england=16.3,
        description="Cases per case-holding social worker (FTE); England averaged 16.3 in 2020."),
    monthly("re-referrals", "Re-referrals within 12 months", SC, "percent", "lower", 20, 3,
            "front-door", HEAD_SC, 22.0, 21.1,
            "Referrals in the month for a child already referred in the past year."),
    monthly("assessments-45-days", "Assessments completed within 45 working days", SC,
            "percent", "higher", 85, 5, "front-door", HEAD_SC, 83.0, 85.2,
            "Social work assessments completed in the month within 45 working days."),
    monthly("icpc-15-days", "Initial child protection conferences within 15 working days", SC,
            "percent", "higher", 85, 10, "child-protection", HEAD_SC, 78.1, 80.4,
            "Conferences held within 15 working days of the strategy discussion."),
    monthly("cp-second-time", "Child protection plans for a second or subsequent time", SC,
            "percent", "lower", 23, 3, "child-protection", HEAD_SC, 23.8, 22.9,
            "New plans in the month for children who have had a plan before."),
    monthly("cp-rate", "Child protection plan rate per 10,000", SC, "rate", "info", None, None,
            "child-protection", HEAD_SC, 41.6, 44.0,
            "Children on a child protection plan per 10,000 children at month end."),
    monthly("cla-rate", "Children in care rate per 10,000", SC, "rate", "lower", 70, 5,
            "children-in-care", HEAD_CIC, 67.0, 74.0,
            "Children in care per 10,000 children at month end (England: 67 in 2020)."),
    monthly("cla-visits", "Visits to children in care within timescale", SC, "percent",
            "higher", 95, 5, "children-in-care", HEAD_CIC, None, None,
            "Statutory visits to children in care carried out on time in the month."),
    monthly("placement-moves", "Children in care with 3 or more placements in the year", SC,
            "percent", "lower", 10, 1, "children-in-care", HEAD_CIC, 10.0, 10.4,
            "Short-term placement stability: fewer moves is better."),
    monthly("placement-long-term", "Long-term placement stability", SC, "percent", "higher",
            70, 5, "children-in-care", HEAD_CIC, 69.0, 68.5,
            "Under-16s in care 2.5 years or more who have been in one home 2 years."),
    monthly("care-leavers-eet", "Care leavers in education, employment or training", SC,
            "percent", "higher", 60, 5, "care-leavers", HEAD_CIC, 56.0, 54.0,
            "Care leavers aged 19 to 21 in education, employment or training."),
    monthly("care-leavers-accommodation", "Care leavers in suitable accommodation", SC,
            "percent", "higher", 90, 5, "care-leavers", HEAD_CIC, 88.0, 89.0,
            "Care leavers aged 19 to 21 whose accommodation is judged suitable."),
    monthly("adoption-days", "Days from entering care to moving in with an adoptive family", SC,
            "days", "lower", 426, 60, "children-in-care", HEAD_CIC, 475, 455,
            "Average for children who moved in with their adoptive family.", decimals=0),
    monthly("sw-vacancy-rate", "Social worker vacancy rate", SC, "percent", "lower", 15, 3,
            "workforce", HEAD_SC, 17.1, 18.5,
            "Funded social worker posts that are vacant at month end."),
    monthly("agency-sw", "Agency social workers", SC, "percent", "lower", 12, 3, "workforce",
            HEAD_SC, 17.6, 19.0, "Social workers in post who are agency staff, at month end."),
    monthly("eh-assessments-35-days", "Early Help assessments within 35 working days", EH,
            "percent", "higher", 90, 5, "early-help", HEAD_EH, None, 84.0,
            "Early Help assessments completed in the month within 35 working days."),
    monthly("eh-outcomes", "Early Help episodes closed with outcomes achieved", EH, "percent",
            "higher", 75, 5, "early-help", HEAD_EH, None, 72.0,
            "Episodes closed in the month because the family plan was achieved."),
    monthly("eh-step-up", "Families stepping up from Early Help to social care", EH,
            "percent", "lower", 10, 2, "early-help;front-door", HEAD_EH, None, 11.0,
            "Early Help episodes closed in the month by a referral to social care."),
    monthly("eh-open-episodes", "Open Early Help episodes", EH, "count", "info", None, None,
            "early-help", HEAD_EH, None, None,
            "Families receiving Early Help support at month end.", decimals=0),
    monthly("eh-take-up", "Early Help requests taken up by families", EH, "percent", "higher",
            80, 5, "early-help", HEAD_EH, None, None,
            "Requests for Early Help in the month that the family agreed to."),
)  # fmt: skip


@dataclass(frozen=True)
class Series:
    """How a monthly series behaves: noise around a level, then perhaps a real signal."""

    level: float
    sd: float
    signal: str = "none"  # none | shift (last `points`) | rise (last 8, by `size` each) | spike
    size: float = 0.0
    points: int = 8


MONTHLY_SERIES: dict[str, Series] = {
    "re-referrals": Series(21.6, 1.4),
    "assessments-45-days": Series(80.5, 1.8, "shift", 7.0, 8),  # improvement, now green
    "icpc-15-days": Series(81.0, 4.0),
    "cp-second-time": Series(21.0, 1.1, "rise", 0.8),  # concern: steady rise, now red
    "cla-visits": Series(93.0, 1.5),
    "placement-moves": Series(9.4, 0.6),
    "placement-long-term": Series(68.0, 1.8),
    "care-leavers-eet": Series(57.0, 2.2),
    "care-leavers-accommodation": Series(91.0, 1.5, "spike", -11.0),  # concern: one bad month
    "adoption-days": Series(468.0, 40.0),
    "sw-vacancy-rate": Series(20.5, 1.2, "shift", -6.0, 9),  # improvement after a recruitment drive
    "agency-sw": Series(18.0, 1.0),  # reliably misses its target
    "eh-assessments-35-days": Series(88.0, 2.4),
    "eh-outcomes": Series(78.0, 2.6),
    "eh-step-up": Series(8.2, 0.9),
    "eh-open-episodes": Series(1120.0, 30.0, "shift", 95.0, 8),
    "eh-take-up": Series(82.0, 1.8, "shift", -6.0, 8),  # concern: fewer families say yes
}

# (measure, period_end) -> (statistical code or None to keep the value, note)
SPECIAL_CELLS: dict[tuple[str, str], tuple[str | None, str]] = {
    ("care-leavers-accommodation", "2024-08-31"): ("c", "Fewer than 5 in the cohort: suppressed"),
    ("adoption-days", "2024-08-31"): ("z", "No children moved in with adoptive families"),
    ("adoption-days", "2025-01-31"): (":", "Adoption records being migrated"),
    ("eh-assessments-35-days", "2025-06-30"): (":", "Early Help system upgrade"),
    ("contacts", "2026-02-16"): (":", "Contact system outage; figures not recoverable"),
    ("re-referrals", "2025-03-31"): (None, "Revised after data cleanse"),
    ("cla-visits", "2025-12-31"): (None, "Revised: visits recorded late over Christmas"),
}


def rng_for(measure_id: str) -> np.random.Generator:
    """One stream per measure, so adding a measure leaves the others' figures alone."""
    return np.random.default_rng([SEED, zlib.crc32(measure_id.encode())])


def month_ends(first: date, count: int) -> list[date]:
    ends: list[date] = []
    year, month = first.year, first.month
    for _ in range(count):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        ends.append(date(year, month, 1) - timedelta(days=1))
    return ends


MONTHS = month_ends(date(2023, 11, 1), 36)  # 2023-11-30 .. 2026-10-31
DAYS = [HISTORY_START + timedelta(days=i) for i in range((LAST_DAY - HISTORY_START).days + 1)]
BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG", years=range(2023, 2028))


def path(knots: dict[date, float]) -> np.ndarray:
    """A piecewise-linear level over DAYS through the given dates."""
    xs = [d.toordinal() for d in knots]
    return np.interp([d.toordinal() for d in DAYS], xs, list(knots.values()))


def drifting(level: np.ndarray, rng: np.random.Generator, phi: float, sd: float) -> np.ndarray:
    """A level plus AR(1) noise: stocks move a little each day and remember yesterday."""
    noise = np.zeros(len(level))
    for i in range(1, len(level)):
        noise[i] = phi * noise[i - 1] + rng.normal(0.0, sd)
    return level + noise


def open_referrals(rng: np.random.Generator) -> np.ndarray:
    """A stock with weekday arrivals and decisions, so it breathes over the week."""
    stock, out = 330.0, np.zeros(len(DAYS))
    for i, day in enumerate(DAYS):
        working = day.weekday() < 5 and day not in BANK_HOLIDAYS
        stock += rng.poisson(19.0 if working else 3.0)
        stock -= rng.binomial(int(stock), 0.062 if working else 0.008)
        out[i] = stock
    return out


def contacts(rng: np.random.Generator) -> np.ndarray:
    """Contacts follow the school calendar: quiet at weekends, in August and at Christmas."""
    means = []
    for day in DAYS:
        mean = 112.0 if day.weekday() == 0 else 96.0
        if day.weekday() >= 5 or day in BANK_HOLIDAYS:
            mean = 22.0
        season = {8: 0.8, 9: 1.1}.get(day.month, 1.0)
        if (day.month, day.day) >= (12, 20) or (day.month, day.day) <= (1, 3):
            season = 0.75
        means.append(mean * season)
    return rng.poisson(means).astype(float)


def daily_series() -> dict[str, np.ndarray]:
    """Every daily measure over DAYS (from HISTORY_START, so month ends give the rates)."""
    cla = path({HISTORY_START: 352, date(2025, 6, 30): 366, date(2026, 4, 30): 371,
                date(2026, 10, 31): 388, LAST_DAY: 389})  # fmt: skip
    cp = path({HISTORY_START: 226, date(2025, 9, 30): 205, LAST_DAY: 214})
    load = path({HISTORY_START: 16.4, date(2026, 5, 31): 17.0, LAST_DAY: 18.4})
    return {
        "cla-count": np.round(drifting(cla, rng_for("cla-count"), 0.95, 1.2)),
        "cp-plans": np.round(drifting(cp, rng_for("cp-plans"), 0.93, 1.6)),
        "open-referrals": open_referrals(rng_for("open-referrals")),
        "contacts": contacts(rng_for("contacts")),
        "caseload": np.round(drifting(load, rng_for("caseload"), 0.9, 0.08), 1),
    }


def monthly_values(series: Series, rng: np.random.Generator) -> np.ndarray:
    values = series.level + rng.normal(0.0, series.sd, len(MONTHS))
    if series.signal == "shift":
        values[-series.points :] += series.size
    elif series.signal == "rise":  # strictly monotonic: each step is at least 0.4 x size
        steps = series.size * (np.arange(1, 9) + rng.uniform(-0.3, 0.3, 8))
        values[-8:] = series.level + steps
    elif series.signal == "spike":
        values[-1] = series.level + series.size
    return values


def monthly_series(days: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every monthly measure; the two rates come from the daily stocks at month end."""
    at_month_end = [DAYS.index(end) for end in MONTHS]
    out = {
        "cla-rate": days["cla-count"][at_month_end] * 10_000 / CHILD_POPULATION,
        "cp-rate": days["cp-plans"][at_month_end] * 10_000 / CHILD_POPULATION,
    }
    for measure_id, series in MONTHLY_SERIES.items():
        out[measure_id] = monthly_values(series, rng_for(measure_id))
    return out


def cell(row: Row, value: float) -> str:
    """A value as the data files hold it: integers for counts, percentages within 0-100."""
    if row.unit == "percent":
        value = min(max(value, 0.0), 100.0)
    if row.unit == "count":
        value = max(value, 0.0)
    return f"{value:.{row.decimals}f}"


def observations(card: str, periods: list[date], values: dict[str, np.ndarray]) -> list[list[str]]:
    """Long-format rows `measure,period_end,value,note` for one scorecard."""
    rows: list[list[str]] = []
    offset = len(values[next(iter(values))]) - len(periods)  # daily arrays start earlier
    for row in (m for m in MEASURES if m.scorecard == card):
        for i, period in enumerate(periods):
            text = cell(row, float(values[row.id][offset + i]))
            code, note = SPECIAL_CELLS.get((row.id, period.isoformat()), (None, ""))
            rows.append([row.id, period.isoformat(), code or text, note])
    return rows


def write_csv(path_: Path, header: list[str], rows: Iterator[list[str]] | list[list[str]]) -> None:
    path_.parent.mkdir(parents=True, exist_ok=True)
    with path_.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_xlsx(path_: Path, header: list[str], rows: list[list[str]]) -> None:
    """One sheet; numbers as numbers, codes and dates as text, as a council export has them."""
    book = Workbook()
    sheet = book.active
    sheet.title = "observations"
    sheet.append(header)
    for measure_id, period, value, note in rows:
        number = value not in ("c", ":", "z", "")
        sheet.append([measure_id, period, float(value) if number else value, note or None])
    book.save(path_)
    # Saving stamps the workbook and its zip entries with the clock; pin both.
    book.properties.created = book.properties.modified = FIXED_STAMP
    replaced = {"docProps/core.xml": tostring(book.properties.to_tree())}
    with ZipFile(path_) as source:
        entries = [(i.filename, replaced.get(i.filename) or source.read(i))
                   for i in source.infolist()]  # fmt: skip
    with ZipFile(path_, "w", ZIP_DEFLATED) as target:
        for name, data in entries:
            target.writestr(ZipInfo(name, FIXED_STAMP.timetuple()[:6]), data, ZIP_DEFLATED)


def catalogue_rows() -> Iterator[list[str]]:
    for row in MEASURES:
        yield ["" if v is None else f"{v:g}" if isinstance(v, float | int) else str(v)
               for v in astuple(row)]  # fmt: skip


def nth_working_day(month_end: date, n: int) -> date:
    """The n-th working day of the month after `month_end` (England, no weekends)."""
    day, seen = month_end, 0
    while seen < n:
        day += timedelta(days=1)
        seen += day.weekday() < 5 and day not in BANK_HOLIDAYS
    return day


def publications() -> list[list[str]]:
    """Social Care goes out on the 8th-10th working day, Early Help one working day later."""
    rng, rows = rng_for("publications"), []
    for i, end in enumerate(MONTHS):
        n = 9 if i == len(MONTHS) - 1 else 9 + int(rng.choice([-1, 0, 0, 1]))
        for card, extra in ((SC, 0), (EH, 1)):
            url = f"https://{DOMAIN}/performance/{card}/{end:%Y-%m}"
            rows.append([card, end.isoformat(), nth_working_day(end, n + extra).isoformat(), url])
    return rows


# (period_end, measure, requested_by, days after publication)
REQUESTS = (
    ("2026-07-31", "agency-sw", "imran-qureshi", 2),
    ("2026-09-30", "re-referrals", "fiona-marsh", 1),
    ("2026-09-30", "cp-second-time", "ruth-calloway", 4),
    ("2026-10-31", "cp-second-time", "amara-osei", 0),
    ("2026-10-31", "cp-second-time", "ruth-calloway", 1),
    ("2026-10-31", "care-leavers-accommodation", "gwen-haworth", 4),
    ("2026-10-31", "agency-sw", "imran-qureshi", 5),
    ("2026-10-31", "cla-rate", "tom-ellery", 7),
)


def deep_dive_requests(published: list[list[str]]) -> list[list[str]]:
    on = {(card, end): date.fromisoformat(day) for card, end, day, _ in published}
    return [[SC, end, measure, who, (on[SC, end] + timedelta(days=after)).isoformat()]
            for end, measure, who, after in REQUESTS]  # fmt: skip


# id, name, roles, themes, active, why they are here
Person = tuple[str, str, list[str], list[str], bool, str]
PEOPLE: tuple[tuple[str, list[Person]], ...] = (
    ("Members of the commission", [
        ("amara-osei", "Cllr Amara Osei", ["chair", "member"], ["children-in-care"], True,
         "Chair of the Improving Lives Select Commission"),
        ("david-pennington", "Cllr David Pennington", ["lead-member", "member"], [], True,
         "Cabinet Member for Children and Young People"),
        ("fiona-marsh", "Cllr Fiona Marsh", ["member"], ["early-help"], True, ""),
        ("imran-qureshi", "Cllr Imran Qureshi", ["member"], ["workforce"], True, ""),
        ("gwen-haworth", "Cllr Gwen Haworth", ["member"], ["care-leavers"], True, ""),
        ("tom-ellery", "Cllr Tom Ellery", ["member"], [], True, ""),
        ("ruth-calloway", "Cllr Ruth Calloway", ["member"], ["child-protection"], True, ""),
        ("sam-abara", "Cllr Sam Abara", ["member"], [], True, ""),
        ("peter-lund", "Cllr Peter Lund", ["member"], [], False,
         "Left the commission in September 2026; kept so that his id is never reused"),
    ]),
    ("Officers", [
        ("lena-barker", "Lena Barker", ["performance"], [], True,
         "Performance and Quality Manager"),
        ("josh-tanner", "Josh Tanner", ["performance"], [], True, "Senior Performance Analyst"),
        (HEAD_SC, "Janet Okafor", ["lead-officer"], [], True,
         "Head of Safeguarding and Children's Social Care: owns front door, CP and workforce"),
        (HEAD_CIC, "Claire Whitfield", ["lead-officer"], [], True,
         "Head of Children in Care and Care Leavers: owns children in care and care leavers"),
        (HEAD_EH, "Raj Mistry", ["lead-officer"], [], True,
         "Head of Early Help and Prevention: owns the Early Help scorecard"),
    ]),
)  # fmt: skip

RECIPIENTS_HEADER = """\
# Who receives what. Edited by the Performance and Quality team; `digest check` validates it.
#
# One [[recipient]] block per person:
#   id      required. Lower-case letters, digits and hyphens. Unique, and never reused for
#           someone else: it is part of the key that stops an email being sent twice.
#   name    required. As it appears in the greeting and the To: line.
#   email   required.
#   roles   required, one or more. Schedules send to "role:NAME". Roles used here:
#             chair        chair of the commission (daily key indicators)
#             lead-member  the Cabinet Member (daily key indicators)
#             member       every member of the commission (tracker, deep-dive emails)
#             performance  the performance team (alerts, deep-dive summary)
#             lead-officer heads of service who own measures (deep-dive summary)
#   themes  optional. Measure themes this person follows; they come first in their tracker.
#           Themes: children-in-care, child-protection, care-leavers, early-help,
#           front-door, workforce.
#   active  optional, default true. Set to false when someone leaves: they receive nothing,
#           and their past deliveries stay on record under their id.
"""


def recipients_toml() -> str:
    parts = [RECIPIENTS_HEADER]
    for heading, people in PEOPLE:
        parts.append(f"\n# ---- {heading} ----\n")
        for rid, name, roles, themes, active, why in people:
            local = rid.replace("-", ".")
            email = f"cllr.{local}@{DOMAIN}" if name.startswith("Cllr") else f"{local}@{DOMAIN}"
            lines = [f"# {why}"] if why else []
            lines += ["[[recipient]]", f"id = {json.dumps(rid)}", f"name = {json.dumps(name)}",
                      f"email = {json.dumps(email)}", f"roles = {json.dumps(roles)}"]  # fmt: skip
            lines += [f"themes = {json.dumps(themes)}"] if themes else []
            lines += [] if active else ["active = false"]
            parts.append("\n" + "\n".join(lines) + "\n")
    return "".join(parts)


SCHEDULES_TOML = f"""\
# When each digest goes out, to whom, and how. Edited by the Performance and Quality team;
# `digest check` validates it and `digest upcoming` shows what will be sent next.
# Changes are picked up by the running service without a restart; a broken edit is
# ignored (the last good version keeps running) and the performance team gets an alert.

[site]
name = "Improving Lives Select Commission"   # shown in every email
timezone = "Europe/London"      # every time in this file is local to it (GMT/BST handled)
holidays = "england"            # bank holidays that are not working days:
                                # england | wales | scotland | northern-ireland | none
closures = ["2026-12-29", "2026-12-30"]   # council closure days, also not working days
sender = "Performance and Quality <performance@{DOMAIN}>"   # the From: line
reply_to = "performance@{DOMAIN}"   # optional: where members' replies go
alerts_to = ["role:performance"]    # told at once about failures, stale data and bad edits
deep_dive_window = "7 days"     # deep-dive deadline = publication date + this
                                # (moved to the next working day if it is not one)

[delivery]
transport = "pickup"            # pickup: write each email as a .eml file into pickup_dir
pickup_dir = "outbox"           # (relative to this folder); smtp: send through a server
# To send through the council's mail relay instead, use transport = "smtp" and:
# host = "smtp.{DOMAIN}"
# port = 587
# security = "starttls"         # starttls | tls | none ("none" only to 127.0.0.1)
# username = "digest@{DOMAIN}"   # optional
# The password is never kept here: it is read only from DIGEST_SMTP_PASSWORD.

# Each [[schedule]] is one kind of email. Keys:
#   id       lower-case letters, digits and hyphens; unique and never reused (it is part
#            of the key that stops an email being sent twice).
#   digest   key-indicators | tracker | deep-dive-invite | deep-dive-reminder |
#            deep-dive-summary
#   to       "role:NAME" (see recipients.toml) or a recipient id.
#   measures optional: measure ids, themes or scorecards to include (default: all).
#   Either a clock time:
#     cron               five fields, "minute hour day-of-month month day-of-week".
#     working_days_only  true: skip weekends, bank holidays and closures.
#     catch_up           after downtime, a missed email is still sent if this recent.
#   or a publication (a new row in data/publications.csv):
#     after              the scorecard whose publication starts it.
#     offset             "N days" or "N working days" after the publication date, or
#     before_deadline    "N working days" before the deep-dive deadline.
#     at                 local time of day, "HH:MM".

# The day's key indicators for the chair and the Cabinet Member, each working morning.
[[schedule]]
id = "daily-key-indicators"
digest = "key-indicators"
to = ["role:chair", "role:lead-member"]
cron = "30 7 * * mon-fri"       # 07:30, Monday to Friday
working_days_only = true
measures = ["daily"]            # the daily scorecard
catch_up = "12 hours"

# The monthly tracker for every member, on the morning the Social Care scorecard is
# published. It covers the Early Help measures too (that scorecard usually follows a
# working day later).
[[schedule]]
id = "monthly-tracker"
digest = "tracker"
to = ["role:member"]
after = "social-care"
offset = "0 days"
at = "09:00"
measures = ["social-care", "early-help"]

# Invites members to ask for deep dives, an hour after the tracker.
[[schedule]]
id = "deep-dive-invite"
digest = "deep-dive-invite"
to = ["role:member"]
after = "social-care"
offset = "0 days"
at = "10:00"

# Reminds members who have not yet asked for a deep dive.
[[schedule]]
id = "deep-dive-reminder"
digest = "deep-dive-reminder"
to = ["role:member"]
after = "social-care"
before_deadline = "2 working days"
at = "09:00"

# The requests, grouped by measure with each measure's owner, on the deadline afternoon,
# so that a performance clinic can be convened.
[[schedule]]
id = "deep-dive-summary"
digest = "deep-dive-summary"
to = ["role:performance", "role:lead-officer"]
after = "social-care"
before_deadline = "0 working days"
at = "16:00"
"""


def main() -> None:
    days = daily_series()
    months = monthly_series(days)
    obs = ROOT / "data" / "observations"
    header = ["measure", "period_end", "value", "note"]
    daily_dates = [d for d in DAYS if d >= DAILY_START]
    write_csv(ROOT / "data" / "measures.csv", [f.name for f in fields(Row)], catalogue_rows())
    write_csv(obs / "daily.csv", header, observations(DAILY, daily_dates, days))
    write_csv(obs / "social-care.csv", header, observations(SC, MONTHS, months))
    write_xlsx(obs / "early-help.xlsx", header, observations(EH, MONTHS, months))
    published = publications()
    write_csv(ROOT / "data" / "publications.csv",
              ["scorecard", "period_end", "published_on", "url"], published)  # fmt: skip
    write_csv(ROOT / "data" / "deep_dive_requests.csv",
              ["scorecard", "period_end", "measure", "requested_by", "requested_on"],
              deep_dive_requests(published))  # fmt: skip
    (ROOT / "recipients.toml").write_text(recipients_toml(), encoding="utf-8")
    (ROOT / "schedules.toml").write_text(SCHEDULES_TOML, encoding="utf-8")


if __name__ == "__main__":
    main()
