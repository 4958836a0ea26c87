"""Handing finished messages over; one module per transport, registered in TRANSPORTS."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from digest.delivery.transports import pickup, smtp
from digest.delivery.transports.base import Transport, TransportKind, TransportUnavailable
from digest.delivery.transports.pickup import PickupTransport, pickup_name
from digest.delivery.transports.smtp import PASSWORD_ENV, SmtpTransport, is_loopback
from digest.model import DeliverySettings, Site
from digest.site.fields import Table

__all__ = [
    "PASSWORD_ENV",
    "TRANSPORTS",
    "PickupTransport",
    "SmtpTransport",
    "Transport",
    "TransportUnavailable",
    "check_delivery",
    "is_loopback",
    "pickup_name",
    "transport_for",
]

# `[delivery] transport` -> the transport. Adding one: a module and a line here.
TRANSPORTS: Mapping[str, TransportKind] = {
    "pickup": pickup.TRANSPORT,
    "smtp": smtp.TRANSPORT,
}


def check_delivery(settings: DeliverySettings, table: Table) -> None:
    """Let the chosen transport report problems of its settings on the [delivery] table."""
    kind = TRANSPORTS.get(settings.transport)
    if kind is not None:
        kind.check(settings, table)


def transport_for(
    site: Site,
    environ: Mapping[str, str] = os.environ,
    tls_context: ssl.SSLContext | None = None,
) -> Transport:
    """The transport `[delivery]` in schedules.toml asks for."""
    return TRANSPORTS[site.delivery.transport].build(site, environ, tls_context)
