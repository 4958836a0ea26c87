from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from digest.delivery.outbox import (
    CLAIM_LEASE,
    Claimed,
    EnqueueResult,
    backoff,
    claim,
    enqueue,
    record_failure,
    record_sent,
    recover,
    release,
    requeue_failed,
)
from digest.delivery.store import Store, counts, open_store, stored_message, worker_id
from digest.delivery.transports import TransportUnavailable
from digest.delivery.transports.base import Meanwhile
from digest.delivery.worker import DeliveryReport, deliver
from digest.errors import DeliveryError
from digest.model import OutgoingMessage, delivery_key
from tests.conftest import NOW, MakeMessages, a_dead_process_id


def only(store: Store) -> dict[str, int]:
    """The non-zero counts by state."""
    return {state: n for state, n in counts(store).items() if n}


def test_a_second_enqueue_adds_nothing_and_says_so(
    store: Store, make_messages: MakeMessages
) -> None:
    first = enqueue(store, make_messages(5), NOW)
    second = enqueue(store, make_messages(5), NOW + timedelta(minutes=1))
    assert (first.added, first.already) == (5, 0)
    assert (second.added, second.already) == (0, 5)
    assert only(store) == {"pending": 5}


def test_enqueue_streams_batches_and_ignores_repeats_within_the_input(
    store: Store, make_messages: MakeMessages
) -> None:
    def generated() -> Iterator[OutgoingMessage]:
        yield from make_messages(20)
        yield from make_messages(3)

    result = enqueue(store, generated(), NOW, batch_size=7)
    assert (result.added, result.already) == (20, 3)
    assert only(store) == {"pending": 20}


def test_the_exact_message_and_its_figures_are_kept(
    store: Store, make_messages: MakeMessages
) -> None:
    (message,) = make_messages(1)
    enqueue(store, [message], NOW)
    kept = stored_message(store, message.delivery_key)
    assert kept is not None
    assert (kept.raw, kept.figures, kept.message_id) == (
        message.raw,
        message.figures,
        message.message_id,
    )
    assert (kept.state, kept.sent_at) == ("pending", None)
    assert stored_message(store, "no/such/key") is None


def test_claim_takes_due_rows_oldest_first_and_never_twice(
    store: Store, make_messages: MakeMessages
) -> None:
    messages = make_messages(5)
    enqueue(store, messages, NOW)
    first = claim(store, NOW, 3)
    second = claim(store, NOW, 3)
    assert [c.delivery_key for c in first + second] == [m.delivery_key for m in messages]
    assert claim(store, NOW, 3) == []
    assert first[0].raw == messages[0].raw
    assert first[0].message().recipient.email == messages[0].recipient.email
    assert only(store) == {"sending": 5}


def test_sent_is_recorded_with_its_time(store: Store, make_messages: MakeMessages) -> None:
    (message,) = make_messages(1)
    enqueue(store, [message], NOW)
    (held,) = claim(store, NOW, 10)
    assert record_sent(store, held, NOW + timedelta(seconds=2))
    kept = stored_message(store, message.delivery_key)
    assert kept is not None
    assert (kept.state, kept.sent_at) == ("sent", NOW + timedelta(seconds=2))


