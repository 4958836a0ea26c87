"""Bad edits under `digest run`: the last good configuration runs on, a broken schedule
blocks only itself, and the team is told naming the file and line, again a day later."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.cli import main
from digest.delivery import store
from digest.schedule.daemon import Daemon
from tests.test_scheduler import Clock, alerts, at, make_site, sent, start, step


def alert_bodies(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "outbox").glob("alert_*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        part = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        found.append(f"{message['Subject']}\n{part.get_content()}")
    return found


def daily_sent(root: Path) -> int:
    return sum(n for (schedule, _), n in sent(root).items() if schedule == "daily")


def runs(root: Path, schedule_id: str) -> list[str]:
    state = store.open_store(root)
    return [r.outcome for r in store.recent_runs(state, 100, schedule_id)]


def running(tmp_path: Path) -> tuple[Path, Clock, Daemon]:
    """The test site's daemon, started on Monday 23 November 2026 at 06:00."""
    site = make_site(tmp_path, "2026-11-23")
    clock = Clock(at("2026-11-23T06:00"))
    daemon = start(site, clock)
    step(daemon, clock, at("2026-11-23T06:00"))
    return site, clock, daemon


def add_line_5(site: Path, line: str) -> tuple[Path, str]:
    """`line` inserted as line 5 of the key indicators' body.html; returns the file and
    what it held before."""
    body = site / "templates/email/key-indicators/body.html"
    good = body.read_text()
    lines = good.splitlines(keepends=True)
    lines.insert(4, line + "\n")
    body.write_text("".join(lines))
    return body, good


def test_a_template_that_breaks_only_on_some_days_blocks_only_its_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site, clock, daemon = running(tmp_path)
    # Checked today it renders; it breaks only on the 24th, past every check.
    body, good = add_line_5(site, "{% if \"24 November\" in content.as_at %}{{ 1 / 0 }}{% endif %}")
    step(daemon, clock, at("2026-11-23T06:01"))
    assert daemon.bad_config is None  # taken up
    step(daemon, clock, at("2026-11-23T07:30:01"))
    assert daily_sent(site) == 2
    for minute in ("07:30:01", "07:30:06", "07:30:11", "07:31", "07:40"):
        step(daemon, clock, at(f"2026-11-24T{minute}"))
    assert daily_sent(site) == 2  # nothing of the 24th's
    assert runs(site, "daily") == ["broken", "ok"]  # one row, not one per step
    told = [b for b in alert_bodies(site) if "could not be composed" in b]
    assert len(told) == 1  # delivered, and once
    assert "templates/email/key-indicators/body.html:5:" in told[0]
    assert main(["--site", str(site), "status"]) == 1
    assert "could not be composed: daily 2026-11-24: templates/email/key-indicators/body.html:5:" in (
        capsys.readouterr().out
    )
    body.write_text(good)  # corrected: tried again at once, and sent
    step(daemon, clock, at("2026-11-24T07:45"))
    assert daily_sent(site) == 4
    assert runs(site, "daily")[0] == "ok"
    main(["--site", str(site), "status"])
    assert "could not be composed" not in capsys.readouterr().out


def test_a_template_edit_that_fails_its_check_leaves_the_last_good_one_sending(
    tmp_path: Path,
) -> None:
    site, clock, daemon = running(tmp_path)
    add_line_5(site, "{{ 1 / 0 }}")
    step(daemon, clock, at("2026-11-23T06:01"))
    (told,) = alert_bodies(site)
    assert "not taken up" in told and "templates/email/key-indicators/body.html:5:" in told
    step(daemon, clock, at("2026-11-23T07:30:01"))
    assert daily_sent(site) == 2  # with the templates last checked
    assert runs(site, "daily") == ["ok"]


def test_a_refused_edit_is_alerted_again_a_day_later_and_each_time_it_breaks(
    tmp_path: Path,
) -> None:
    site, clock, daemon = running(tmp_path)
    path = site / "schedules.toml"
    good = path.read_text()
    bad = good.replace('cron = "30 7 * * mon-fri"', 'cron = "30 7 * * mon-fry"')
    path.write_text(bad)
    step(daemon, clock, at("2026-11-23T06:01"))
    step(daemon, clock, at("2026-11-23T18:00"))
    assert len(alerts(site)) == 1
    step(daemon, clock, at("2026-11-24T06:02"))  # still broken a day later: told again
    assert len(alerts(site)) == 2
    path.write_text(good)
    step(daemon, clock, at("2026-11-24T06:03"))
    path.write_text(bad)  # the very same mistake made again is a new problem to tell
    step(daemon, clock, at("2026-11-24T06:04"))
    assert len(alerts(site)) == 3


def test_an_edit_that_a_reader_fails_on_is_refused_and_alerted_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.schedule import daemon as daemon_module

    site, clock, daemon = running(tmp_path)

    def unreadable(*args: object, **kwargs: object) -> None:
        raise ValueError("a reader that did not expect this")

    monkeypatch.setattr(daemon_module, "load_site", unreadable)
    (site / "data/measures.csv").write_text((site / "data/measures.csv").read_text() + "\n")
    step(daemon, clock, at("2026-11-23T06:01"))
    (told,) = alert_bodies(site)
    assert "not taken up" in told and "could not be read (ValueError" in told
    step(daemon, clock, at("2026-11-23T07:30:01"))
    assert daily_sent(site) == 2  # the last good site still sends
