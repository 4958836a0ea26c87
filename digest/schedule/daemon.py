"""The daemon: fires each occurrence on time, catches up after downtime, reloads edits.

The calendar says what is due; APScheduler only wakes the daemon at those
instants (one job per schedule, in a memory job store) and every few seconds
for housekeeping. Whether an occurrence is done is read from the run table, so
a restart, a stall or two instances never skip or double one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from digest import calendar
from digest.delivery import retention, store
from digest.delivery.service import Service
from digest.delivery.site import load_site
from digest.delivery.store import Store
from digest.delivery.transports import Transport
from digest.email.prepare import missing_data
from digest.email.trial import site_problems
from digest.errors import ConfigError, Problem
from digest.model import Alert, Clock, Occurrence, Site
from digest.schedule import lease
from digest.site.load import LoadedSite
from digest.site.retention import read_retention
from digest.site.watch import Fingerprint, fingerprint

log = logging.getLogger("digest")
LOOKBACK = timedelta(days=7)  # how far back a restart looks for missed occurrences
SIGN_OFF_AHEAD = timedelta(days=7)  # how early an occurrence needing sign-off is prepared
HOUSEKEEPING_SECONDS = 5.0
SEARCH_WINDOWS = (timedelta(days=2), timedelta(days=40), timedelta(days=400))


class OccurrenceTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger that asks the calendar when one schedule is next due."""

    def __init__(self, site: Site, schedule_id: str) -> None:
        schedule = site.schedule(schedule_id)
        self.site = replace(site, schedules=(schedule,) if schedule else ())

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        start = max(now, previous + timedelta(microseconds=1)) if previous else now
        for window in SEARCH_WINDOWS:
            found = calendar.occurrences_between(self.site, start, start + window)
            if found:
                return found[0].due
        return None

    def __str__(self) -> str:
        return f"calendar[{', '.join(s.id for s in self.site.schedules)}]"


