"""The phone-code rules, without an app: generation, hashing, time and send limits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from voting.domain import otp

NOW = datetime(2026, 5, 12, 2, 30, tzinfo=UTC)
KEY = b"k" * 32


def test_generate_code_six_digits_leading_zeros_kept():
    codes = {otp.generate_code(random.Random(seed)) for seed in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert any(c.startswith("0") for c in codes)
    assert len(codes) > 190


def test_generate_code_default_rng_is_system_random():
    assert isinstance(otp._system_rng, random.SystemRandom)
    assert otp.code_problem(otp.generate_code()) is None


def test_generate_code_injected_rng_is_deterministic():
    assert otp.generate_code(random.Random(5)) == otp.generate_code(random.Random(5))


@pytest.mark.parametrize("raw", ["123456", " 123 456 ", "１２３４５６", "123-456"])
def test_code_problem_typed_variants_accepted(raw):
    assert otp.code_problem(raw) is None
    assert otp.normalize_code(raw) == "123456"


@pytest.mark.parametrize("raw", ["", "12345", "1234567", "12345a", "abcdef", "١٢٣٤٥٦"])
def test_code_problem_wrong_shape_otp_format(raw):
    assert otp.code_problem(raw) == "otp_format"


def test_code_hash_bound_to_round_and_phone_and_keyed():
    base = otp.code_hash(KEY, "123456", round_id=1, phone_hmac="p")
    assert len(base) == 64
    assert "123456" not in base
    assert otp.code_hash(KEY, "123 456", round_id=1, phone_hmac="p") == base
    assert otp.code_hash(KEY, "123456", round_id=2, phone_hmac="p") != base
    assert otp.code_hash(KEY, "123456", round_id=1, phone_hmac="q") != base
    assert otp.code_hash(b"other", "123456", round_id=1, phone_hmac="p") != base


def test_expiry_live_until_ttl_exclusive():
    expires = otp.expiry(NOW)
    assert expires - NOW == timedelta(minutes=5) == otp.TTL
    assert otp.is_live(expires, NOW + otp.TTL - timedelta(seconds=1))
    assert not otp.is_live(expires, NOW + otp.TTL)
    assert not otp.is_live(expires, NOW + otp.TTL + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("elapsed", "remaining"),
    [(0, 60), (0.4, 60), (1, 59), (59, 1), (59.9, 1), (60, 0), (61, 0), (3600, 0)],
)
def test_cooldown_remaining_counts_whole_seconds_up(elapsed, remaining):
    assert otp.cooldown_remaining(NOW - timedelta(seconds=elapsed), NOW) == remaining


def test_cooldown_remaining_never_sent_zero():
    assert otp.cooldown_remaining(None, NOW) == 0


@pytest.mark.parametrize(("sends", "allowed"), [(0, True), (4, True), (5, False), (9, False)])
def test_can_send_five_per_day(sends, allowed):
    assert otp.can_send(sends) is allowed


def test_send_refusal_cooldown_before_caps():
    refusal = otp.send_refusal(NOW - timedelta(seconds=10), 5, 10_000, 2000, NOW)
    assert refusal is not None
    assert (refusal.code, refusal.params) == ("otp_cooldown", {"seconds": 50})


def test_send_refusal_daily_cap_then_global_cap():
    old = NOW - timedelta(minutes=5)
    daily = otp.send_refusal(old, 5, 0, 2000, NOW)
    busy = otp.send_refusal(old, 4, 2000, 2000, NOW)
    assert daily is not None
    assert daily.code == "otp_daily_cap"
    assert busy is not None
    assert busy.code == "otp_busy"
    assert otp.send_refusal(old, 4, 1999, 2000, NOW) is None
    assert otp.send_refusal(None, 0, 0, 2000, NOW) is None


def test_attempt_error_code_last_attempt_exhausted():
    assert otp.attempt_error_code(4) == "otp_wrong"
    assert otp.attempt_error_code(1) == "otp_wrong"
    assert otp.attempt_error_code(0) == "otp_exhausted"


@pytest.mark.parametrize(
    ("typed", "on_roll", "same"),
    [
        ("王小明", "王小明", True),
        (" 王 小明 ", "王小明", True),
        ("王\u3000小明", "王小明", True),
        ("王小民", "王小明", False),
        ("", "", False),
        ("   ", "王小明", False),
    ],
)
def test_names_match_ignores_spaces_only(typed, on_roll, same):
    assert otp.names_match(typed, on_roll) is same


def test_masked_phone_last_four_only():
    assert otp.masked_phone("13812345678") == "****5678"


def test_sms_text_carries_code_and_lifetime_only():
    text = otp.sms_text("012345")
    assert "012345" in text
    assert "5 分钟" in text
