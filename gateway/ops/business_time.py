"""Business-time arithmetic for SLA clocks: pure functions, no clock of their own.

Opening periods are wall-clock times in the tenant's zone; each one is turned into an aware instant
with ``zoneinfo`` and compared in UTC, so a DST change makes that day's period longer or shorter by
exactly the real time that passed (a 00:00–06:00 period lasts 5 h on Berlin's spring-forward day and
7 h on New York's fall-back day). Pauses (waiting on the customer) are cut out of the open time.

Everything takes and returns aware datetimes; callers pass ``now`` in, which is how tests avoid sleeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # a calendar with (almost) no open time must not loop forever
FAR = timedelta(days=3650)


class CalendarError(ValueError):
    """A business-hours setting that cannot be used (named so an admin can fix it)."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a tenant is open. ``always`` means around the clock (policies without business hours)."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    weekly: Mapping[int, tuple[tuple[time, time | None], ...]] = field(default_factory=dict)  # None end = 24:00
    holidays: frozenset[date] = frozenset()
    always: bool = False


ALWAYS = Calendar(always=True)


def _clock(text: str, name: str) -> time | None:
    if text in ("24:00", "24:00:00"):
        return None
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise CalendarError(f"{name}: {text!r} is not a time like 09:00") from exc


def calendar_from_settings(settings: Mapping[str, Any] | None) -> Calendar:
    """``{"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...},
    "holidays": ["2024-12-25"]}`` → Calendar. Missing or empty → open around the clock."""
    if not settings:
        return ALWAYS
    try:
        tz = ZoneInfo(str(settings.get("timezone") or "UTC"))
    except Exception as exc:
        raise CalendarError(f"business_hours.timezone: unknown time zone {settings.get('timezone')!r}") from exc
    weekly: dict[int, tuple[tuple[time, time | None], ...]] = {}
    for key, periods in dict(settings.get("weekly") or {}).items():
        if key not in WEEKDAYS:
            raise CalendarError(f"business_hours.weekly: {key!r} is not one of {', '.join(WEEKDAYS)}")
        parsed = []
        for start, end in periods:
            s, e = _clock(start, f"business_hours.weekly.{key}"), _clock(end, f"business_hours.weekly.{key}")
            if s is None or (e is not None and e <= s):
                raise CalendarError(f"business_hours.weekly.{key}: period {start}–{end} is empty")
            parsed.append((s, e))
        weekly[WEEKDAYS.index(key)] = tuple(sorted(parsed))
    holidays = frozenset(date.fromisoformat(str(d)) for d in settings.get("holidays") or ())
    if not weekly:
        return Calendar(tz=tz, always=True)
    return Calendar(tz=tz, weekly=weekly, holidays=holidays)


def _day_periods(cal: Calendar, day: date) -> Iterator[Interval]:
    if day in cal.holidays:
        return
    for s, e in cal.weekly.get(day.weekday(), ()):
        start = datetime.combine(day, s, tzinfo=cal.tz).astimezone(UTC)
        end_local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=cal.tz) if e is None else \
            datetime.combine(day, e, tzinfo=cal.tz)
        yield start, end_local.astimezone(UTC)


def open_intervals(cal: Calendar, start: datetime, end: datetime | None = None) -> Iterator[Interval]:
    """Open time from ``start`` (to ``end``, or onwards), in order, as UTC intervals."""
    _aware(start)
    # In UTC: subtracting two datetimes that share a zone is wall-clock arithmetic, wrong across DST.
    start = start.astimezone(UTC)
    stop = end.astimezone(UTC) if end is not None else start + FAR
    if stop <= start:
        return
    if cal.always:
        yield start, stop
        return
    day = start.astimezone(cal.tz).date() - timedelta(days=1)
    last = stop.astimezone(cal.tz).date() + timedelta(days=1)
    for _ in range(MAX_DAYS + 3):
        if day > last:
            return
        for s, e in _day_periods(cal, day):
            s, e = max(s, start), min(e, stop)
            if s < e:
                yield s, e
        day += timedelta(days=1)


def _without(intervals: Iterable[Interval], pauses: Sequence[Interval]) -> Iterator[Interval]:
    """The intervals with every pause cut out (pauses need not be sorted or disjoint)."""
    cuts = sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in pauses)
    for s, e in intervals:
        cursor = s
        for ps, pe in cuts:
            if pe <= cursor or ps >= e:
                continue
            if ps > cursor:
                yield cursor, ps
            cursor = max(cursor, pe)
            if cursor >= e:
                break
        if cursor < e:
            yield cursor, e


def business_seconds(cal: Calendar, start: datetime, end: datetime, pauses: Sequence[Interval] = ()) -> float:
    """Open, unpaused seconds between two instants (0 if end is not after start)."""
    _aware(end)
    return sum((e - s).total_seconds() for s, e in _without(open_intervals(cal, start, end), pauses))


def add_business_seconds(cal: Calendar, start: datetime, seconds: float, pauses: Sequence[Interval] = ()) -> datetime:
    """The instant at which ``seconds`` of open, unpaused time have passed since ``start``.

    At exactly the end of a period the answer is that period's end (not the next opening), so a
    deadline reads as "by 17:00", not "by 09:00 tomorrow".
    """
    if seconds <= 0:
        return start
    left = seconds
    for s, e in _without(open_intervals(cal, start), pauses):
        span = (e - s).total_seconds()
        if span >= left:
            return s + timedelta(seconds=left)
        left -= span
    raise CalendarError("the business-hours calendar has no open time within three years")


def _aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("naive datetime: business time needs aware instants")