def test_backoff_starts_at_a_minute_and_doubles_up_to_an_hour() -> None:
    minutes = [backoff(n) / timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff(10_000) == timedelta(hours=1)


def test_a_temporary_failure_waits_for_its_backoff(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(1), NOW)
    (held,) = claim(store, NOW, 10)
    assert record_failure(store, held, NOW, permanent=False, error="451 later", code=451) is None
    assert only(store) == {"retrying": 1}
    assert claim(store, NOW + timedelta(seconds=59), 10) == []
    (again,) = claim(store, NOW + timedelta(minutes=1), 10)
    assert again.attempts == 1
    assert (
        record_failure(store, again, NOW + timedelta(minutes=1), permanent=False, error="x") is None
    )
    assert claim(store, NOW + timedelta(minutes=2), 10) == []
    assert len(claim(store, NOW + timedelta(minutes=3), 10)) == 1


def test_a_permanent_failure_fails_at_once_and_is_reported(
    store: Store, make_messages: MakeMessages
) -> None:
    (message,) = make_messages(1)
    enqueue(store, [message], NOW)
    (held,) = claim(store, NOW, 10)
    failure = record_failure(store, held, NOW, permanent=True, error="550 no such user", code=550)
    assert failure is not None
    assert (failure.delivery_key, failure.code, failure.gave_up) == (
        message.delivery_key,
        550,
        False,
    )
    assert failure.email == message.recipient.email
    assert only(store) == {"failed": 1}
    assert claim(store, NOW + timedelta(days=2), 10) == []


def test_temporary_failures_give_up_after_a_day(store: Store, make_messages: MakeMessages) -> None:
    enqueue(store, make_messages(1), NOW)
    now = NOW
    failure = None
    while failure is None and now < NOW + timedelta(days=2):
        (held,) = claim(store, now, 10)
        failure = record_failure(store, held, now, permanent=False, error="451 later", code=451)
        now += backoff(held.attempts + 1)
    assert failure is not None and failure.gave_up
    assert NOW + timedelta(hours=24) <= now <= NOW + timedelta(hours=26)
    assert only(store) == {"failed": 1}


def test_a_row_left_sending_by_a_crash_is_claimed_again_after_the_lease(
    store: Store, make_messages: MakeMessages
) -> None:
    (message,) = make_messages(1)
    enqueue(store, [message], NOW)
    claim(store, NOW, 10)  # the worker dies here, before recording anything
    assert claim(store, NOW + timedelta(minutes=9), 10) == []
    (again,) = claim(store, NOW + timedelta(minutes=10), 10)
    assert (again.raw, again.message_id) == (message.raw, message.message_id)


def test_recover_puts_abandoned_rows_back_in_line(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(3), NOW)
    claim(store, NOW, 2)
    assert recover(store, NOW + timedelta(minutes=1), older_than=timedelta(minutes=5)) == 0
    assert recover(store, NOW + timedelta(minutes=5), older_than=timedelta(minutes=5)) == 2
    assert only(store) == {"pending": 3}


def test_a_worker_that_lost_its_claim_records_nothing(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(1), NOW)
    (slow,) = claim(store, NOW, 10)
    (fast,) = claim(store, NOW + timedelta(minutes=11), 10)
    assert record_sent(store, fast, NOW + timedelta(minutes=11))
    assert not record_sent(store, slow, NOW + timedelta(minutes=12))
    assert record_failure(store, slow, NOW, permanent=True, error="late") is None
    assert only(store) == {"sent": 1}


def test_released_rows_are_due_again_in_their_old_state(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(2), NOW)
    first, second = claim(store, NOW, 10)
    record_failure(store, first, NOW, permanent=False, error="451 later", code=451)
    (first,) = claim(store, NOW + timedelta(minutes=1), 10)
    assert release(store, [first, second], NOW + timedelta(minutes=1)) == 2
    assert only(store) == {"pending": 1, "retrying": 1}
    assert len(claim(store, NOW + timedelta(minutes=1), 10)) == 2


def test_failed_deliveries_can_be_given_a_fresh_start(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(2), NOW)
    for held in claim(store, NOW, 10):
        record_failure(store, held, NOW, permanent=True, error="550 no", code=550)
    assert requeue_failed(store, NOW, schedule_id="monthly-tracker") == 0
    assert requeue_failed(store, NOW) == 2
    assert [c.attempts for c in claim(store, NOW, 10)] == [0, 0]


def test_counts_name_every_state(store: Store) -> None:
    assert counts(store) == {"pending": 0, "sending": 0, "sent": 0, "retrying": 0, "failed": 0}


class FakeTransport:
    """Records what it is given; fails or stops on chosen calls."""

    def __init__(self, stop: asyncio.Event | None = None, stop_at: int = 0) -> None:
        self.sent: list[str] = []
        self.errors: dict[int, DeliveryError] = {}
        self.stop, self.stop_at = stop, stop_at
        self.opened = self.closed = 0

    async def open(self) -> None:
        self.opened += 1

    async def send(self, message: OutgoingMessage, *, meanwhile: Meanwhile | None = None) -> None:
        if meanwhile is not None:
            await meanwhile()
        call = len(self.sent) + 1
        if self.stop is not None and call == self.stop_at:
            self.stop.set()  # as SIGTERM would, while this message is in hand
        if call in self.errors:
            self.sent.append("")
            raise self.errors[call]
        self.sent.append(message.delivery_key)

    async def close(self) -> None:
        self.closed += 1


def test_deliver_sends_everything_due_in_batches(store: Store, make_messages: MakeMessages) -> None:
    enqueue(store, make_messages(25), NOW)
    transport = FakeTransport()
    seen: list[tuple[Claimed, str]] = []
    report = asyncio.run(
        deliver(
            store, transport, lambda: NOW, batch_size=10, progress=lambda c, s: seen.append((c, s))
        )
    )
    assert report.sent == 25 and report.failed == () and not report.stopped
    assert len(set(transport.sent)) == 25
    assert [state for _, state in seen] == ["sent"] * 25
    assert (transport.opened, transport.closed) == (1, 1)
    assert only(store) == {"sent": 25}


def test_deliver_finishes_the_message_in_hand_when_told_to_stop(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(10), NOW)

    async def run() -> tuple[FakeTransport, DeliveryReport]:
        stop = asyncio.Event()
        transport = FakeTransport(stop, stop_at=3)
        return transport, await deliver(store, transport, lambda: NOW, batch_size=5, stop=stop)

    transport, report = asyncio.run(run())
    assert len(transport.sent) == 3
    assert report == DeliveryReport(sent=3, released=2, stopped=True)
    assert only(store) == {"sent": 3, "pending": 7}


def test_deliver_reports_refusals_and_keeps_going(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(4), NOW)
    transport = FakeTransport()
    transport.errors[2] = DeliveryError("550 no such user", permanent=True, code=550)
    transport.errors[3] = DeliveryError("451 later", code=451)
    report = asyncio.run(deliver(store, transport, lambda: NOW))
    assert (report.sent, report.retrying) == (2, 1)
    assert [f.delivery_key for f in report.failed] == ["daily-key-indicators/2026-11-02/cllr-0001"]
    assert only(store) == {"sent": 2, "retrying": 1, "failed": 1}


def test_deliver_stops_when_the_server_cannot_be_used(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(6), NOW)
    transport = FakeTransport()
    transport.errors[3] = TransportUnavailable("SMTP server 127.0.0.1:25 could not be used")
    report = asyncio.run(deliver(store, transport, lambda: NOW))
    assert report.transport_error == "SMTP server 127.0.0.1:25 could not be used"
    # The message in hand is not at fault either: it goes back untried, with the rest.
    assert (report.sent, report.retrying, report.released) == (2, 0, 4)
    assert only(store) == {"sent": 2, "pending": 4}


class ClosedTransport(FakeTransport):
    async def open(self) -> None:
        raise TransportUnavailable("SMTP server 127.0.0.1:25 could not be used: refused")


def test_deliver_claims_nothing_when_the_server_cannot_be_reached(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(3), NOW)
    report = asyncio.run(deliver(store, ClosedTransport(), lambda: NOW))
    assert report.transport_error is not None and "refused" in report.transport_error
    assert only(store) == {"pending": 3}


@pytest.mark.parametrize("attempts", [0, 1])
def test_claimed_rows_carry_their_attempt_count(
    store: Store, make_messages: MakeMessages, attempts: int
) -> None:
    enqueue(store, make_messages(1), NOW)
    (held,) = claim(store, NOW, 1)
    if attempts:
        record_failure(store, held, NOW, permanent=False, error="451")
        (held,) = claim(store, NOW + timedelta(hours=1), 1)
    assert held.attempts == attempts
    assert (held.first_attempt_at is not None) == bool(attempts)


def test_two_processes_enqueueing_one_occurrence_add_each_row_once(
    database_url: str, tmp_path: Path, make_messages: MakeMessages
) -> None:
    messages = make_messages(300)
    results: list[EnqueueResult] = []
    start = threading.Barrier(2, timeout=60)

    def worker() -> None:
        store = open_store(tmp_path, database_url)
        start.wait()
        results.append(enqueue(store, messages, NOW, batch_size=50))
        store.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.added, r.already) for r in results) == [(0, 300), (300, 0)]


