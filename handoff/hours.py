"""The desk's working hours: weekly opening times in a local timezone, holidays, or 24/7."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Dushanbe"
ALWAYS = "24/7"

# Minutes from local midnight; an end past 1440 is a shift that runs over midnight.
Interval = tuple[int, int]

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# next_open() looks this many days ahead: a year of holidays can't hide the next opening.
_LOOKAHEAD_DAYS = 400


@dataclass(frozen=True)
class WorkingHours:
    """When agents answer. ``week`` is None for 24/7, else one tuple of intervals per weekday
    (Monday first); a holiday cancels the shifts that start on that date."""

    timezone: str = DEFAULT_TIMEZONE
    week: tuple[tuple[Interval, ...], ...] | None = None
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, value: Any, where: str = "working_hours") -> WorkingHours:
        """Parse the config value: None or "24/7" (always open), or a mapping like
        ``{timezone: Asia/Dushanbe, mon: "08:00-20:00", ..., sun: null, holidays: [2025-03-21]}``
        where a day may list ranges ("08:00-13:00, 14:00-20:00") and a missing or null day is
        closed. A wrong value raises ``ValueError`` naming its key path."""
        if value is None or (isinstance(value, str) and value.strip() == ALWAYS):
            return cls()
        if not isinstance(value, Mapping):
            raise ValueError(f'{where}: expected "24/7" or a mapping, got {value!r}')
        unknown = set(value) - {*WEEKDAYS, "timezone", "holidays"}
        if unknown:
            raise ValueError(
                f"{where}.{sorted(map(str, unknown))[0]}: unknown key; expected timezone,"
                f" holidays or a weekday ({', '.join(WEEKDAYS)})"
            )
        tz = value.get("timezone", DEFAULT_TIMEZONE)
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{where}.timezone: unknown timezone {tz!r}") from None
        if not any(day in value for day in WEEKDAYS):
            raise ValueError(f'{where}: no weekday given; use "24/7" for always open')
        week = tuple(_parse_day(value.get(day), f"{where}.{day}") for day in WEEKDAYS)
        holidays = frozenset(
            _parse_date(d, f"{where}.holidays[{i}]")
            for i, d in enumerate(value.get("holidays") or ())
        )
        return cls(str(tz), week, holidays)

    @property
    def always_open(self) -> bool:
        return self.week is None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, utc_ts: float) -> datetime:
        """The moment as the desk's wall clock shows it (for texts like "we open at 08:00")."""
        return datetime.fromtimestamp(utc_ts, self.zone)

    def is_open(self, utc_ts: float) -> bool:
        if self.week is None:
            return True
        now = self.local(utc_ts)
        minute = now.hour * 60 + now.minute + now.second / 60
        today = now.date()
        yesterday = today - timedelta(days=1)
        return any(s <= minute < e for s, e in self._shifts(today)) or any(
            s <= minute + 1440 < e for s, e in self._shifts(yesterday)
        )

    def next_open(self, utc_ts: float) -> float | None:
        """``utc_ts`` itself when open, else when the desk opens next; None if it never does."""
        if self.is_open(utc_ts):
            return utc_ts
        assert self.week is not None
        if not any(self.week):
            return None
        today = self.local(utc_ts).date()
        for offset in range(_LOOKAHEAD_DAYS):
            day = today + timedelta(days=offset)
            for start, _ in self._shifts(day):
                opens = datetime(day.year, day.month, day.day, tzinfo=self.zone) + timedelta(
                    minutes=start
                )
                # Aware datetime arithmetic is wall-clock arithmetic, so a DST change on
                # that day still opens at the configured local time.
                ts = opens.timestamp()
                if ts > utc_ts:
                    return ts
        return None

    def open_seconds(self, start: float, end: float) -> float:
        """How many seconds of ``[start, end)`` the desk is open: business time, for SLA
        clocks that stop at night, at weekends and on holidays."""
        if end <= start:
            return 0.0
        if self.week is None:
            return end - start
        total = 0.0
        first = self.local(start).date() - timedelta(days=1)  # a night shift from the eve
        for offset in range((self.local(end).date() - first).days + 1):
            day = first + timedelta(days=offset)
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
            for s, e in self._shifts(day):
                opens = (midnight + timedelta(minutes=s)).timestamp()
                closes = (midnight + timedelta(minutes=e)).timestamp()
                total += max(0.0, min(end, closes) - max(start, opens))
        return total

    def _shifts(self, day: date) -> tuple[Interval, ...]:
        assert self.week is not None
        return () if day in self.holidays else self.week[day.weekday()]


def _parse_day(value: Any, where: str) -> tuple[Interval, ...]:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "closed")):
        return ()
    if not isinstance(value, str):
        raise ValueError(f'{where}: expected "HH:MM-HH:MM" or null, got {value!r}')
    if value.strip() == ALWAYS:
        return ((0, 1440),)
    intervals = []
    for part in value.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f'{where}: expected "HH:MM-HH:MM", got {part.strip()!r}')
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{where}: no such time in {part.strip()!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end == start:
            raise ValueError(f"{where}: empty range {part.strip()!r}")
        # "20:00-02:00" ends tomorrow.
        intervals.append((start, end if end > start else end + 1440))
    return tuple(sorted(intervals))


def _parse_date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):  # YAML turns 2025-03-21 into a date already
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: expected an ISO date (YYYY-MM-DD), got {value!r}") from None
