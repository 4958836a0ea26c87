"""A store that stops answering mid-send: waited for, and what it could not record is
recorded when it answers; nothing is resent, nothing left claimed for the lease."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from digest.delivery import worker
from digest.delivery.outbox import enqueue
from digest.delivery.store import Store, counts
from digest.delivery.worker import deliver
from tests.conftest import NOW, MakeMessages
from tests.test_outbox import FakeTransport


def failing(calls: set[int], real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, raising as a database that went away on the chosen calls."""
    seen = [0]

    def write(*args: Any, **kwargs: Any) -> Any:
        seen[0] += 1
        if seen[0] in calls:
            raise sa.exc.OperationalError("UPDATE delivery", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    return write


def only(store: Store) -> dict[str, int]:
    return {k: v for k, v in counts(store).items() if v}


def test_a_brief_stall_is_waited_for_and_the_send_goes_on(
    store: Store, make_messages: MakeMessages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "STORE_RETRIES", (0.01, 0.01, 0.01))
    monkeypatch.setattr(worker, "record_sent", failing({3, 4}, worker.record_sent))
    enqueue(store, make_messages(5), NOW)
    transport = FakeTransport()
    report = asyncio.run(deliver(store, transport, lambda: NOW))
    assert report.sent == 5
    assert len(transport.sent) == 5  # the third was recorded on the third try, not resent
    assert only(store) == {"sent": 5}


def test_a_long_stall_records_the_message_in_hand_when_the_store_answers_again(
    store: Store, make_messages: MakeMessages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "STORE_RETRIES", (0.01, 0.01))
    real = worker.record_sent
    monkeypatch.setattr(worker, "record_sent", failing({3, 4, 5}, real))
    enqueue(store, make_messages(5), NOW)
    transport = FakeTransport()
    with pytest.raises(sa.exc.OperationalError):
        asyncio.run(deliver(store, transport, lambda: NOW))
    assert len(transport.sent) == 3
    monkeypatch.setattr(worker, "record_sent", real)  # the store answers again
    report = asyncio.run(deliver(store, transport, lambda: NOW))
    assert only(store) == {"sent": 5}
    assert len(transport.sent) == 5  # the message in hand was not sent twice
    assert len(set(transport.sent)) == 5
    assert report.sent == 2
