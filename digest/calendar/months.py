"""Calendar months: "6 months before 31 August" is 28 February, not 184 days earlier."""

from __future__ import annotations

import calendar as _calendar
from datetime import datetime


def months_before(instant: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier, or that month's last day
    when it is shorter (6 months before 31 August is 28 or 29 February)."""
    index = instant.year * 12 + instant.month - 1 - months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return instant.replace(year=year, month=month + 1, day=min(instant.day, last))
