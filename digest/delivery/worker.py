"""The delivery loop: claim what is due, send it through a transport, record each result.

Each message's result is committed on its own, so a crash resends at most one
message. A sent mark is written while the server reads the next message's
envelope (the transport's `meanwhile`), never later than that message's data:
the store's write and the server's work overlap, and still at most one message
the server took is unrecorded at any moment. A server that cannot be used stops
the loop and hands the rest of the batch back, so a wrong password never fails
thousands of messages.
A connection lost after the message's data went (ReplyLost: the server may have
taken it) is not resent at once: it waits its retry backoff like any temporary
failure, while a connection lost before the data is retried at once by the transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from digest.delivery.heartbeat import Pulse
from digest.delivery.outbox import (
    CLAIM_LEASE,
    Claimed,
    Failure,
    claim,
    record_failure,
    record_sent,
    recover_abandoned,
    release,
    renew,
)
from digest.delivery.store import FAILED, RETRYING, SENT, Store, said, worker_id
from digest.delivery.transports import Transport
from digest.errors import DeliveryError, TransportUnavailable

log = logging.getLogger("digest")
_T = TypeVar("_T")


@dataclass(frozen=True)
class DeliveryReport:
    """What one `deliver` call did."""

    sent: int = 0
    retrying: int = 0
    failed: tuple[Failure, ...] = ()
    released: int = 0
    stopped: bool = False
    transport_error: str | None = None  # the server could not be used; the rest waits
    recovered: int = 0  # left in `sending` by a process that died, and taken up again


# Seconds between tries of a write the store refused (PostgreSQL restarting, SQLite
# locked past its busy timeout): about a quarter of a minute in all, then it is left to
# the next pass, which records first what this one could not.
STORE_RETRIES = (0.5, 1.0, 2.0, 4.0, 8.0)
# What a pass could not write: deliveries the server took (and when), and claims it held.
_UNRECORDED: list[tuple[Claimed, datetime]] = []
_LEFT_CLAIMED: list[Claimed] = []

RELEASED = "released"  # given back untried: nothing could be delivered
LOST = "lost"  # sent, but another worker had taken the claim meanwhile
TAKEN = "taken"  # untried: the claim before it was found taken, so the batch is checked first
Progress = Callable[[Claimed, str], None]


@dataclass
class _Worker:
    """One `deliver` call: what it works with and what it has done so far."""

    store: Store
    transport: Transport
    now_fn: Callable[[], datetime]
    stop: asyncio.Event | None
    progress: Progress | None
    lease: timedelta
    lease_clock: Callable[[], datetime]  # claims are judged by it: the database's, for real
    sent: int = 0
    retrying: int = 0
    failed: list[Failure] = field(default_factory=list)
    released: int = 0
    transport_error: str | None = None
    recovered: int = 0
    pulse: Callable[[], None] = lambda: None
    # The message the server took last, with when, whose sent mark is not yet written.
    unrecorded: tuple[Claimed, datetime] | None = None

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def report(self) -> DeliveryReport:
        return DeliveryReport(
            self.sent, self.retrying, tuple(self.failed), self.released, self.stopping(),
            self.transport_error, self.recovered,
        )  # fmt: skip

    async def run(self, batch_size: int) -> None:
        try:
            while not self.stopping() and self.transport_error is None:
                await self.record_taken()
                self.pulse()
                batch = claim(self.store, self.lease_clock(), batch_size, lease=self.lease)
                if not batch:
                    return
                await self.run_batch(batch)
        finally:
            await self.record_taken()  # the last message, or the one before an error

    async def run_batch(self, waiting: list[Claimed]) -> None:
        while waiting:
            if self.stopping() or self.transport_error is not None:
                await self.record_taken()
                self.released += release(self.store, waiting, self.lease_clock())
                return
            self.pulse()
            now = self.lease_clock()  # the clock the claims were dated by
            if now - waiting[0].claimed_at > self.lease / 2:
                # A slow server: keep the rest of the batch ours (any already lost are dropped).
                await self.record_taken()
                waiting = renew(self.store, waiting, now)
                if not waiting:
                    return
            item = waiting.pop(0)
            try:
                state = await self.deliver_one(item)
            except SQLAlchemyError:
                _LEFT_CLAIMED.extend([item, *waiting])  # given back as soon as the store answers
                raise
            if state == TAKEN:
                # Our claims were taken (we were stopped, or our heartbeat fell silent):
                # keep only those still ours, or the whole batch would go out twice.
                waiting = renew(self.store, [item, *waiting], self.lease_clock())
            elif state != SENT and self.progress is not None:
                self.progress(item, state)  # a sent message's, once it is recorded

    async def record_taken(self) -> bool:
        """Write the sent mark of the message the server took last, if not yet written;
        False if its claim had been taken by another worker meanwhile."""
        if self.unrecorded is None:
            return True
        item, sent_at = self.unrecorded
        try:
            recorded = await self.patiently(lambda: record_sent(self.store, item, sent_at))
        except SQLAlchemyError:
            _UNRECORDED.append((item, sent_at))  # sent: recorded when the store answers
            self.unrecorded = None
            raise
        self.unrecorded = None
        if recorded:
            self.sent += 1
        if self.progress is not None:
            self.progress(item, SENT if recorded else LOST)
        return recorded

    async def patiently(self, write: Callable[[], _T]) -> _T:
        """A write to the store, tried again while the store does not answer."""
        for delay in STORE_RETRIES:
            try:
                return write()
            except OperationalError as error:
                log.warning("the state store did not answer (%s); trying again in %gs",
                            said(error), delay)  # fmt: skip
                await asyncio.sleep(delay)
        return write()

    async def deliver_one(self, item: Claimed) -> str:
        """Hand one message over; the one before it is recorded while its envelope goes."""

        async def meanwhile() -> None:
            if not await self.record_taken():
                raise _ClaimTaken

        try:
            await self.transport.send(item.message(), meanwhile=meanwhile)
        except _ClaimTaken:
            return TAKEN
        except DeliveryError as error:
            await self.record_taken()  # when the message failed before its envelope went
            if isinstance(error, TransportUnavailable):
                self.transport_error = str(error)
                # The message is not at fault: it waits, untried, for the server.
                self.released += release(self.store, [item], self.lease_clock())
                return RELEASED
            failed, at = error, self.now_fn()
            failure = await self.patiently(lambda: record_failure(
                self.store, item, at, permanent=failed.permanent, error=str(failed),
                code=failed.code,
                retry_from=self.lease_clock(),  # claims compare it with the database's clock
            ))  # fmt: skip
            if failure is None:
                self.retrying += 1
                return RETRYING
            self.failed.append(failure)
            return FAILED
        self.unrecorded = (item, self.now_fn())
        return SENT


class _ClaimTaken(Exception):
    """Raised by `meanwhile` to stop a message before its data: the claim of the one
    before it had been taken, so this batch's claims must be checked first."""


