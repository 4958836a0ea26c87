"""Runs one occurrence end to end: compose, enqueue, deliver, and alert on trouble.

`digest send`, `digest retry` and the scheduler all come through here, so an
occurrence behaves the same however it was started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from digest.delivery import answers, heartbeat, identity, outbox, signoff, store
from digest.delivery.shown import last_sent
from digest.delivery.store import Store
from digest.delivery.transports import Transport
from digest.delivery.worker import DeliveryReport, Progress, combined, deliver
from digest.email.prepare import (
    alert_occurrence,
    batch_for,
    stale_shown,
    statuses_for,
    waiting_for_data,
)
from digest.email.render import Batch
from digest.email.trial import located
from digest.email.words import (
    count_phrase,
    format_date,
    format_month,
    schedule_title,
    scorecard_title,
)
from digest.errors import RunBroken
from digest.model import Alert, Clock, MeasureStatus, Occurrence, OutgoingMessage, Site
from digest.site.load import LoadedSite

log = logging.getLogger("digest")


@dataclass(frozen=True)
class RunOutcome:
    """What running one occurrence did."""

    schedule_id: str
    occurrence_key: str
    added: int
    already: int
    skipped: tuple[str, ...]
    delivery: DeliveryReport
    alerts: tuple[str, ...] = ()
    held: str | None = None  # the content hash awaiting sign-off, when held
    waiting: tuple[str, ...] = ()  # measures the publication's period has no data for yet

    @property
    def nothing_new(self) -> bool:
        return self.added == 0 and self.already > 0


@dataclass
class Service:
    """What a run needs: the site as last loaded, the store, a transport maker and a clock."""

    loaded: LoadedSite
    store: Store
    transport: Callable[[Site], Transport]
    clock: Clock
    progress: Progress | None = None
    stop: asyncio.Event | None = None  # set: finish the message in hand, then return
    raised: list[str] = field(default_factory=list)
    transport_error: str | None = None
    # Dates claims and leases: the database's clock when digest runs for real, so that
    # instances whose clocks disagree agree on whose claim has expired. None: `clock`.
    lease_clock: Clock | None = None
    workers: int = 1  # connections to the mail server, each claiming its own batches
    marked: bool = False  # the site's marker names this store (or was tried once)

    def lease_now(self) -> datetime:
        return (self.lease_clock or self.clock)()

    @property
    def site(self) -> Site:
        return self.loaded.site

    async def run(self, occurrence: Occurrence) -> RunOutcome:
        """Enqueue an occurrence's messages (new keys only) and deliver all that is due;
        a publication whose period's data are not all loaded waits (no run is recorded,
        so the scheduler tries again), and the team is told once."""
        schedule = occurrence.schedule
        missing = waiting_for_data(self.loaded, occurrence, self.clock())
        if missing:
            waiting = self._wait(occurrence, [m.id for m in missing])
            await self.deliver()  # the alert
            return waiting
        run_id = store.start_run(self.store, schedule.id, occurrence.key, self.clock())
        try:
            return await self._compose_and_send(occurrence, run_id)
        except (SQLAlchemyError, OSError):
            raise  # the store or the system: not this occurrence's fault
        except Exception as exc:  # a template or data the checks let through: this one alone
            problem = located(self.site.root, schedule.digest, exc)
            store.finish_run(self.store, run_id, self.clock(), "broken", detail=str(problem))
            log.error("%s %s could not be composed: %s", schedule.id, occurrence.key, problem)
            raise RunBroken(problem) from exc

    async def _compose_and_send(self, occurrence: Occurrence, run_id: int) -> RunOutcome:
        schedule = occurrence.schedule
        loaded = answers.with_answers(self.loaded, self.store)  # requests and themes from the web
        statuses = statuses_for(loaded, occurrence.on)  # once: for the messages and the check
        batch = batch_for(loaded, occurrence, statuses=statuses,
                          last_sent=last_sent(self.store, occurrence))  # fmt: skip
        messages: Iterable[OutgoingMessage] = _outgoing(batch)
        if schedule.sign_off:  # fixed figures: rendered once, approved or held as a whole
            messages = list(messages)
            if held := self._held(occurrence, messages):
                return await self._record_held(run_id, occurrence, held)
        sent_before = store.counts(self.store, schedule.id, occurrence.key).get("sent", 0)
        result = outbox.enqueue(self.store, messages, self.clock())
        skipped = tuple(str(p) for p in batch.problems)
        stale = stale_shown(occurrence, statuses)
        alerts = list(self._occurrence_alerts(occurrence, skipped, stale))
        report = await self.deliver()
        mine = store.counts(self.store, schedule.id, occurrence.key)
        outcome = _outcome(result, mine, sent_before)
        store.finish_run(
            self.store, run_id, self.clock(), outcome, added=result.added,
            already=result.already, sent=mine.get("sent", 0), failed=mine.get("failed", 0),
            detail="; ".join(skipped) or report.transport_error,
        )  # fmt: skip
        log.info("sent %s %s: %d new, %d already recorded, %s", schedule.id, occurrence.key,
                 result.added, result.already, _counts_words(mine))  # fmt: skip
        return RunOutcome(schedule.id, occurrence.key, result.added, result.already, skipped,
                          report, tuple(alerts))  # fmt: skip

    def _wait(self, occurrence: Occurrence, missing: list[str]) -> RunOutcome:
        publication = occurrence.publication
        assert publication is not None  # only publication-triggered occurrences wait
        title = (f"{schedule_title(occurrence.schedule.id)} is waiting: "
                 f"{count_phrase(len(missing), scorecard_title(publication.scorecard) + ' figure')} for "
                 f"{format_month(publication.period_end)} not loaded yet")  # fmt: skip
        alert = self.alert(Alert(
            key=f"waiting:{occurrence.schedule.id}:{occurrence.key}", title=title,
            details=(f"{occurrence.schedule.id} waits for them, and goes without them "
                     f"after {occurrence.schedule.wait_for_data}", *missing),
            action="Load these measures' figures for the period: the email goes as soon as "
                   "they arrive.",
        ))  # fmt: skip
        log.info("%s %s waits for data: %s", occurrence.schedule.id, occurrence.key, title)
        return RunOutcome(occurrence.schedule.id, occurrence.key, 0, 0, (), DeliveryReport(),
                          (alert,), waiting=tuple(missing))  # fmt: skip

    async def deliver(self) -> DeliveryReport:
        """Send everything due; failures that are final raise one alert per pass."""
        outbox.recover_abandoned(self.store, self.clock())
        heartbeat.interrupt_dead_runs(self.store, self.lease_now())
        if not outbox.anything_due(self.store, self.lease_now()):
            return DeliveryReport()
        report = await self._deliver(self.progress)
        if report.sent and not self.marked:  # from now on, losing this store is noticed
            self.marked = True
            identity.mark_sent(self.site.root, self.store, self.clock())
        if report.failed:
            self.alert(_failure_alert(report.failed))
            await self._deliver(None)
        if report.transport_error != self.transport_error:  # say it once, not every pass
            self.transport_error = report.transport_error
            if report.transport_error:
                log.error("delivery paused: %s", report.transport_error)
                store.record_transport(self.store, report.transport_error, self.clock())
            else:
                log.info("delivery resumed")
        if report.sent and not report.transport_error and store.transport_problem(self.store):
            store.record_transport(self.store, None, self.clock())  # for status: it works again
        return report

    async def _deliver(self, progress: Progress | None) -> DeliveryReport:
        """`workers` loops at once, each with its own connection and claims."""
        reports = await asyncio.gather(*(
            deliver(self.store, self.transport(self.site), self.clock, progress=progress,
                    stop=self.stop, lease_clock=self.lease_clock)
            for _ in range(max(self.workers, 1))
        ))  # fmt: skip
        return combined(reports)

    async def ready_for_sign_off(self, occurrence: Occurrence) -> str | None:
        """Prepare an occurrence that needs sign-off before its time: render it, and tell
        its approvers it is ready, once for each content (a data change tells them again).
        Returns the alert's title when one was queued."""
        if not occurrence.schedule.sign_off or waiting_for_data(self.loaded, occurrence, self.clock()):
            return None
        if any(store.counts(self.store, occurrence.schedule.id, occurrence.key).values()):
            return None  # approved and queued already
        loaded = answers.with_answers(self.loaded, self.store)
        batch = batch_for(loaded, occurrence, last_sent=last_sent(self.store, occurrence))
        digest_hash = signoff.content_hash(list(_outgoing(batch)))
        if signoff.is_approved(self.store, occurrence, digest_hash):
            return None
        alert = signoff.ready_alert(occurrence, digest_hash)
        if not self._tell_approvers(occurrence, alert, also=()):
            return None
        log.info("ready for sign-off: %s", alert.title)
        await self.deliver()
        return alert.title

    def _held(self, occurrence: Occurrence, messages: Sequence[OutgoingMessage]) -> str | None:
        """The content hash when this content is not approved and nothing was queued yet."""
        digest_hash = signoff.content_hash(messages)
        if signoff.is_approved(self.store, occurrence, digest_hash):
            return None
        if any(store.counts(self.store, occurrence.schedule.id, occurrence.key).values()):
            return None  # approved and queued before: the queued messages stand
        return digest_hash

    async def _record_held(
        self, run_id: int, occurrence: Occurrence, digest_hash: str
    ) -> RunOutcome:
        schedule = occurrence.schedule
        before = any(d.action == signoff.APPROVED
                     for d in signoff.decisions(self.store, schedule.id, occurrence.key))  # fmt: skip
        alert = signoff.held_alert(occurrence, digest_hash, before)
        if self._tell_approvers(occurrence, alert, also=self.site.settings.alerts_to):
            log.warning("held: %s", alert.title)
            self.raised.append(alert.title)
        await_line = f"awaiting sign-off ({signoff.approve_command(occurrence)})"
        store.finish_run(self.store, run_id, self.clock(), "held", detail=await_line)
        log.info("held %s %s: %s", schedule.id, occurrence.key, await_line)
        report = await self.deliver()  # the notice goes now
        return RunOutcome(schedule.id, occurrence.key, 0, 0, (), report,
                          (alert.title,), held=digest_hash)  # fmt: skip

    def _tell_approvers(self, occurrence: Occurrence, alert: Alert, also: tuple[str, ...]) -> bool:
        """Queue a sign-off notice to the occurrence's approvers (and `also`); False when
        the same notice was queued before."""
        audience = signoff.approvers_schedule(occurrence.schedule, also)
        told = alert_occurrence(self.site, alert, self.clock())
        told = Occurrence(schedule=audience, key=told.key, due=told.due, on=told.on)
        result = outbox.enqueue(self.store, _outgoing(batch_for(self.loaded, told, alert=alert)),
                                self.clock())  # fmt: skip
        return result.added > 0

    def _occurrence_alerts(
        self, occurrence: Occurrence, skipped: Sequence[str], stale: Sequence[MeasureStatus]
    ) -> Iterator[str]:
        schedule = occurrence.schedule
        if skipped:
            yield self.alert(Alert(
                key=f"skipped:{schedule.id}:{occurrence.key}",
                title=f"{schedule_title(schedule.id)}, {_when(occurrence)}: "
                      f"{count_phrase(len(skipped), 'recipient')} not sent to",
                details=tuple(skipped),
                action="Correct each entry in recipients.toml, run 'digest check', then "
                       f"'digest send {schedule.id} --on {occurrence.on}' sends to them alone.",
            ))  # fmt: skip
        if stale:
            yield self.alert(Alert(
                key=f"stale:{schedule.id}:{occurrence.key}",
                title=f"{schedule_title(schedule.id)}, {_when(occurrence)}: "
                      f"{count_phrase(len(stale), 'figure')} not loaded yet",
                details=tuple(_stale_line(s) for s in stale),
                action="The email went with the latest figures it had, each marked not current. "
                       "Load the missing figures into the data files; the next email shows them.",
            ))  # fmt: skip

    def alert(self, alert: Alert) -> str:
        """Queue an alert for `alerts_to`; its key makes a repeat of the same alert a no-op."""
        occurrence = alert_occurrence(self.site, alert, self.clock())
        batch = batch_for(self.loaded, occurrence, alert=alert)
        result = outbox.enqueue(self.store, _outgoing(batch), self.clock())
        if result.added:
            log.warning("alert: %s", alert.title)
            self.raised.append(alert.title)
        return alert.title


