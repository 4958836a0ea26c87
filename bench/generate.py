"""Sites at scale for the benchmarks: many members for a send, many daily values for indicators.

Everything is drawn from seeded generators, so a size and a seed always give the same files.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PUBLISHED_ON = date(2026, 11, 12)  # the tracker of the send site runs on this day
PERIOD_END = date(2026, 10, 31)  # the month its scorecards report
INDICATORS_DAY = date(2026, 11, 25)  # the last day of the indicators site's data
TRACKER = "monthly-tracker"
DAILY = "daily-key-indicators"

THEMES = (
    "children-in-care",
    "child-protection",
    "care-leavers",
    "early-help",
    "front-door",
    "workforce",
)
# What members follow: nothing, each theme alone, or one of three pairs. Each choice is
# one tracker variant, so a send renders (and inlines CSS for) ten variants.
THEME_CHOICES: tuple[tuple[str, ...], ...] = (
    (),
    *((theme,) for theme in THEMES),
    ("children-in-care", "care-leavers"),
    ("front-door", "early-help"),
    ("workforce", "child-protection"),
)
GIVEN = ("Amara", "David", "Fiona", "Siân", "Tomasz", "Zoë", "Grace", "Imran", "Niamh", "Olu")
FAMILY = ("Osei", "Pennington", "Marsh", "Ó Briain", "Kowalski", "Patel", "Hughes", "Chen")

# unit, polarity, target, target_max, tolerance, decimals, typical value, monthly step
KINDS: tuple[tuple[str, str, str, str, str, int, float, float], ...] = (
    ("percent", "higher", "85", "", "5", 1, 84.0, 2.0),
    ("percent", "lower", "20", "", "3", 1, 21.0, 1.0),
    ("rate", "info", "", "", "", 1, 45.0, 1.5),
    ("days", "lower", "426", "", "60", 0, 450.0, 20.0),
    ("count", "info", "", "", "", 0, 500.0, 15.0),
    ("number", "range", "14", "18", "1", 1, 16.0, 0.6),
)
MEASURE_HEADER = (
    "id,title,scorecard,unit,polarity,frequency,target,target_max,tolerance,decimals,"
    "themes,owner,england,statistical_neighbours,description\n"
)
OBSERVATION_HEADER = "measure,period_end,value,note\n"

SITE = """\
[site]
name = "Benchmark Commission"
timezone = "Europe/London"
holidays = "england"
sender = "Performance and Quality <performance@bench.example.gov.uk>"
reply_to = "performance@bench.example.gov.uk"
alerts_to = ["role:performance"]
deep_dive_window = "7 days"

