from __future__ import annotations

import asyncio
import email
import logging
import ssl
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
import sqlalchemy as sa

from digest.delivery.outbox import claim, enqueue
from digest.delivery.store import DELIVERY, Store, counts, open_store, worker_id
from digest.delivery.transports import (
    PASSWORD_ENV,
    PickupTransport,
    SmtpTransport,
    TransportUnavailable,
    is_loopback,
    pickup_name,
)
from digest.delivery.transports.smtp import SmtpSettings
from digest.delivery.worker import DeliveryReport, deliver
from digest.errors import DeliveryError
from tests.conftest import NOW, SENDER, MakeMessages, a_dead_process_id, build_message
from tests.smtp_server import SmtpServer, free_port

PASSWORD = "correct-horse-battery-staple"


def smtp_to(
    server: SmtpServer,
    *,
    security: Literal["starttls", "tls", "none"] = "none",
    username: str | None = None,
    tls_context: ssl.SSLContext | None = None,
    environ: dict[str, str] | None = None,
) -> SmtpTransport:
    """A transport to the test server, plain SMTP on loopback unless told otherwise."""
    settings = SmtpSettings(
        host=server.host, port=server.port, security=security, username=username
    )
    return SmtpTransport(settings, SENDER, environ or {}, tls_context=tls_context)


def clock(start: datetime = NOW) -> Callable[[], datetime]:
    return lambda: start


def run_delivery(store: Store, server: SmtpServer, now: datetime = NOW) -> DeliveryReport:
    return asyncio.run(deliver(store, smtp_to(server), clock(now), batch_size=10))


