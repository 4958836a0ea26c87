"""Handing finished messages over; one module per transport, registered in TRANSPORTS."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from digest.delivery.transports import pickup, smtp
from digest.delivery.transports.base import Transport, TransportKind, TransportUnavailable
from digest.delivery.transports.pickup import PickupTransport, pickup_name
from digest.delivery.transports.smtp import PASSWORD_ENV, SmtpTransport
from digest.model import Site
from digest.settings import DELIVERY
from digest.site.fields import Table
from digest.site.web import is_loopback

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


def check_delivery(table: Table) -> None:
    """Check [delivery]: known keys, a known transport, and that transport's own settings."""
    known = set(DELIVERY.keys()).union(*(kind.settings.keys() for kind in TRANSPORTS.values()))
    hints = {key: hint for kind in TRANSPORTS.values() for key, hint in kind.hints.items()}
    table.check_keys(sorted(known), hints)
    table.get("workers", int, "a whole number", DELIVERY["workers"].default)
    name = table.choice("transport", tuple(TRANSPORTS), DELIVERY["transport"].default)
    if name is not None:
        TRANSPORTS[name].check(table)


def transport_for(
    site: Site,
    environ: Mapping[str, str] = os.environ,
    tls_context: ssl.SSLContext | None = None,
) -> Transport:
    """The transport `[delivery]` in schedules.toml asks for."""
    return TRANSPORTS[site.delivery.transport].build(site, environ, tls_context)
