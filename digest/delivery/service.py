"""Runs one occurrence end to end: compose, enqueue, deliver, and alert on trouble.

`digest send`, `digest retry` and the scheduler all come through here, so an
occurrence behaves the same however it was started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from digest.delivery import answers, outbox, store
from digest.delivery.store import Store
from digest.delivery.transports import Transport
from digest.delivery.worker import DeliveryReport, Progress, deliver
from digest.email.prepare import (
    alert_occurrence,
    batch_for,
    stale_shown,
    statuses_for,
    waiting_for_data,
)
from digest.email.render import Batch
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
        loaded = answers.with_answers(self.loaded, self.store)  # requests and themes from the web
        statuses = statuses_for(loaded, occurrence.on)  # once: for the messages and the check
        batch = batch_for(loaded, occurrence, statuses=statuses)
        result = outbox.enqueue(self.store, _outgoing(batch), self.clock())
        skipped = tuple(str(p) for p in batch.problems)
        stale = stale_shown(occurrence, statuses)
        alerts = list(self._occurrence_alerts(occurrence, skipped, stale))
        report = await self.deliver()
        mine = store.counts(self.store, schedule.id, occurrence.key)
        outcome = _outcome(result, mine)
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
        title = (f"{occurrence.schedule.id} waits: {publication.scorecard} published, but the figures for "
                 f"{publication.period_end.isoformat()} of {len(missing)} measure(s) are not loaded")  # fmt: skip
        alert = self.alert(Alert(
            key=f"waiting:{occurrence.schedule.id}:{occurrence.key}", title=title,
            details=(f"{occurrence.schedule.id} waits for them, and goes without them "
                     f"after {occurrence.schedule.wait_for_data}", *missing),
        ))  # fmt: skip
        log.info("%s %s waits for data: %s", occurrence.schedule.id, occurrence.key, title)
        return RunOutcome(occurrence.schedule.id, occurrence.key, 0, 0, (), DeliveryReport(),
                          (alert,), tuple(missing))  # fmt: skip

    async def deliver(self) -> DeliveryReport:
        """Send everything due; failures that are final raise one alert per pass."""
        outbox.recover_abandoned(self.store, self.clock())
        if not outbox.anything_due(self.store, self.clock()):
            return DeliveryReport()
        report = await deliver(
            self.store,
            self.transport(self.site),
            self.clock,
            progress=self.progress,
            stop=self.stop,
        )
        if report.failed:
            self.alert(_failure_alert(report.failed))
            await deliver(self.store, self.transport(self.site), self.clock, stop=self.stop)
        if report.transport_error != self.transport_error:  # say it once, not every pass
            self.transport_error = report.transport_error
            if report.transport_error:
                log.error("delivery paused: %s", report.transport_error)
            else:
                log.info("delivery resumed")
        return report

    def _occurrence_alerts(
        self, occurrence: Occurrence, skipped: Sequence[str], stale: Sequence[MeasureStatus]
    ) -> Iterator[str]:
        schedule = occurrence.schedule
        if skipped:
            yield self.alert(Alert(
                key=f"skipped:{schedule.id}:{occurrence.key}",
                title=f"{len(skipped)} recipient(s) skipped by {schedule.id} ({occurrence.key})",
                details=tuple(skipped),
            ))  # fmt: skip
        if stale:
            yield self.alert(Alert(
                key=f"stale:{schedule.id}:{occurrence.key}",
                title=f"Stale data in {schedule.id} for {occurrence.on.isoformat()}",
                details=tuple(_stale_line(s) for s in stale),
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
                 details=lines)  # fmt: skip


def _stale_line(status: MeasureStatus) -> str:
    latest = status.period_end.isoformat() if status.period_end else "no data at all"
    return f"{status.measure.title} ({status.measure.id}): latest figure {latest}"


def _outcome(result: outbox.EnqueueResult, counts: dict[str, int]) -> str:
    if result.added == 0 and result.already > 0 and counts.get("sent", 0) == result.already:
        return "nothing-new"
    if counts.get("failed", 0):
        return "partial"
    if any(counts.get(s, 0) for s in ("pending", "retrying", "sending")):
        return "waiting"
    return "ok"


def _counts_words(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "no deliveries"
