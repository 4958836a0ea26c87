"""Many instances, many clocks (issue 14): claims and leases by the database's clock,
an id per process with a heartbeat, bounded lock waits, a fenced leader lease."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest import calendar
from digest.delivery import store
from digest.delivery import store as store_module
from digest.delivery.heartbeat import HEARTBEAT_TABLE, HEARTBEAT_TTL, beat
from digest.delivery.instances import local_pid, worker_id
from digest.delivery.outbox import claim, enqueue, recover_abandoned
from digest.delivery.service import delivery_workers
from digest.delivery.store import SENDING, Store, counts, database_now
from digest.delivery.transports import transport_for
from digest.delivery.worker import deliver
from digest.schedule import lease
from digest.schedule.daemon import Daemon, Runner
from digest.site.load import load_site
from tests.conftest import MakeMessages, a_dead_process_id
from tests.sites import send_by_smtp, write_site
from tests.smtp_server import SmtpServer
from tests.test_scheduler import Clock, alerts, at

TODAY = datetime(2026, 11, 26).date()


def test_an_instance_whose_clock_is_15_minutes_ahead_takes_no_live_claim(
    store: Store, make_messages: MakeMessages, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    messages = make_messages(6)
    enqueue(store, messages, store.now())
    held = claim(store, store.now(), 3, worker="other-instance")  # alive, sending
    site = load_site(send_by_smtp(write_site(tmp_path / "site"), smtp_server.port), TODAY).site
    ahead = lambda: datetime.now(UTC) + timedelta(minutes=15)  # noqa: E731
    report = asyncio.run(deliver(store, transport_for(site), ahead, lease_clock=store.now))
    assert report.sent == 3
    assert counts(store)[SENDING] == 3
    received = {m.message_id for m in smtp_server.received}
    assert received.isdisjoint(c.message_id for c in held)


def test_ids_are_random_per_process_and_name_the_place(tmp_path: Path) -> None:
    mine = worker_id()
    assert str(os.getpid()) == mine.rsplit("/", 1)[1]
    assert local_pid(mine) == os.getpid()
    # Another host (or container) with our host name, PID namespace number and a PID
    # that is dead here: its boot differs, so it is not ours to look up.
    place = mine.partition("@")[2].rsplit("/", 1)[0]
    namespace = place.rsplit(":", 1)[1] if ":" in place else ""
    other = (
        f"0123456789abcdef@{socket.gethostname()}/another-boot:{namespace}/{a_dead_process_id()}"
    )
    assert local_pid(other) is None


def test_a_live_claim_of_a_same_named_host_is_not_taken(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(2), store.now())
    namespace = os.readlink("/proc/self/ns/pid")
    twin = f"feedfacefeedface@{socket.gethostname()}/another-boot:{namespace}/{a_dead_process_id()}"
    claim(store, store.now(), 2, worker=twin)
    assert recover_abandoned(store, store.now()) == 0
    assert counts(store)[SENDING] == 2


def test_a_claim_whose_holder_stopped_beating_is_taken_back(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(4), store.now())
    beat(store, "quiet")
    beat(store, "beating")
    claim(store, store.now(), 2, worker="quiet")
    claim(store, store.now(), 2, worker="beating")
    with store.transaction() as connection:
        connection.execute(
            HEARTBEAT_TABLE.update()
            .where(HEARTBEAT_TABLE.c.holder == "quiet")
            .values(alive_at=database_now(connection) - 2 * HEARTBEAT_TTL)
        )
    taken = claim(store, store.now(), 10, worker="me")
    assert len(taken) == 2  # the quiet holder's two, not the beating one's


def test_a_lock_held_by_a_stalled_instance_is_waited_for_only_briefly(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's busy timeout bounds its waits already")
    first, second = (
        store.open_store(tmp_path, database_url),
        store.open_store(tmp_path, database_url),
    )
    assert lease.acquire(first, "a", first.now())
    stalled = first.engine.connect()
    stalled.begin()
    stalled.execute(sa.select(lease.LEASE_TABLE).with_for_update())  # then paused
    # Without a lock timeout the next acquire waits until this lets go.
    threading.Timer(30, stalled.close).start()
    with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
        lease.acquire(second, "b", second.now() + timedelta(minutes=5))
    stalled.close()
    first.close(), second.close()


def _daemon(root: Path, database_url: str, clock: Clock) -> Daemon:
    loaded = load_site(root, clock().date())
    state = store.open_store(root, database_url)
    return Daemon.start(loaded, state, transport_for, clock, lease_clock=state.now)


def test_a_woken_old_leader_cannot_record_an_occurrence_as_missed(
    database_url: str, tmp_path: Path
) -> None:
    root = write_site(tmp_path / "site", last_day=datetime(2026, 11, 22).date())
    clock = Clock(at("2026-11-23T07:00"))
    old, new = _daemon(root, database_url, clock), _daemon(root, database_url, clock)
    new.holder = "another-instance"
    asyncio.run(old.step(at("2026-11-23T07:00")))  # leads; then SIGSTOPped
    asyncio.run(new.step(at("2026-11-23T07:05")))  # the lease expired: takes over
    assert old.leading and new.leading
    occurrence = next(
        o
        for o in calendar.occurrences_between(
            old.site, at("2026-11-23T07:00"), at("2026-11-24T00:00")
        )
        if o.schedule.id == "daily"
    )
    old._record_missed([occurrence], at("2026-11-23T07:01"))  # woken, in the middle of a step
    runs = store.recent_runs(old.service.store)
    assert [r for r in runs if r.outcome == "missed"] == []
    assert alerts(root) == []


def test_a_clock_12_hours_ahead_does_not_send_tomorrows_email_now(
    database_url: str, tmp_path: Path
) -> None:
    real = datetime.now(UTC)
    probe = load_site(write_site(tmp_path / "probe"), real.date()).site
    due = next(
        o
        for o in calendar.occurrences_between(
            probe, real + timedelta(hours=1), real + timedelta(days=5)
        )
        if o.schedule.id == "daily"
    )
    root = write_site(tmp_path / "site", last_day=due.on - timedelta(days=1))
    clock = Clock(due.due + timedelta(seconds=2))  # this instance's clock jumped ahead
    daemon = _daemon(root, database_url, clock)
    asyncio.run(Runner(daemon, clock).tick())
    assert not store.has_run(daemon.service.store, "daily", due.key)
    # Today's, due by the database's clock already when the suite runs after 07:30, may
    # go; the occurrence the jumped clock says is due may not.
    assert not list((root / "outbox").glob(f"daily_{due.on.isoformat()}_*.eml"))


def test_workers_is_a_delivery_setting(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site")
    path = root / "schedules.toml"
    path.write_text(
        path.read_text().replace('transport = "pickup"', 'transport = "pickup"\nworkers = 2')
    )
    loaded = load_site(root, TODAY)
    assert not loaded.problems
    assert delivery_workers(loaded.site) == 2


def test_a_reply_lost_after_data_is_not_resent_at_once(
    store: Store, make_messages: MakeMessages, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.handler.lose_reply_every(25)
    messages = make_messages(100)
    enqueue(store, messages, store.now())
    site = load_site(send_by_smtp(write_site(tmp_path / "site"), smtp_server.port), TODAY).site
    now = lambda: datetime.now(UTC)  # noqa: E731
    report = asyncio.run(deliver(store, transport_for(site), now, lease_clock=store.now))
    ids = smtp_server.handler.message_ids()
    assert set(ids.values()) == {1} and len(ids) == 100  # nothing sent twice straight away
    assert (report.sent, report.retrying) == (96, 4)  # the four wait for their retry


def test_a_retry_is_dated_by_the_database_clock_not_the_instances(
    store: Store, make_messages: MakeMessages, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    (message,) = make_messages(1)
    enqueue(store, [message], store.now())
    smtp_server.handler.refuse(message.recipient.email, 451)  # try again later
    site = load_site(send_by_smtp(write_site(tmp_path / "site"), smtp_server.port), TODAY).site
    behind = lambda: datetime.now(UTC) - timedelta(hours=2)  # noqa: E731
    before = store.now()
    report = asyncio.run(deliver(store, transport_for(site), behind, lease_clock=store.now))
    assert report.retrying == 1
    with store.transaction() as connection:
        next_at = connection.execute(sa.select(store_module.DELIVERY.c.next_attempt_at)).scalar_one()
    # Backoff from the database's now: had it been from the instance's (two hours
    # behind), the retry would be due at once and go again in a loop.
    assert next_at > before


def test_a_run_whose_process_fell_silent_is_recorded_interrupted_not_running(
    store: Store,
) -> None:
    from digest.delivery.heartbeat import interrupt_dead_runs

    quiet = store_module.start_run(store, "tracker", "2026-11-12", store.now())
    live = store_module.start_run(store, "daily", "2026-11-23", store.now())
    with store.transaction() as connection:
        run = store_module.RUN
        connection.execute(run.update().where(run.c.id == quiet).values(holder="quiet@elsewhere/1"))
        connection.execute(run.update().where(run.c.id == live).values(holder="beating@elsewhere/2"))
    beat(store, "quiet@elsewhere/1")
    beat(store, "beating@elsewhere/2")
    with store.transaction() as connection:
        connection.execute(
            HEARTBEAT_TABLE.update()
            .where(HEARTBEAT_TABLE.c.holder == "quiet@elsewhere/1")
            .values(alive_at=database_now(connection) - 2 * HEARTBEAT_TTL)
        )
    assert interrupt_dead_runs(store, store.now()) == 1
    outcomes = {r.id: r.outcome for r in store_module.recent_runs(store)}
    assert outcomes == {quiet: "interrupted", live: "running"}
    # interrupted is not finished: the scheduler runs the occurrence again
    assert not store_module.has_run(store, "tracker", "2026-11-12", finished=True)
