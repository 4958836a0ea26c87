"""One module per digest kind, registered in one table.

A new kind is a module here that defines `KIND` (found by looking, not listed), and its
three templates in templates/email/<kind>/ (subject.txt, body.txt, body.html).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from digest.email.kinds.base import Kind, Request
from digest.model import Trigger


def _registered() -> Iterator[Kind]:
    """Every module of this package that defines a KIND, in name order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        kind = getattr(importlib.import_module(f"{__name__}.{info.name}"), "KIND", None)
        if isinstance(kind, Kind):
            yield kind


KINDS: Mapping[str, Kind] = MappingProxyType({k.name: k for k in _registered()})

# What the site layer checks a schedule's `digest` against: the kinds a schedule may name.
SCHEDULED: Mapping[str, Trigger] = MappingProxyType(
    {k.name: k.trigger for k in KINDS.values() if k.trigger != "system"}
)

__all__ = ["KINDS", "SCHEDULED", "Kind", "Request", "kind_of"]


def kind_of(name: str) -> Kind:
    """The registered kind; KeyError names it when none is."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"no digest kind {name!r}: known are {', '.join(KINDS)}") from None
