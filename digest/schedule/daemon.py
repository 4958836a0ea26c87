"""The daemon: fires each occurrence on time, catches up after downtime, reloads edits.

The calendar says what is due; APScheduler only wakes the daemon at those
instants (one job per schedule, in a memory job store) and every few seconds
for housekeeping. Whether an occurrence is done is read from the run table, so
a restart, a stall or two instances never skip or double one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy.exc import SQLAlchemyError

from digest import calendar
from digest.delivery import retention, store
from digest.delivery.service import Service
from digest.delivery.site import load_site
from digest.delivery.store import Store
from digest.delivery.transports import Transport
from digest.email.prepare import missing_data
from digest.email.render import read_templates
from digest.email.trial import TEMPLATE_DIR, site_problems
from digest.email.words import format_date, schedule_title
from digest.errors import ConfigError, Problem, RunBroken
from digest.model import Alert, Clock, Occurrence, Site
from digest.schedule import lease
from digest.site.load import LoadedSite
from digest.site.retention import read_retention
from digest.site.watch import Fingerprint, fingerprint

log = logging.getLogger("digest")
LOOKBACK = timedelta(days=7)  # how far back a restart looks for missed occurrences
SIGN_OFF_AHEAD = timedelta(days=7)  # how early an occurrence needing sign-off is prepared
HOUSEKEEPING_SECONDS = 5.0
ALERT_AGAIN = timedelta(days=1)  # a problem still there a day later is alerted again
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
    # (schedule, key) that could not be composed: the site state and time of the last try
    broken: dict[tuple[str, str], tuple[Fingerprint, datetime]] = field(default_factory=dict)
    bad_since: datetime | None = None  # when the refused edit was last alerted

    @classmethod
    def start(cls, loaded: LoadedSite, state: Store, transport: Callable[[Site], Transport],
              clock: Clock, lease_clock: Clock | None = None) -> Daemon:  # fmt: skip
        """A daemon for a site that loaded cleanly; `lease_clock`: see Service."""
        # The templates as checked at the start: a later edit is taken up only once checked.
        loaded = replace(loaded, templates=read_templates(loaded.site.root / TEMPLATE_DIR))
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
            # Each part on its own: whatever one of them meets, what waits is still sent.
            for part in (self.run_due, self.prepare_sign_off, self._retain):
                try:
                    await part(now)
                except Exception as exc:
                    _log_failure(f"{part.__name__.strip('_')} failed; the rest of the step goes on", exc)
        await self.service.deliver()

    async def _retain(self, now: datetime) -> None:
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
            if self._still_broken(occurrence, now):
                continue
            if late <= occurrence.schedule.catch_up or self._may_wait(occurrence, now):
                try:
                    await self._run(occurrence, late)
                except RunBroken as broken:
                    self._broken(occurrence, broken, now)
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

    def _still_broken(self, occurrence: Occurrence, now: datetime) -> bool:
        """A broken occurrence is tried again after an edit, or a day after its last try."""
        tried = self.broken.get((occurrence.schedule.id, occurrence.key))
        return tried is not None and tried[0] == self.seen and now - tried[1] < ALERT_AGAIN

    def _broken(self, occurrence: Occurrence, broken: RunBroken, now: datetime) -> None:
        """One schedule that cannot be composed blocks only itself; the team is told,
        and told again if it is still broken a day later."""
        self.broken[occurrence.schedule.id, occurrence.key] = (self.seen, now)
        day = now.astimezone(calendar.site_timezone(self.site.settings)).date()
        self.service.alert(Alert(
            key=Alert.key_for("broken", f"{occurrence.schedule.id}/{occurrence.key}/{broken.problem}/{day}"),
            title=f"{schedule_title(occurrence.schedule.id)} of {format_date(occurrence.on)} "
                  "could not be composed: nothing of it was sent",
            details=(str(broken.problem),),
            action="Correct the file at the line named and save it: digest tries again at once. "
                   "Every other schedule goes on as usual.",
        ))  # fmt: skip

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
        if current == self.seen and not self._alert_again(now):
            return False
        self.seen = current
        try:
            problems = self._try_load(now)
        except (RecursionError, ValueError, OSError, LookupError) as exc:  # a reader's gap:
            # still an edit refused and alerted, never a step lost to it
            log.exception("reading the edited site failed")
            problems = [Problem(".", 1, f"the site could not be read ({type(exc).__name__}: "
                                f"{exc}): 'digest check' names the file")]  # fmt: skip
        if problems:
            self._refuse(problems, now)
            return False
        self.bad_config = self.bad_since = None
        log.info("reloaded %s: %d schedules, %d publications", self.site.root,
                 len(self.site.schedules), len(self.site.publications))  # fmt: skip
        return True

    def _try_load(self, now: datetime) -> list[Problem]:
        zone = calendar.site_timezone(self.site.settings)
        try:
            loaded = load_site(self.site.root, now.astimezone(zone).date())
        except ConfigError as exc:
            return exc.problems
        # Read first: what is checked next is what will be rendered (site_problems names
        # a template that cannot be read).
        with contextlib.suppress(OSError, UnicodeDecodeError):
            loaded = replace(loaded, templates=read_templates(self.site.root / TEMPLATE_DIR))
        problems = site_problems(loaded, now.astimezone(zone).date())
        if problems:
            return problems
        for schedule in loaded.site.schedules:
            self.since.setdefault(schedule.id, now)  # a new schedule misses nothing before it
        self.service.loaded = loaded
        return []

    def _alert_again(self, now: datetime) -> bool:
        return self.bad_since is not None and now - self.bad_since >= ALERT_AGAIN

    def _refuse(self, problems: list[Problem], now: datetime) -> None:
        text = "\n".join(str(p) for p in problems)
        if text == self.bad_config and not self._alert_again(now):
            return
        self.bad_config, self.bad_since = text, now
        log.error("reload refused, keeping the last good configuration: %s", problems[0])
        self.service.alert(Alert(
            key=Alert.key_for("config", f"{text}/{now.isoformat()}"),  # each time it breaks
            title="An edit to the site was not taken up: the last good configuration is still running",
            details=tuple(str(p) for p in problems[:50]),
            action="Correct each file at the line named and save it: digest takes it up at once. "
                   "'digest check' lists every problem.",
        ))  # fmt: skip


def _log_failure(what: str, exc: Exception) -> None:
    """A store that does not answer in one line (never its SQL, parameters or row
    detail); anything else with its traceback, for the bug report."""
    if isinstance(exc, SQLAlchemyError):
        log.error("%s: the state store did not answer (%s)", what, store.said(exc, named=True))
    else:
        log.exception(what)


def _missed_run(occurrence: Occurrence, now: datetime) -> dict[str, object]:
    return {
        "schedule_id": occurrence.schedule.id, "occurrence_key": occurrence.key,
        "started_at": now, "finished_at": now, "outcome": "missed",
        "added": 0, "already": 0, "sent": 0, "failed": 0,
        "detail": f"not sent: more than {occurrence.schedule.catch_up} late",
    }  # fmt: skip


class Runner:
    """Drives a Daemon in real time until stopped.

    The daemon's own loop takes every step; APScheduler only wakes it early, at the
    instants the calendar names. A stop therefore never cancels a step: the step in
    hand finishes its message, puts the rest of its claims back, and the loop ends.
    """

    def __init__(self, daemon: Daemon, clock: Clock) -> None:
        self.daemon = daemon
        self.clock = clock
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.jobs_for: Site | None = None

    async def tick(self) -> None:
        """One step, under one lock: reload, run what is due, deliver."""
        async with self.lock:
            try:
                # Running for real, the database's clock says what is due: an instance
                # whose clock jumped ahead must not send (and use up) tomorrow's email.
                service = self.daemon.service
                now = service.lease_now() if service.lease_clock else self.clock()
                await self.daemon.step(now)
            except Exception as exc:  # keep serving: one bad step must not stop the daemon
                _log_failure(f"step failed; trying again in {HOUSEKEEPING_SECONDS:.0f} seconds", exc)
        if self.jobs_for is not self.daemon.site:
            self.schedule_jobs()

    async def _wake(self) -> None:
        self.wake.set()  # instant: the job never overlaps itself, nor is cut short

    def schedule_jobs(self) -> None:
        """One wake-up per schedule, at the calendar's instants; rebuilt on every reload."""
        site = self.daemon.site
        for job in self.scheduler.get_jobs():
            job.remove()
        for schedule in site.schedules:
            self.scheduler.add_job(self._wake, OccurrenceTrigger(site, schedule.id), id=schedule.id,
                                   misfire_grace_time=None, coalesce=True)  # fmt: skip
        self.jobs_for = site

    async def serve(self, stop: asyncio.Event) -> None:
        self.daemon.service.stop = stop
        self.schedule_jobs()
        self.scheduler.start()
        log.info("running %s: %d schedules; next: %s", self.daemon.site.root,
                 len(self.daemon.site.schedules), self.next_due())  # fmt: skip
        relay = asyncio.create_task(self._relay(stop))
        try:
            while not stop.is_set():
                self.wake.clear()
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), HOUSEKEEPING_SECONDS)
        finally:
            relay.cancel()
            self.scheduler.shutdown(wait=False)
            lease.release(self.daemon.service.store, self.daemon.holder)
        log.info("stopped")

    async def _relay(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.wake.set()

    def next_due(self) -> str:
        times = [
            j.next_run_time
            for j in self.scheduler.get_jobs()
            if j.next_run_time
        ]
        return min(times).isoformat(timespec="minutes") if times else "nothing scheduled"
