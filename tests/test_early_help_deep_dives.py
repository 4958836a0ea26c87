"""Deep dives follow every scorecard a deep-dive schedule follows: Early Help too."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from digest import calendar
from digest.cli import main
from digest.delivery.site import load_site
from digest.email.prepare import batch_for

REPO = Path(__file__).resolve().parent.parent
ASKED_AT = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def demo_copy(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    for name in ("recipients.toml", "schedules.toml"):
        shutil.copy(REPO / name, site / name)
    shutil.copytree(REPO / "data", site / "data")
    shutil.copytree(REPO / "templates", site / "templates")
    return site


def test_an_early_help_request_is_taken_and_reaches_the_early_help_summary(
    tmp_path: Path,
) -> None:
    site = demo_copy(tmp_path)
    request = [
        "--site",
        str(site),
        "request",
        "eh-outcomes",
        "--by",
        "amara-osei",
        "--on",
        "2026-11-16",
    ]
    assert main(request, clock=lambda: ASKED_AT) == 0
    loaded = load_site(site, date(2026, 11, 20))
    schedule = loaded.site.schedule("early-help-deep-dive-summary")
    assert schedule is not None
    occurrence = calendar.occurrence_due_on(loaded.site, schedule, date(2026, 11, 20))
    assert occurrence is not None
    texts = [" ".join(m.text.split()) for m in batch_for(loaded, occurrence)]
    assert texts and all("Cllr Amara Osei" in t for t in texts)


def test_the_early_help_invitation_offers_the_early_help_measures_only() -> None:
    loaded = load_site(REPO, date(2026, 11, 13))
    schedule = loaded.site.schedule("early-help-deep-dive-invite")
    assert schedule is not None
    occurrence = calendar.occurrence_due_on(loaded.site, schedule, date(2026, 11, 13))
    assert occurrence is not None
    text = next(iter(batch_for(loaded, occurrence))).text
    early_help = [m.title for m in loaded.site.measures if m.scorecard == "early-help"]
    social_care = [m.title for m in loaded.site.measures if m.scorecard == "social-care"]
    assert all(title[:30] in " ".join(text.split()) for title in early_help)
    assert not any(f"\n{title}\n" in text for title in social_care)