async def deliver(
    store: Store,
    transport: Transport,
    now_fn: Callable[[], datetime],
    *,
    batch_size: int = 100,
    stop: asyncio.Event | None = None,
    progress: Progress | None = None,
    lease: timedelta = CLAIM_LEASE,
    lease_clock: Callable[[], datetime] | None = None,
) -> DeliveryReport:
    """Send everything due through `transport` until nothing is left, the server
    cannot be used, or `stop` is set (the message in hand is finished first).
    `lease_clock` (default `now_fn`) dates the claims and judges whose have expired."""
    worker = _Worker(store, transport, now_fn, stop, progress, lease, lease_clock or now_fn)
    try:
        await transport.open()
    except DeliveryError as error:
        worker.transport_error = str(error)
        return worker.report()
    try:
        with store.pinned() as held:
            worker.store = held
            if lease_clock is not None:  # running for real: say we are alive while we send
                worker.pulse = Pulse(held, worker_id())
            _record_left_over(held, lease_clock or now_fn)
            worker.recovered = recover_abandoned(held, now_fn())
            await worker.run(batch_size)
    finally:
        await transport.close()
    return worker.report()


def _record_left_over(store: Store, lease_clock: Callable[[], datetime]) -> None:
    """What an earlier pass of this process could not write, written first: the messages
    the server took are recorded sent (not sent again), its other claims given back."""
    while _UNRECORDED:
        item, sent_at = _UNRECORDED[0]
        if not record_sent(store, item, sent_at):
            log.warning("%s was sent, but its claim had expired when the store answered",
                        item.delivery_key)  # fmt: skip
        _UNRECORDED.pop(0)
    if _LEFT_CLAIMED:
        release(store, _LEFT_CLAIMED, lease_clock())
        _LEFT_CLAIMED.clear()


def combined(reports: Sequence[DeliveryReport]) -> DeliveryReport:
    """What several workers did together, as one report."""
    errors = [r.transport_error for r in reports if r.transport_error]
    return DeliveryReport(
        sent=sum(r.sent for r in reports),
        retrying=sum(r.retrying for r in reports),
        failed=tuple(f for r in reports for f in r.failed),
        released=sum(r.released for r in reports),
        stopped=any(r.stopped for r in reports),
        transport_error=errors[0] if errors else None,
        recovered=sum(r.recovered for r in reports),
    )
