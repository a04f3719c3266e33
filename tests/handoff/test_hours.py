"""Working hours: 24/7 by default, weekly hours in Dushanbe time, holidays, night shifts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from handoff.hours import WorkingHours

WEEKDAYS = {"mon": "08:00-20:00", "tue": "08:00-20:00", "wed": "08:00-20:00"}
OFFICE = {
    "timezone": "Asia/Dushanbe",
    **WEEKDAYS,
    "thu": "08:00-20:00",
    "fri": "08:00-13:00, 14:00-20:00",  # lunch on Fridays
    "sat": "09:00-14:00",
    "sun": None,
    "holidays": ["2025-03-21", date(2025, 3, 24)],  # Navruz; YAML gives dates already
}


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.fixture
def office() -> WorkingHours:
    return WorkingHours.from_config(OFFICE)


@pytest.mark.parametrize("value", [None, "24/7", " 24/7 "])
def test_always_open_by_default(value: object) -> None:
    hours = WorkingHours.from_config(value)
    assert hours.always_open and hours == WorkingHours()
    for ts in (0.0, utc(2025, 3, 21, 3), utc(2025, 12, 31, 23, 59)):
        assert hours.is_open(ts) and hours.next_open(ts) == ts


def test_dushanbe_is_utc_plus_5_all_year(office: WorkingHours) -> None:
    """No DST in Tajikistan: 08:00 local is 03:00 UTC in winter and in summer."""
    for month, day in ((1, 15), (7, 16)):  # both Wednesdays
        assert office.local(utc(2025, month, day, 3)).hour == 8
        assert not office.is_open(utc(2025, month, day, 2, 59))
        assert office.is_open(utc(2025, month, day, 3, 0))
        assert office.is_open(utc(2025, month, day, 14, 59))
        assert not office.is_open(utc(2025, month, day, 15, 0))  # 20:00: closed
        assert office.next_open(utc(2025, month, day, 1)) == utc(2025, month, day, 3)


def test_weekend_and_lunch(office: WorkingHours) -> None:
    saturday_after_two = utc(2025, 1, 18, 9, 30)  # 14:30 local
    assert not office.is_open(saturday_after_two)
    assert office.next_open(saturday_after_two) == utc(2025, 1, 20, 3)  # Monday 08:00
    friday_lunch = utc(2025, 1, 17, 8, 30)  # 13:30 local
    assert not office.is_open(friday_lunch)
    assert office.next_open(friday_lunch) == utc(2025, 1, 17, 9)  # 14:00 local


def test_holidays_close_the_whole_day(office: WorkingHours) -> None:
    navruz = utc(2025, 3, 21, 5)  # a Friday, 10:00 local
    assert not office.is_open(navruz)
    assert office.next_open(navruz) == utc(2025, 3, 22, 4)  # Saturday 09:00 local
    # Monday the 24th is a holiday too: from Saturday evening the next opening is Tuesday.
    assert office.next_open(utc(2025, 3, 22, 12)) == utc(2025, 3, 25, 3)


def test_a_night_shift_runs_past_midnight() -> None:
    hours = WorkingHours.from_config({"timezone": "Asia/Dushanbe", "fri": "20:00-02:00"})
    assert hours.week is not None and hours.week[4] == ((1200, 1560),)
    assert hours.is_open(utc(2025, 1, 17, 15))  # Friday 20:00 local
    assert hours.is_open(utc(2025, 1, 17, 20, 59))  # Saturday 01:59 local
    assert not hours.is_open(utc(2025, 1, 17, 21))  # Saturday 02:00 local
    assert hours.next_open(utc(2025, 1, 17, 21)) == utc(2025, 1, 24, 15)  # next Friday


def test_a_day_may_be_open_around_the_clock() -> None:
    hours = WorkingHours.from_config({"sat": "24/7", "sun": "00:00-24:00"})
    assert hours.is_open(utc(2025, 1, 18, 12)) and hours.is_open(utc(2025, 1, 19, 18, 59))
    assert not hours.is_open(utc(2025, 1, 19, 19))  # Monday 00:00 in Dushanbe
    assert hours.next_open(utc(2025, 1, 20, 12)) == utc(2025, 1, 24, 19)  # Saturday 00:00


def test_a_desk_that_never_opens() -> None:
    hours = WorkingHours.from_config({"mon": None, "sun": "closed"})
    assert not hours.is_open(utc(2025, 1, 20, 6))
    assert hours.next_open(utc(2025, 1, 20, 6)) is None


def test_wall_clock_hours_across_a_dst_change() -> None:
    """Where clocks do move, 08:00 stays 08:00 local: 07:00 UTC in winter, 06:00 in summer."""
    hours = WorkingHours.from_config({"timezone": "Europe/Berlin", **WEEKDAYS})
    assert hours.next_open(utc(2025, 3, 26, 19, 30)) == utc(2025, 3, 31, 6)  # Wed → Mon, DST
    assert hours.is_open(utc(2025, 3, 24, 7)) and not hours.is_open(utc(2025, 3, 24, 6, 59))
    assert hours.is_open(utc(2025, 3, 31, 6)) and not hours.is_open(utc(2025, 3, 31, 5, 59))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("9-5", 'working_hours: expected "24/7" or a mapping'),
        ({"mon": "8-20"}, "working_hours.mon: expected \"HH:MM-HH:MM\", got '8-20'"),
        ({"mon": "08:00-25:00"}, "working_hours.mon: no such time"),
        ({"mon": "08:00-08:00"}, "working_hours.mon: empty range"),
        ({"mon": 8}, "working_hours.mon: expected"),
        ({"monday": "08:00-20:00"}, "working_hours.monday: unknown key"),
        ({"timezone": "Mars/Olympus", "mon": None}, "working_hours.timezone: unknown timezone"),
        ({"timezone": "Asia/Dushanbe"}, "working_hours: no weekday given"),
        ({"mon": None, "holidays": ["21.03.2025"]}, r"working_hours.holidays\[0\]: expected"),
    ],
)
def test_config_errors_name_the_key(config: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours.from_config(config)


def _open_seconds_by_minute(hours: WorkingHours, start: float, end: float) -> float:
    """The same business time counted the slow way: is_open() at every minute's middle."""
    return 60.0 * sum(hours.is_open(start + 60 * i + 30) for i in range(int((end - start) // 60)))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (utc(2025, 1, 17, 2), utc(2025, 1, 17, 10)),  # Friday morning, across lunch
        (utc(2025, 1, 18, 8), utc(2025, 1, 20, 4)),  # Saturday afternoon to Monday 09:00
        (utc(2025, 3, 20, 14), utc(2025, 3, 25, 4)),  # across Navruz and the 24th
        (utc(2025, 1, 15, 16), utc(2025, 1, 16, 2)),  # a closed night: nothing
    ],
)
def test_open_seconds_count_only_business_time(
    office: WorkingHours, start: float, end: float
) -> None:
    assert office.open_seconds(start, end) == _open_seconds_by_minute(office, start, end)


def test_open_seconds_of_a_night_shift_and_of_24_7() -> None:
    night = WorkingHours.from_config({"timezone": "Asia/Dushanbe", "fri": "20:00-02:00"})
    friday_evening, saturday_noon = utc(2025, 1, 17, 14), utc(2025, 1, 18, 7)  # 19:00, 12:00
    assert night.open_seconds(friday_evening, saturday_noon) == 6 * 3600
    assert WorkingHours().open_seconds(100.0, 160.0) == 60.0
    assert WorkingHours().open_seconds(160.0, 100.0) == 0.0
