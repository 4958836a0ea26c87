"""Loading a site for sending: the site's own checks plus the chosen transport's."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from digest.delivery.transports import check_delivery
from digest.site import load
from digest.site.load import LoadedSite


def load_site(root: Path, today: date, *, with_observations: bool = True) -> LoadedSite:
    """What digest.site.load.load_site does, with the transport checking its own settings."""
    return load.load_site(
        root, today, with_observations=with_observations, delivery_check=check_delivery
    )