@dataclass
class Daemon:
    """The scheduler's decisions, one `step(now)` at a time; `serve` drives it in real time."""

    service: Service
    holder: str = field(default_factory=store.worker_id)  # random per process
    token: int = 0  # the lease's fencing token while this daemon leads
    seen: Fingerprint = ()
    since: dict[str, datetime] = field(default_factory=dict)
    waited: set[tuple[str, str]] = field(
        default_factory=set
    )  # (schedule, key) that waited for data
    bad_config: str | None = None
    leading: bool = False
    # (schedule, key, site state) already prepared for sign-off
    prepared: set[tuple[str, str, Fingerprint]] = field(default_factory=set)

    @classmethod
    def start(cls, loaded: LoadedSite, state: Store, transport: Callable[[Site], Transport],
              clock: Clock, lease_clock: Clock | None = None) -> Daemon:  # fmt: skip
        """A daemon for a site that loaded cleanly; `lease_clock`: see Service."""
        service = Service(loaded, state, transport, clock, lease_clock=lease_clock)
        daemon = cls(service, seen=fingerprint(loaded.site.root))
        return daemon

    @property
    def site(self) -> Site:
        return self.service.site

    async def step(self, now: datetime) -> None:
        """Reload edits, run what is due (or record what was missed), send what waits."""
        self.reload(now)
        if self._lead(now):
            await self.run_due(now)
            await self.prepare_sign_off(now)
            self._retain(now)
        await self.service.deliver()

    def _retain(self, now: datetime) -> None:
        """[retention], once a day (sign-off and retention: digest.delivery.retention)."""
        if not retention.purged_today(self.service.store, now):
            retention.purge(self.service.store, read_retention(self.site.root)[0], now)

    def _lead(self, now: datetime) -> bool:
        # Read before acquiring: taking the lease marks the leader alive now.
        alive = None if self.leading else lease.last_alive(self.service.store)
        leading = lease.acquire(self.service.store, self.holder, now)
        if leading:
            self.token = lease.token(self.service.store)
        if leading != self.leading:
            log.info(
                "leader: %s",
                "this instance leads the scheduler" if leading else "another instance leads",
            )
            if leading:
                self._since_last_alive(alive, now)
        self.leading = leading
        return leading

    def _since_last_alive(self, alive: datetime | None, now: datetime) -> None:
        """Schedules are judged for misses from when a leader was last alive (or from now)."""
        start = now if alive is None or alive >= now else alive
        for schedule in self.site.schedules:
            self.since.setdefault(schedule.id, start)

    async def run_due(self, now: datetime) -> None:
        """Every occurrence due by `now` and not done: run it, or record it as missed."""
        missed: list[Occurrence] = []
        for occurrence in calendar.occurrences_between(
            self.site, now - LOOKBACK, now + timedelta(seconds=1)
        ):
            if occurrence.due > now or self._done(occurrence):
                continue
            late = now - occurrence.due
            if late <= occurrence.schedule.catch_up or self._may_wait(occurrence, now):
                await self._run(occurrence, late)
            elif occurrence.due > self.since.get(occurrence.schedule.id, now):
                missed.append(occurrence)
        if missed:
            self._record_missed(missed, now)

    async def prepare_sign_off(self, now: datetime) -> None:
        """Occurrences that need sign-off in the next SIGN_OFF_AHEAD: rendered once for
        each state of the site, and their approvers told when they are ready."""
        for occurrence in calendar.occurrences_between(self.site, now, now + SIGN_OFF_AHEAD):
            if not occurrence.schedule.sign_off or occurrence.due <= now:
                continue
            key = (occurrence.schedule.id, occurrence.key, self.seen)
            if key in self.prepared:
                continue
            self.prepared.add(key)
            await self.service.ready_for_sign_off(occurrence)

    def _may_wait(self, occurrence: Occurrence, now: datetime) -> bool:
        # A publication's digest that waits for its data is tried on each tick until
        # they arrive or its wait ends, however long after its own time that is.
        # Only one that waited (or waits now): one merely missed in downtime stays missed.
        if occurrence.publication is None:
            return False
        ends = calendar.data_wait_ends(occurrence, self.site.settings)
        if now > ends + occurrence.schedule.catch_up:
            return False
        key = (occurrence.schedule.id, occurrence.key)
        return key in self.waited or bool(missing_data(self.service.loaded, occurrence.publication))

    def _done(self, occurrence: Occurrence) -> bool:
        schedule_id, key = occurrence.schedule.id, occurrence.key
        return store.has_run(self.service.store, schedule_id, key, finished=True)

    async def _run(self, occurrence: Occurrence, late: timedelta) -> None:
        what = "caught up" if late > timedelta(minutes=1) else "fired"
        log.info("%s %s %s (due %s)", what, occurrence.schedule.id, occurrence.key,
                 occurrence.due.isoformat(timespec="minutes"))  # fmt: skip
        outcome = await self.service.run(occurrence)
        if outcome.waiting:
            self.waited.add((occurrence.schedule.id, occurrence.key))

    def _record_missed(self, missed: list[Occurrence], now: datetime) -> None:
        # Fenced: a leader that slept past its lease (and whose successor may have sent
        # these meanwhile) must not call them missed, nor alert about them.
        with lease.fenced(self.service.store, self.holder, self.token, now) as connection:
            if connection is None:
                log.warning("no longer the leader: not recording %d missed email(s)", len(missed))
                return
            connection.execute(store.RUN.insert(), [_missed_run(o, now) for o in missed])
        keys = ",".join(f"{o.schedule.id}/{o.key}" for o in missed)
        lines = tuple(
            f"{o.schedule.id} due {o.due.isoformat(timespec='minutes')}: not sent, "
            f"more than {o.schedule.catch_up} late ('digest send {o.schedule.id} --on {o.on}' sends it now)"
            for o in missed
        )
        self.service.alert(Alert(
            key=Alert.key_for("missed", keys),
            title=f"{len(missed)} scheduled email(s) missed while digest was not running",
            details=lines,
            action="Send each one now if it is still worth sending, with the command named; "
                   "then find out why digest stopped (its service log).",
        ))  # fmt: skip

    def reload(self, now: datetime) -> bool:
        """Pick up edited site files; a broken edit keeps the last good site and alerts once."""
        current = fingerprint(self.site.root)
        if current == self.seen:
            return False
        self.seen = current
        problems = self._try_load(now)
        if problems:
            self._refuse(problems)
            return False
        self.bad_config = None
        log.info("reloaded %s: %d schedules, %d publications", self.site.root,
                 len(self.site.schedules), len(self.site.publications))  # fmt: skip
        return True

    def _try_load(self, now: datetime) -> list[Problem]:
        zone = calendar.site_timezone(self.site.settings)
        try:
            loaded = load_site(self.site.root, now.astimezone(zone).date())
        except ConfigError as exc:
            return exc.problems
        problems = site_problems(loaded, now.astimezone(zone).date())
        if problems:
            return problems
        for schedule in loaded.site.schedules:
            self.since.setdefault(schedule.id, now)  # a new schedule misses nothing before it
        self.service.loaded = loaded
        return []

    def _refuse(self, problems: list[Problem]) -> None:
        text = "\n".join(str(p) for p in problems)
        if text == self.bad_config:
            return
        self.bad_config = text
        log.error("reload refused, keeping the last good configuration: %s", problems[0])
        self.service.alert(Alert(
            key=Alert.key_for("config", text),
            title="An edit to the site was not taken up: the last good configuration is still running",
            details=tuple(str(p) for p in problems[:50]),
            action="Correct each file at the line named and save it: digest takes it up at once. "
                   "'digest check' lists every problem.",
        ))  # fmt: skip


