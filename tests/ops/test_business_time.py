"""Business-hours arithmetic: weekends, holidays, lunch breaks, pauses and both DST directions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.ops.business_time import (
    ALWAYS,
    CalendarError,
    add_business_seconds,
    business_seconds,
    calendar_from_settings,
)

BERLIN = ZoneInfo("Europe/Berlin")
NY = ZoneInfo("America/New_York")
H = 3600.0
OFFICE = {"timezone": "Europe/Berlin", "holidays": ["2024-06-05"],
          "weekly": {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_lunch_break_is_not_business_time() -> None:
    cal = calendar_from_settings(OFFICE)
    assert business_seconds(cal, berlin(2024, 6, 3, 11), berlin(2024, 6, 3, 14)) == 2 * H  # 11–12, 13–14
    assert add_business_seconds(cal, berlin(2024, 6, 3, 11), 2 * H) == berlin(2024, 6, 3, 14)
    # A deadline landing exactly on the lunch start reads "by 12:00", not "by 13:00".
    assert add_business_seconds(cal, berlin(2024, 6, 3, 11), H) == berlin(2024, 6, 3, 12)


def test_weekend_is_skipped() -> None:
    cal = calendar_from_settings(OFFICE)
    friday_4pm = berlin(2024, 6, 7, 16)
    assert add_business_seconds(cal, friday_4pm, 2 * H) == berlin(2024, 6, 10, 10)  # Monday 10:00
    assert business_seconds(cal, friday_4pm, berlin(2024, 6, 10, 10)) == 2 * H
    assert business_seconds(cal, berlin(2024, 6, 8, 10), berlin(2024, 6, 9, 20)) == 0  # all weekend


def test_holiday_is_skipped() -> None:
    cal = calendar_from_settings(OFFICE)
    tuesday_4pm = berlin(2024, 6, 4, 16)
    assert add_business_seconds(cal, tuesday_4pm, 2 * H) == berlin(2024, 6, 6, 10)  # Wednesday is a holiday
    assert business_seconds(cal, berlin(2024, 6, 5, 0), berlin(2024, 6, 6, 0)) == 0


def test_outside_hours_start_waits_for_the_opening() -> None:
    cal = calendar_from_settings(OFFICE)
    assert add_business_seconds(cal, berlin(2024, 6, 3, 6), 30 * 60) == berlin(2024, 6, 3, 9, 30)


def test_berlin_spring_forward_day_is_an_hour_shorter() -> None:
    night = calendar_from_settings({"timezone": "Europe/Berlin", "weekly": {"sun": [["00:00", "06:00"]]}})
    start = berlin(2024, 3, 31, 0)  # clocks jump 02:00 → 03:00
    assert business_seconds(night, start, berlin(2024, 3, 31, 6)) == 5 * H
    assert add_business_seconds(night, start, 4 * H) == berlin(2024, 3, 31, 5)
    # Around the clock: 24 wall-clock hours of that day are 23 real hours.
    assert business_seconds(ALWAYS, start, berlin(2024, 4, 1, 0)) == 23 * H
    office = calendar_from_settings(OFFICE)  # a 9–17 day is unaffected
    assert business_seconds(office, berlin(2024, 3, 29, 0), berlin(2024, 4, 2, 0)) == 7 * H * 2  # Fri + Mon
    assert add_business_seconds(office, berlin(2024, 3, 29, 16), 2 * H) == berlin(2024, 4, 1, 10)


def test_new_york_fall_back_day_is_an_hour_longer() -> None:
    cal = calendar_from_settings({"timezone": "America/New_York", "weekly": {"sun": [["00:00", "06:00"]],
                                                                             "mon": [["09:00", "17:00"]]}})
    start = datetime(2024, 11, 3, 0, tzinfo=NY)  # 02:00 EDT → 01:00 EST
    assert business_seconds(cal, start, datetime(2024, 11, 3, 6, tzinfo=NY)) == 7 * H
    due = add_business_seconds(cal, start, 6.5 * H)
    assert due == datetime(2024, 11, 3, 5, 30, tzinfo=NY)
    assert due.astimezone(UTC) == datetime(2024, 11, 3, 10, 30, tzinfo=UTC)
    # 7 h on Sunday, then Monday from 09:00 EST.
    assert add_business_seconds(cal, start, 8 * H) == datetime(2024, 11, 4, 10, tzinfo=NY)


def test_pauses_are_cut_out() -> None:
    cal = calendar_from_settings(OFFICE)
    start = berlin(2024, 6, 3, 9)
    pause = [(berlin(2024, 6, 3, 10), berlin(2024, 6, 3, 11, 30))]
    assert business_seconds(cal, start, berlin(2024, 6, 3, 14), pause) == 2.5 * H  # 9–10, 11:30–12, 13–14
    assert add_business_seconds(cal, start, 2 * H, pause) == berlin(2024, 6, 3, 13, 30)
    assert add_business_seconds(ALWAYS, start, 2 * H, pause) == start + timedelta(hours=3.5)
    # A pause over the weekend changes nothing: that time was not business time anyway.
    weekend = [(berlin(2024, 6, 8, 0), berlin(2024, 6, 10, 0))]
    assert business_seconds(cal, berlin(2024, 6, 7, 16), berlin(2024, 6, 10, 10), weekend) == 2 * H


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(CalendarError, match="timezone"):
        calendar_from_settings({"timezone": "Mars/Olympus", "weekly": {"mon": [["09:00", "17:00"]]}})
    with pytest.raises(CalendarError, match=r"weekly\.mon"):
        calendar_from_settings({"weekly": {"mon": [["17:00", "09:00"]]}})
    assert calendar_from_settings(None).always
    with pytest.raises(ValueError):
        business_seconds(ALWAYS, datetime(2024, 1, 1), datetime(2024, 1, 2))  # naive