[delivery]
transport = "pickup"
pickup_dir = "outbox"
"""

SEND_SCHEDULES = f"""\
{SITE}
[[schedule]]
id = "{TRACKER}"
digest = "tracker"
to = ["role:member"]
after = "social-care"
offset = "0 days"
at = "09:00"
"""

INDICATOR_SCHEDULES = f"""\
{SITE}
[[schedule]]
id = "{DAILY}"
digest = "key-indicators"
to = ["role:performance"]
cron = "30 7 * * mon-fri"
working_days_only = true
"""

OFFICER = """\
[[recipient]]
id = "performance-officer"
name = "Performance Officer"
email = "performance@bench.example.gov.uk"
roles = ["performance", "lead-officer"]
"""


def member_block(number: int) -> str:
    """One member of the send site, with themes that vary from member to member."""
    themes = ", ".join(f'"{t}"' for t in THEME_CHOICES[number % len(THEME_CHOICES)])
    given, family = GIVEN[number % len(GIVEN)], FAMILY[(number // len(GIVEN)) % len(FAMILY)]
    return (
        f'[[recipient]]\nid = "member-{number:05d}"\nname = "Cllr {given} {family}"\n'
        f'email = "member.{number:05d}@bench.example.gov.uk"\nroles = ["member"]\n'
        f"themes = [{themes}]\n"
    )


def month_ends(last: date, count: int) -> list[date]:
    """The last `count` month ends up to and including `last` (itself a month end), oldest first."""
    ends = [last]
    while len(ends) < count:
        ends.append(ends[-1].replace(day=1) - timedelta(days=1))
    return ends[::-1]


def walk(rng: random.Random, typical: float, step: float, count: int) -> Iterator[float]:
    """A mean-reverting random walk: figures that drift and sometimes shift, like real ones."""
    value = typical
    for _ in range(count):
        value = typical + 0.8 * (value - typical) + rng.gauss(0, step)
        yield value


def monthly_measure_rows(count: int) -> list[str]:
    """Measures on two scorecards, each kind of unit and polarity, one or two themes each."""
    rows = []
    for i in range(count):
        unit, polarity, target, top, tolerance, decimals, typical, _ = KINDS[i % len(KINDS)]
        card = "social-care" if i < count * 2 // 3 else "early-help"
        themes = THEMES[i % len(THEMES)] + (";early-help" if card == "early-help" else "")
        england = f"{typical:.{decimals}f}" if i % 2 else ""
        rows.append(
            f"m{i:03d},Monthly measure {i} ({unit}),{card},{unit},{polarity},monthly,{target},"
            f"{top},{tolerance},{decimals},{themes},performance-officer,{england},,"
            f"Generated measure {i}.\n"
        )
    return rows


def monthly_observations(count: int, months: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    ends = [d.isoformat() for d in month_ends(PERIOD_END, months)]
    lines = []
    for i in range(count):
        unit, _, _, _, _, decimals, typical, step = KINDS[i % len(KINDS)]
        for end, value in zip(ends, walk(rng, typical, step, months), strict=True):
            value = min(max(value, 0.0), 100.0) if unit == "percent" else max(value, 0.0)
            lines.append(f"m{i:03d},{end},{value:.{decimals}f},\n")
    return lines


def write_send_site(root: Path, *, members: int = 10_000, measures: int = 20, months: int = 36,
                    seed: int = 1) -> Path:  # fmt: skip
    """A site whose monthly tracker goes to `members` members, published on PUBLISHED_ON."""
    _fresh(root)
    blocks = [OFFICER, *(member_block(n) for n in range(1, members + 1))]
    (root / "recipients.toml").write_text("\n".join(blocks), encoding="utf-8")
    (root / "schedules.toml").write_text(SEND_SCHEDULES, encoding="utf-8")
    data = root / "data"
    (data / "measures.csv").write_text(
        MEASURE_HEADER + "".join(monthly_measure_rows(measures)), encoding="utf-8"
    )
    (data / "observations" / "monthly.csv").write_text(
        OBSERVATION_HEADER + "".join(monthly_observations(measures, months, seed)),
        encoding="utf-8",
    )
    month = PERIOD_END.strftime("%Y-%m")
    (data / "publications.csv").write_text(
        "scorecard,period_end,published_on,url\n"
        f"social-care,{PERIOD_END},{PUBLISHED_ON},https://bench.example.gov.uk/social-care/{month}\n"
        f"early-help,{PERIOD_END},{PUBLISHED_ON},https://bench.example.gov.uk/early-help/{month}\n",
        encoding="utf-8",
    )
    return root


def daily_observations(path: Path, measures: int, days: int, seed: int) -> int:
    """`days` daily values of each measure ending on INDICATORS_DAY, a few missing; returns rows."""
    rng = np.random.default_rng(seed)
    first = INDICATORS_DAY - timedelta(days=days - 1)
    dates = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(OBSERVATION_HEADER)
        for i in range(measures):
            unit, *_, decimals, typical, step = KINDS[i % len(KINDS)]
            steps = rng.normal(0.0, step / 3, days)
            values = typical + np.cumsum(steps) * 0.2 + steps  # slow drift, daily noise
            values = np.clip(values, 0.0, 100.0 if unit == "percent" else None)
            text = [f"{v:.{decimals}f}" for v in values.tolist()]
            for n in rng.choice(days, size=days // 500, replace=False).tolist():
                text[n] = ("", "c", ":")[n % 3]  # missing now and then, sometimes with a reason
            out.writelines(f"d{i:03d},{d},{v},\n" for d, v in zip(dates, text, strict=True))
            rows += days
    return rows


def write_indicators_site(root: Path, *, measures: int = 300, years: int = 10,
                          seed: int = 2) -> Path:  # fmt: skip
    """A site with `measures` daily measures and `years` of daily values in one CSV."""
    _fresh(root)
    (root / "recipients.toml").write_text(OFFICER, encoding="utf-8")
    (root / "schedules.toml").write_text(INDICATOR_SCHEDULES, encoding="utf-8")
    rows = []
    for i in range(measures):
        unit, polarity, target, top, tolerance, decimals, *_ = KINDS[i % len(KINDS)]
        rows.append(
            f"d{i:03d},Daily measure {i} ({unit}),daily,{unit},{polarity},daily,{target},{top},"
            f"{tolerance},{decimals},{THEMES[i % len(THEMES)]},performance-officer,,,\n"
        )
    data = root / "data"
    (data / "measures.csv").write_text(MEASURE_HEADER + "".join(rows), encoding="utf-8")
    days = (INDICATORS_DAY - INDICATORS_DAY.replace(year=INDICATORS_DAY.year - years)).days
    daily_observations(observations_file(root), measures, days, seed)
    (data / "publications.csv").write_text("scorecard,period_end,published_on,url\n")
    return root


def observations_file(root: Path) -> Path:
    """The one observations file of an indicators site."""
    return root / "data" / "observations" / "daily.csv"


def _fresh(root: Path) -> None:
    """An empty site folder with the repository's templates."""
    if root.exists():
        shutil.rmtree(root)
    (root / "data" / "observations").mkdir(parents=True)
    shutil.copytree(REPO / "templates", root / "templates")