def _missed_run(occurrence: Occurrence, now: datetime) -> dict[str, object]:
    return {
        "schedule_id": occurrence.schedule.id, "occurrence_key": occurrence.key,
        "started_at": now, "finished_at": now, "outcome": "missed",
        "added": 0, "already": 0, "sent": 0, "failed": 0,
        "detail": f"not sent: more than {occurrence.schedule.catch_up} late",
    }  # fmt: skip


class Runner:
    """Drives a Daemon with APScheduler until stopped."""

    def __init__(self, daemon: Daemon, clock: Clock) -> None:
        self.daemon = daemon
        self.clock = clock
        self.lock = asyncio.Lock()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.jobs_for: Site | None = None

    async def tick(self) -> None:
        """Housekeeping and firing share one lock: one step at a time."""
        async with self.lock:
            try:
                # Running for real, the database's clock says what is due: an instance
                # whose clock jumped ahead must not send (and use up) tomorrow's email.
                service = self.daemon.service
                now = service.lease_now() if service.lease_clock else self.clock()
                await self.daemon.step(now)
            except Exception:  # keep serving: one bad step must not stop the daemon
                log.exception("step failed; trying again in %.0f seconds", HOUSEKEEPING_SECONDS)
        if self.jobs_for is not self.daemon.site:
            self.schedule_jobs()

    def schedule_jobs(self) -> None:
        """One job per schedule, woken by the calendar; rebuilt on every reload."""
        site = self.daemon.site
        for job in self.scheduler.get_jobs():
            if job.id != "housekeeping":
                job.remove()
        for schedule in site.schedules:
            self.scheduler.add_job(self.tick, OccurrenceTrigger(site, schedule.id), id=schedule.id,
                                   misfire_grace_time=None, coalesce=True, max_instances=1)  # fmt: skip
        self.jobs_for = site

    async def serve(self, stop: asyncio.Event, timezone: tzinfo | None = None) -> None:
        self.daemon.service.stop = stop
        self.scheduler.add_job(self.tick, "interval", seconds=HOUSEKEEPING_SECONDS, id="housekeeping",
                               next_run_time=datetime.now(tz=timezone), coalesce=True, max_instances=1)  # fmt: skip
        self.schedule_jobs()
        self.scheduler.start()
        log.info("running %s: %d schedules; next: %s", self.daemon.site.root,
                 len(self.daemon.site.schedules), self.next_due())  # fmt: skip
        await stop.wait()
        self.scheduler.shutdown(wait=False)
        async with self.lock:  # the step in hand finishes its message first
            lease.release(self.daemon.service.store, self.daemon.holder)
        log.info("stopped")

    def next_due(self) -> str:
        times = [
            j.next_run_time
            for j in self.scheduler.get_jobs()
            if j.id != "housekeeping" and j.next_run_time
        ]
        return min(times).isoformat(timespec="minutes") if times else "nothing scheduled"
