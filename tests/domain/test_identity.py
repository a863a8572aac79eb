"""Resident identifiers: GB 11643 ID numbers, mobile numbers, keyed hashes, masking."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from voting.domain.identity import (
    id_check_char,
    id_hmac,
    id_number_problem,
    is_valid_id_number,
    keyed_hash,
    mask_tail,
    normalize_id_number,
    normalize_phone,
    phone_hmac,
    phone_problem,
)

KEY = b"pepper-for-tests"
OTHER_KEY = b"another-pepper"

# Widely published valid numbers; the first is the worked example in GB 11643-1999.
PUBLISHED_VALID = ("11010519491231002X", "440524188001010014")


def reference_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2, written from the standard's formula rather than the weight table.

    The weight of the digit at position i (counted from the right, the check digit being
    position 1) is 2^(i-1) mod 11; the check value is (12 - sum mod 11) mod 11, 10 -> "X".
    """
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(first17: str) -> str:
    return first17 + reference_check_char(first17)


def wrong_check_char(number: str) -> str:
    """The same number with a check character that is certainly wrong."""
    right = number[17]
    replacement = "0" if right != "0" else "1"
    return number[:17] + replacement


# --- ID numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("number", PUBLISHED_VALID)
def test_id_number_published_examples_valid(number):
    assert id_number_problem(number) is None
    assert is_valid_id_number(number) is True


@pytest.mark.parametrize("number", PUBLISHED_VALID)
def test_id_check_char_published_examples_match_reference(number):
    assert reference_check_char(number[:17]) == number[17]
    assert id_check_char(number[:17]) == number[17]


@pytest.mark.parametrize(
    "first17",
    [
        "11010519491231002",
        "44052418800101001",
        "32010619900307123",
        "51010420001130456",
        "65010219851215789",
        "00000019000101000",
        "99999920991231999",
    ],
)
def test_id_check_char_matches_independent_implementation(first17):
    assert id_check_char(first17) == reference_check_char(first17)
    assert id_number_problem(make_id(first17)) is None


def test_id_check_char_every_check_value_reachable_matches_reference():
    # Vary the sequence digits until all eleven check characters have been produced.
    seen = {}
    for serial in range(1000):
        first17 = f"11010519800101{serial:03d}"
        seen.setdefault(reference_check_char(first17), first17)
    assert set(seen) == set("0123456789X")
    for expected, first17 in seen.items():
        assert id_check_char(first17) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002x", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
        ("110105 19491231 002X", "11010519491231002X"),
        ("110105-19491231-002x", "11010519491231002X"),
        ("110105\u300019491231\u3000002X", "11010519491231002X"),
        (" 440524.18800101.0014 ", "440524188001010014"),
    ],
)
def test_normalize_id_number_variant_spelling_canonical(raw, expected):
    assert normalize_id_number(raw) == expected
    assert id_number_problem(raw) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_length"),
        ("11010519491231002", "id_length"),
        ("11010519491231002X0", "id_length"),
        ("110105194912310", "id_length"),
        ("1101051949123100X2", "id_chars"),
        ("X1010519491231002X", "id_chars"),
        ("11010519491231002Y", "id_chars"),
        ("110105194912310A2X", "id_chars"),
        (make_id("11010519490031002"), "id_birth_date"),
        (make_id("11010519491331002"), "id_birth_date"),
        (make_id("11010519491200002"), "id_birth_date"),
        (make_id("11010519491232002"), "id_birth_date"),
        (wrong_check_char("11010519491231002X"), "id_checksum"),
        (wrong_check_char("440524188001010014"), "id_checksum"),
        ("440524188001010015", "id_checksum"),
    ],
)
def test_id_number_problem_invalid_input_reports_code(raw, code):
    assert id_number_problem(raw) == code
    assert is_valid_id_number(raw) is False


@pytest.mark.parametrize(("month", "day"), [("01", "01"), ("12", "31"), ("02", "28")])
def test_id_number_problem_birth_date_boundaries_valid(month, day):
    assert id_number_problem(make_id(f"1101051980{month}{day}123")) is None