def test_every_recipient_gets_exactly_one_message_of_their_own(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    messages = make_messages(25)
    enqueue(store, messages, NOW)
    report = run_delivery(store, smtp_server)
    assert report.sent == 25
    assert smtp_server.handler.message_ids() == {m.message_id: 1 for m in messages}
    for received in smtp_server.received:
        mail = email.message_from_bytes(received.data)
        assert received.rcpt_tos == (email.utils.parseaddr(mail["To"])[1],)
        assert received.mail_from == "performance@example.gov.uk"
    assert counts(store)["sent"] == 25


def test_a_second_run_sends_nothing(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(3), NOW)
    run_delivery(store, smtp_server)
    assert enqueue(store, make_messages(3), NOW).added == 0
    assert run_delivery(store, smtp_server).sent == 0
    assert len(smtp_server.received) == 3


def test_a_refused_recipient_fails_alone_and_is_reported(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    messages = make_messages(5)
    refused = messages[2]
    smtp_server.handler.refuse(refused.recipient.email, 550)
    enqueue(store, messages, NOW)
    report = run_delivery(store, smtp_server)
    assert report.sent == 4
    (failure,) = report.failed
    assert (failure.delivery_key, failure.code, failure.gave_up) == (
        refused.delivery_key,
        550,
        False,
    )
    assert refused.recipient.email in failure.error and "550" in failure.error
    assert refused.message_id not in smtp_server.handler.message_ids()
    assert counts(store)["failed"] == 1


def test_a_451_is_retried_after_its_backoff_then_delivered(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    (message,) = make_messages(1)
    smtp_server.handler.refuse(message.recipient.email, 451, times=2)
    enqueue(store, [message], NOW)
    assert run_delivery(store, smtp_server, NOW).retrying == 1
    assert run_delivery(store, smtp_server, NOW + timedelta(seconds=30)).retrying == 0
    assert run_delivery(store, smtp_server, NOW + timedelta(minutes=1)).retrying == 1
    assert run_delivery(store, smtp_server, NOW + timedelta(minutes=2)).sent == 0
    assert run_delivery(store, smtp_server, NOW + timedelta(minutes=3)).sent == 1
    assert smtp_server.handler.message_ids() == {message.message_id: 1}


def test_a_dropped_connection_loses_nothing(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    messages = make_messages(12)
    smtp_server.handler.drop_after(4)
    enqueue(store, messages, NOW)
    report = run_delivery(store, smtp_server)
    assert smtp_server.handler.dropped == 1
    assert (report.sent, report.retrying, report.transport_error) == (12, 0, None)
    assert smtp_server.handler.message_ids() == {m.message_id: 1 for m in messages}


def test_a_resend_after_a_crash_carries_the_same_message_id_and_bytes(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    messages = make_messages(5)
    enqueue(store, messages, NOW)
    claim(store, NOW, 3)  # claimed, then the process was killed before recording
    report = run_delivery(store, smtp_server, NOW + timedelta(minutes=11))
    assert report.sent == 5
    assert sorted(r.data for r in smtp_server.received) == sorted(m.raw for m in messages)


def test_a_killed_send_is_finished_by_the_next_one_with_the_same_bytes(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    messages = make_messages(6)
    enqueue(store, messages, NOW)
    here = worker_id().rsplit("/", 1)[0]
    claim(store, NOW, 4, worker=f"{here}/{a_dead_process_id()}")  # SIGKILL mid-batch
    report = run_delivery(store, smtp_server, NOW + timedelta(seconds=1))
    assert (report.recovered, report.sent) == (4, 6)
    assert sorted(r.data for r in smtp_server.received) == sorted(m.raw for m in messages)


def test_two_workers_deliver_each_message_exactly_once(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    setup = open_store(tmp_path, database_url)
    messages = make_messages(300)
    enqueue(setup, messages, NOW)
    setup.close()
    reports: list[DeliveryReport] = []
    start = threading.Barrier(2, timeout=60)

    def worker() -> None:
        store = open_store(tmp_path, database_url)  # its own engine, as another process has
        start.wait()
        reports.append(asyncio.run(deliver(store, smtp_to(smtp_server), clock(), batch_size=7)))
        store.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 300
    assert smtp_server.handler.message_ids() == {m.message_id: 1 for m in messages}


def test_each_message_is_recorded_sent_before_the_next_one_is_taken(
    store: Store, smtp_server: SmtpServer, make_messages: MakeMessages
) -> None:
    """The sent mark is written while the next envelope goes, never after its data:
    when any message arrives, every one taken before it is already recorded."""
    messages = make_messages(30)
    enqueue(store, messages, NOW)
    taken: list[str] = []
    unrecorded: list[tuple[str, list[str]]] = []
    states = sa.select(DELIVERY.c.message_id).where(DELIVERY.c.state != "sent")

    def look(data: bytes) -> None:
        with store.engine.connect() as connection:  # the server's thread: its own connection
            behind = set(connection.execute(states).scalars()) & set(taken)
        if behind:
            unrecorded.append((str(email.message_from_bytes(data)["Message-ID"]), sorted(behind)))
        taken.append(str(email.message_from_bytes(data)["Message-ID"]))

    smtp_server.handler.on_data = look
    report = run_delivery(store, smtp_server)
    assert (report.sent, unrecorded) == (30, [])
    assert len(taken) == 30 and counts(store)["sent"] == 30


def test_meanwhile_runs_while_the_server_answers_mail_from_and_is_not_timed(
    smtp_server: SmtpServer,
) -> None:
    """What the worker does meanwhile (record the message before) overlaps the server's
    work on MAIL FROM: the server here answers only once meanwhile has begun. A slow
    store is not the server being slow: meanwhile's time is not counted."""
    handler = smtp_server.handler
    begun, answered_in_time = threading.Event(), []
    plain = handler.handle_MAIL

    async def held(*args: Any) -> str:
        answered_in_time.append(await asyncio.to_thread(begun.wait, 2))
        return await plain(*args)

    handler.handle_MAIL = held  # type: ignore[method-assign]
    settings = SmtpSettings(host=smtp_server.host, port=smtp_server.port, security="none",
                            timeout_seconds=0.5)  # fmt: skip
    transport = SmtpTransport(settings, SENDER, {})

    async def meanwhile() -> None:
        begun.set()
        await asyncio.sleep(0.8)  # longer than the server's timeout

    async def go() -> None:
        await transport.open()
        try:
            await transport.send(build_message("cllr-a"), meanwhile=meanwhile)
        finally:
            await transport.close()

    asyncio.run(go())
    assert answered_in_time == [True] and len(smtp_server.received) == 1


def test_a_meanwhile_that_fails_sends_nothing_and_the_next_message_goes(
    smtp_server: SmtpServer,
) -> None:
    transport = smtp_to(smtp_server)

    async def refuse() -> None:
        raise sa.exc.OperationalError("UPDATE delivery", {}, Exception("database is locked"))

    async def go() -> None:
        await transport.open()
        try:
            with pytest.raises(sa.exc.OperationalError):
                await transport.send(build_message("cllr-a"), meanwhile=refuse)
            await transport.send(build_message("cllr-b"))
        finally:
            await transport.close()

    asyncio.run(go())
    assert [r.rcpt_tos for r in smtp_server.received] == [("cllr-b@example.gov.uk",)]


def test_a_server_that_is_down_leaves_the_messages_waiting(
    store: Store, make_messages: MakeMessages
) -> None:
    enqueue(store, make_messages(3), NOW)
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), security="none")
    report = asyncio.run(deliver(store, SmtpTransport(settings, SENDER, {}), clock()))
    assert report.transport_error is not None
    assert report.transport_error.startswith("SMTP server 127.0.0.1:")
    assert counts(store)["pending"] == 3


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST."])
def test_plain_smtp_is_allowed_to_this_machine(host: str) -> None:
    assert is_loopback(host)
    SmtpTransport(SmtpSettings(host=host, security="none"), SENDER, {})


@pytest.mark.parametrize("host", ["mail.example.gov.uk", "10.0.0.5", "::2", "localhost.evil"])
def test_plain_smtp_to_another_host_is_refused(host: str) -> None:
    with pytest.raises(DeliveryError, match='security = "none" is only allowed to a loopback'):
        SmtpTransport(SmtpSettings(host=host, security="none"), SENDER, {})


def test_a_username_without_tls_is_refused() -> None:
    settings = SmtpSettings(security="none", username="digest@example.gov.uk")
    with pytest.raises(DeliveryError, match="in clear"):
        SmtpTransport(settings, SENDER, {PASSWORD_ENV: PASSWORD})


def test_a_username_needs_the_password_in_the_environment() -> None:
    settings = SmtpSettings(security="starttls", username="digest@example.gov.uk")
    with pytest.raises(DeliveryError, match=PASSWORD_ENV):
        SmtpTransport(settings, SENDER, {})


@pytest.fixture(scope="module")
def certificates() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) from a throwaway certificate authority."""
    import trustme

    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


def test_starttls_with_a_login_delivers_over_a_verified_connection(
    store: Store, certificates: tuple[ssl.SSLContext, ssl.SSLContext], make_messages: MakeMessages
) -> None:
    server_tls, client_tls = certificates
    enqueue(store, make_messages(3), NOW)
    with SmtpServer(starttls=server_tls, login=("digest", PASSWORD)) as server:
        transport = smtp_to(
            server,
            security="starttls",
            username="digest",
            tls_context=client_tls,
            environ={PASSWORD_ENV: PASSWORD},
        )
        report = asyncio.run(deliver(store, transport, clock()))
    assert report.sent == 3
    assert len(server.received) == 3


def test_implicit_tls_delivers(
    certificates: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, client_tls = certificates
    with SmtpServer(implicit_tls=server_tls) as server:
        transport = smtp_to(server, security="tls", tls_context=client_tls)
        asyncio.run(send_one(transport))
    assert len(server.received) == 1


async def send_one(transport: SmtpTransport) -> None:
    await transport.open()
    try:
        await transport.send(build_message("cllr-a"))
    finally:
        await transport.close()


def test_an_untrusted_certificate_is_refused(
    certificates: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_tls, _ = certificates
    with SmtpServer(starttls=server_tls) as server:
        transport = smtp_to(server, security="starttls")  # the system's trust store only
        with pytest.raises(TransportUnavailable, match="certificate"):
            asyncio.run(send_one(transport))
    assert server.received == []


def test_the_password_never_appears_in_errors_or_logs(
    certificates: tuple[ssl.SSLContext, ssl.SSLContext], caplog: pytest.LogCaptureFixture
) -> None:
    server_tls, client_tls = certificates
    caplog.set_level(logging.DEBUG)
    # The server echoes the password it was given in its refusal.
    with SmtpServer(starttls=server_tls, login=("digest", "another-password")) as server:
        transport = smtp_to(
            server,
            security="starttls",
            username="digest",
            tls_context=client_tls,
            environ={PASSWORD_ENV: PASSWORD},
        )
        with pytest.raises(TransportUnavailable) as raised:
            asyncio.run(send_one(transport))
    assert "535" in str(raised.value) and "********" in str(raised.value)
    assert PASSWORD not in str(raised.value) and PASSWORD not in repr(raised.value)
    assert PASSWORD not in repr(transport)
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # aiosmtpd's own
    assert all(PASSWORD not in r.getMessage() for r in ours)


def test_pickup_writes_complete_eml_files_and_leaves_no_temporary_files(
    store: Store, tmp_path: Path, make_messages: MakeMessages
) -> None:
    messages = make_messages(4, occurrence_key="social-care:2026-10-31")
    enqueue(store, messages, NOW)
    pickup = tmp_path / "outbox"
    report = asyncio.run(deliver(store, PickupTransport(pickup), clock()))
    assert report.sent == 4
    files = sorted(pickup.iterdir())
    assert [f.name for f in files] == sorted(pickup_name(m.delivery_key) for m in messages)
    assert sorted(f.read_bytes() for f in files) == sorted(m.raw for m in messages)
    assert all(email.message_from_bytes(f.read_bytes())["Message-ID"] for f in files)


def test_pickup_names_are_safe_and_never_merge_two_keys() -> None:
    one = pickup_name("monthly-tracker/social-care:2026-10-31/cllr-a")
    other = pickup_name("monthly-tracker/social-care_2026-10-31/cllr-a")
    assert one.startswith("monthly-tracker_social-care_2026-10-31_cllr-a.")
    assert one.endswith(".eml") and "/" not in one and ":" not in one
    assert one != other


def test_pickup_rewrites_a_resent_message_in_place(tmp_path: Path) -> None:
    message = build_message("cllr-a")
    transport = PickupTransport(tmp_path / "outbox")

    async def twice() -> None:
        await transport.open()
        await transport.send(message)
        await transport.send(message)

    asyncio.run(twice())
    assert [f.read_bytes() for f in (tmp_path / "outbox").iterdir()] == [message.raw]
