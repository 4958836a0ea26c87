"""The daemon and sign-off: a tracker held past its time goes once approved, never twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from digest.cli import main as cli_main
from tests.test_scheduler import Clock, alerts, at, load_november, make_site, sent, start, step


def needs_sign_off(site: Path) -> None:
    path = site / "schedules.toml"
    path.write_text(path.read_text().replace(
        'offset = "0 days"\nat = "09:00"',
        'offset = "0 days"\nat = "09:00"\nsign_off = ["role:performance"]',
    ))  # fmt: skip
    # November's figures are loaded with the publication, so the tracker waits only for sign-off.
    load_november(site)
    with (site / "data/publications.csv").open("a", encoding="utf-8") as handle:
        handle.write("social-care,2026-11-30,2026-12-10,https://example.gov.uk/sc/2026-11\n")


def trackers(site: Path) -> int:
    return Counter(k[0] for k in sent(site))["tracker"]


def test_a_held_tracker_is_sent_once_after_approval_across_a_restart(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-12-10")
    needs_sign_off(site)
    clock = Clock(at("2026-12-10T08:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-12-10T08:00"))
    step(daemon, clock, at("2026-12-10T09:00:01"))
    daemon = start(site, clock)  # a restart while it is held: held still, told once
    step(daemon, clock, at("2026-12-10T09:30"))
    assert trackers(site) == 0
    assert len([s for s in alerts(site) if "held" in s]) == 1
    assert [s for s in alerts(site) if "Tracker" in s and "held" in s]
    clock.now = at("2026-12-10T11:00")
    argv = ["--site", str(site), "approve", "tracker", "--on", "2026-12-10", "--by", "perf"]
    assert cli_main(argv, clock=clock) == 0
    assert trackers(site) == 3
    step(daemon, clock, at("2026-12-10T11:01"))
    restarted = start(site, clock)  # the daemon restarts after the approval
    step(restarted, clock, at("2026-12-10T11:05"))
    step(restarted, clock, at("2026-12-11T09:00:01"))
    assert trackers(site) == 3
    assert cli_main(argv, clock=clock) == 0  # approving again sends nothing new
    assert trackers(site) == 3


def ready(site: Path) -> list[str]:
    return [s for s in alerts(site) if "ready for sign-off" in s]


def test_the_approvers_are_told_ahead_and_an_approval_before_its_time_sends_it_on_time(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path, "2026-12-10")
    needs_sign_off(site)
    clock = Clock(at("2026-12-10T07:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-12-10T07:00"))
    step(daemon, clock, at("2026-12-10T07:05"))
    (notice,) = [" ".join(s.split()) for s in ready(site)]  # once, before its time
    assert "Tracker (social-care:2026-11-30) is ready for sign-off: due Thursday 10 December 2026 at 09:00" in notice
    assert trackers(site) == 0
    restarted = start(site, clock)  # a restart prepares it again, but tells no one twice
    step(restarted, clock, at("2026-12-10T07:10"))
    assert len(ready(site)) == 1
    argv = ["--site", str(site), "approve", "tracker", "--on", "2026-12-10", "--by", "perf"]
    assert cli_main(argv, clock=Clock(at("2026-12-10T08:00"))) == 0
    assert trackers(site) == 0  # approved ahead: it waits for its time
    step(restarted, clock, at("2026-12-10T09:00:01"))
    assert trackers(site) == 3
    assert not [s for s in alerts(site) if "held" in s]


def test_a_data_change_after_the_notice_tells_the_approvers_again(tmp_path: Path) -> None:
    site = make_site(tmp_path, "2026-12-10")
    needs_sign_off(site)
    clock = Clock(at("2026-12-10T07:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-12-10T07:00"))
    assert len(ready(site)) == 1
    data = site / "data" / "observations" / "monthly.csv"
    data.write_text(data.read_text().replace("visits,2026-11-30,95,", "visits,2026-11-30,81,"))
    step(daemon, clock, at("2026-12-10T07:30"))
    assert len(ready(site)) == 2  # new figures: a new notice for the new content