class RivalTransport(FakeTransport):
    """While each message is sent, another worker tries to claim work (a slow server)."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.store, self.clock = store, clock
        self.stolen: list[Claimed] = []

    async def send(self, message: OutgoingMessage, *, meanwhile: Meanwhile | None = None) -> None:
        self.stolen += claim(self.store, self.clock(), 10)
        await super().send(message, meanwhile=meanwhile)


def test_a_slow_batch_keeps_its_claims_from_other_workers(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(6), NOW)
    ticks = iter(NOW + timedelta(minutes=3 * n) for n in range(1000))
    transport = RivalTransport(store, lambda: next(ticks))
    report = asyncio.run(deliver(store, transport, lambda: next(ticks), batch_size=6))
    assert (report.sent, transport.stolen) == (6, [])
    assert only(store) == {"sent": 6}


class ThiefTransport(FakeTransport):
    """As the second message starts, another worker takes every claim (this one was
    paused past its lease), the first message's too: its sent mark is not written yet."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.taken: list[Claimed] = []

    async def send(self, message: OutgoingMessage, *, meanwhile: Meanwhile | None = None) -> None:
        if len(self.sent) == 1 and not self.taken:
            self.taken = claim(self.store, NOW + CLAIM_LEASE + timedelta(minutes=1), 10)
        await super().send(message, meanwhile=meanwhile)


def test_a_message_is_not_sent_once_the_claim_before_it_is_found_taken(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(4), NOW)
    transport, seen = ThiefTransport(store), []
    report = asyncio.run(deliver(store, transport, lambda: NOW,
                                 progress=lambda item, state: seen.append(state)))  # fmt: skip
    assert transport.sent == [delivery_key("daily-key-indicators", "2026-11-02", "cllr-0000")]
    assert (report.sent, seen, len(transport.taken)) == (0, ["lost"], 4)
    assert only(store) == {"sending": 4}  # the other worker's now, none sent twice by us


def test_rows_left_by_a_dead_process_of_this_machine_are_taken_up_at_once(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(4), NOW)
    here = worker_id().rsplit("/", 1)[0]
    claim(store, NOW, 2, worker=f"{here}/{a_dead_process_id()}")  # killed mid-send
    claim(store, NOW, 1, worker="another-host/pid:[4026531836]/4242")  # the lease decides
    claim(store, NOW, 1)  # this very process: alive
    report = asyncio.run(deliver(store, FakeTransport(), lambda: NOW + timedelta(seconds=5)))
    assert (report.recovered, report.sent) == (2, 2)
    assert only(store) == {"sent": 2, "sending": 2}