def test_id_number_problem_every_single_digit_substitution_detected():
    number = "11010519491231002X"
    for position in range(17):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            mutated = number[:position] + digit + number[position + 1 :]
            assert id_number_problem(mutated) in {"id_checksum", "id_birth_date"}, mutated


@pytest.mark.parametrize("birth", ["19490230", "19490431", "19490229"])
def test_id_number_problem_impossible_calendar_date_id_birth_date(birth):
    assert id_number_problem(make_id(f"110105{birth}002")) == "id_birth_date"


def test_id_number_problem_non_decimal_digit_id_chars():
    assert id_number_problem("\u1369" + "1010519491231002X") == "id_chars"


def test_id_number_problem_arabic_indic_digits_rejected_or_folded():
    arabic = "".join(chr(0x660 + int(ch)) if ch.isdigit() else ch for ch in "11010519491231002X")
    assert id_number_problem(arabic) == "id_chars" or id_hmac(KEY, arabic) == id_hmac(
        KEY, "11010519491231002X"
    )


# --- phone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "+86 138 0013 8000",
        "0086 138-0013-8000",
        "008613800138000",
        "8613800138000",
        "(+86) 138-0013-8000",
        "138.0013.8000",
        "１３８００１３８０００",
        "138\u30000013\u30008000",
    ],
)
def test_normalize_phone_variant_spelling_eleven_digits(raw):
    assert normalize_phone(raw) == "13800138000"
    assert phone_problem(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1380013800",
        "138001380001",
        "23800138000",
        "03800138000",
        "1380013800a",
        "+1 415 555 0100",
        "010-12345678",
        "+86 23800138000",
    ],
)
def test_phone_problem_invalid_phone_format(raw):
    assert phone_problem(raw) == "phone_format"


# --- keyed hashes ----------------------------------------------------------------------


def test_keyed_hash_hmac_sha256_with_purpose_prefix_exact():
    expected = hmac.new(KEY, b"id:11010519491231002X", hashlib.sha256).hexdigest()
    assert keyed_hash(KEY, "id", "11010519491231002X") == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    "spelling",
    [
        "11010519491231002x",
        "110105 19491231 002X",
        "１１０１０５１９４９１２３１００２ｘ",
        "110105-19491231-002X",
    ],
)
def test_id_hmac_equivalent_spelling_equal(spelling):
    assert id_hmac(KEY, spelling) == id_hmac(KEY, "11010519491231002X")


def test_id_hmac_different_key_differs():
    assert id_hmac(KEY, "11010519491231002X") != id_hmac(OTHER_KEY, "11010519491231002X")


def test_id_hmac_different_number_differs():
    assert id_hmac(KEY, "11010519491231002X") != id_hmac(KEY, "440524188001010014")


def test_id_hmac_not_plain_sha256_of_number():
    number = "11010519491231002X"
    assert id_hmac(KEY, number) != hashlib.sha256(number.encode()).hexdigest()


@pytest.mark.parametrize("spelling", ["+86 138-0013-8000", "0086 13800138000", "138 0013 8000"])
def test_phone_hmac_equivalent_spelling_equal(spelling):
    assert phone_hmac(KEY, spelling) == phone_hmac(KEY, "13800138000")


def test_phone_hmac_different_key_differs():
    assert phone_hmac(KEY, "13800138000") != phone_hmac(OTHER_KEY, "13800138000")


def test_keyed_hash_purpose_separates_domains():
    assert keyed_hash(KEY, "id", "13800138000") != keyed_hash(KEY, "phone", "13800138000")
    assert phone_hmac(KEY, "13800138000") == keyed_hash(KEY, "phone", "13800138000")


# --- masking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "keep", "expected"),
    [
        ("11010519491231002X", 4, "002X"),
        ("13800138000", 4, "8000"),
        ("13800138000", 2, "00"),
        ("abc", 4, "abc"),
        ("", 4, ""),
    ],
)
def test_mask_tail_value_last_characters(value, keep, expected):
    assert mask_tail(value, keep) == expected


def test_mask_tail_default_keeps_four():
    assert mask_tail("11010519491231002X") == "002X"


def test_mask_tail_keep_zero_empty():
    assert mask_tail("11010519491231002X", 0) == ""