def delivery_workers(site: Site) -> int:
    """`[delivery] workers`: how many connections send at once (at least one)."""
    workers = site.delivery.values.get("workers", 1)
    return workers if isinstance(workers, int) and workers > 0 else 1


def _outgoing(batch: Batch) -> Iterator[OutgoingMessage]:
    for rendered in batch:
        yield rendered.outgoing


def _failure_alert(failed: Sequence[outbox.Failure]) -> Alert:
    keys = ",".join(sorted(f.delivery_key for f in failed))
    lines = tuple(
        f"{f.recipient_id} <{f.email}>: {f.error}"
        + (" (gave up after 24 hours of retries)" if f.gave_up else "")
        for f in failed
    )
    return Alert(key=Alert.key_for("failed", keys), title=f"{len(failed)} email(s) could not be delivered",
                 details=lines, action="Correct the addresses named in recipients.toml (or the "
                 "mail server's settings); 'digest retry --failed' sends them again.")  # fmt: skip


def _when(occurrence: Occurrence) -> str:
    """ "1 December 2026", or "October 2026" for a publication's digest."""
    if occurrence.publication is not None:
        return format_month(occurrence.publication.period_end)
    return format_date(occurrence.on)


def _stale_line(status: MeasureStatus) -> str:
    latest = status.period_end.isoformat() if status.period_end else "no data at all"
    return f"{status.measure.title} ({status.measure.id}): latest figure {latest}"


def _outcome(result: outbox.EnqueueResult, counts: dict[str, int], sent_before: int) -> str:
    """`nothing-new` only when every message was sent before this run (a resumed run
    that sent the rest is `ok`)."""
    if result.added == 0 and result.already > 0 and sent_before == result.already:
        return "nothing-new"
    if counts.get("failed", 0):
        return "partial"
    if any(counts.get(s, 0) for s in ("pending", "retrying", "sending")):
        return "waiting"
    return "ok"


def _counts_words(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no deliveries"
