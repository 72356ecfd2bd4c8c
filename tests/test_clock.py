from datetime import UTC, datetime, timedelta, timezone

from app.clock import isoformat_ms, utcnow


def test_utcnow_is_timezone_aware_utc():
    assert utcnow().utcoffset() == timedelta(0)


def test_timestamps_always_carry_milliseconds_even_when_zero():
    assert isoformat_ms(datetime(2026, 11, 25, 10, 0, tzinfo=UTC)) == "2026-11-25T10:00:00.000Z"


def test_timestamps_truncate_microseconds_to_milliseconds():
    moment = datetime(2026, 11, 25, 10, 0, 1, 987654, tzinfo=UTC)
    assert isoformat_ms(moment) == "2026-11-25T10:00:01.987Z"


def test_naive_timestamps_are_taken_as_utc():
    assert isoformat_ms(datetime(2026, 1, 2, 3, 4, 5, 6000)) == "2026-01-02T03:04:05.006Z"


def test_other_offsets_are_converted_to_utc():
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 11, 25, 12, 0, tzinfo=plus_two)
    assert isoformat_ms(moment) == "2026-11-25T10:00:00.000Z"
