"""The units a measure can be in: one row each, saying how it is shown and what it allows."""

from __future__ import annotations

from dataclasses import dataclass

from digest.model import Unit


@dataclass(frozen=True)
class UnitSpec:
    """How a unit's values are written and which values it allows."""

    name: Unit
    decimals: int  # display precision when the catalogue gives none
    suffix: str = ""  # after a value: "84.2%", "67.0 per 10,000"
    singular_suffix: str | None = None  # after a value shown as "1": "1 day"
    change_suffix: str = ""  # after a change: "+1.3 pts"
    low: float | None = None  # the smallest value that makes sense
    high: float | None = None
    out_of_bounds: str = ""  # why a value outside low..high is refused, and what to write

    def allows(self, value: float) -> bool:
        """True when `value` lies within the unit's bounds."""
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


UNITS: dict[Unit, UnitSpec] = {
    spec.name: spec
    for spec in (
        UnitSpec("count", 0),
        UnitSpec(
            "percent", 1, "%", change_suffix=" pts", low=0, high=100,
            out_of_bounds="is a percentage outside 0-100: write 84.5 for 84.5%",
        ),
        UnitSpec("rate", 1, " per 10,000", change_suffix=" per 10,000"),
        UnitSpec("days", 0, " days", singular_suffix=" day", change_suffix=" days"),
        UnitSpec("number", 1),
    )
}  # fmt: skip
