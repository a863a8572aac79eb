"""Voting codes (12 digits, ISO 7064 MOD 11,10) and receipt codes (Crockford base32)."""

from __future__ import annotations

import hashlib
import random

import pytest

from voting.domain.codes import (
    CODE_LENGTH,
    RECEIPT_ALPHABET,
    RECEIPT_LENGTH,
    check_digit,
    code_hash,
    code_problem,
    format_code,
    format_receipt,
    generate_code,
    generate_receipt,
    normalize_code,
    normalize_receipt,
    receipt_hash,
)
from voting.domain.identity import keyed_hash

KEY = b"code-pepper"
OTHER_KEY = b"other-code-pepper"
SEEDS = range(20)


def reference_check_digit(body: str) -> str:
    """ISO 7064 MOD 11,10 as the standard states it: the digit c making the final P == 1."""
    for candidate in "0123456789":
        product = 10
        for ch in body + candidate:
            total = (product + int(ch)) % 10 or 10
            product = (2 * total) % 11
        if total == 1:  # the check holds when the last S equals 1
            return candidate
    raise AssertionError("no check digit")  # pragma: no cover


def valid_code(seed: int) -> str:
    return generate_code(random.Random(seed))


# --- check digit -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["00000000000", "12345678901", "99999999999", "79462188341", "10000000000"]
)
def test_check_digit_body_matches_reference(body):
    assert check_digit(body) == reference_check_digit(body)


def test_check_digit_published_example_expected():
    # ISO 7064 MOD 11,10 worked example: "0794" has check digit 5.
    assert check_digit("0794") == "5"


# --- generation ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_generate_code_seeded_twelve_digits_valid(seed):
    code = valid_code(seed)
    assert len(code) == CODE_LENGTH == 12
    assert code.isascii()
    assert code.isdigit()
    assert code[-1] == reference_check_digit(code[:-1])
    assert code_problem(code) is None


def test_generate_code_same_seed_same_code():
    assert valid_code(7) == valid_code(7)
    assert valid_code(7) != valid_code(8)


def test_generate_code_without_rng_valid():
    code = generate_code()
    assert len(code) == 12
    assert code_problem(code) is None


# --- error detection -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_code_problem_every_single_digit_substitution_code_checksum(seed):
    code = valid_code(seed)
    checked = 0
    for position in range(CODE_LENGTH):
        for digit in "0123456789":
            if digit == code[position]:
                continue
            mutated = code[:position] + digit + code[position + 1 :]
            assert code_problem(mutated) == "code_checksum", (code, mutated)
            checked += 1
    assert checked == CODE_LENGTH * 9


def test_code_problem_adjacent_transpositions_mostly_code_checksum():
    rng = random.Random(2024)
    swaps = detected = 0
    for _ in range(500):
        code = generate_code(rng)
        for i in range(CODE_LENGTH - 1):
            if code[i] == code[i + 1]:
                continue
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            swaps += 1
            detected += code_problem(swapped) == "code_checksum"
    assert swaps > 4000
    assert detected / swaps >= 0.90


@pytest.mark.parametrize(
    "raw",
    ["", "12345678901", "1234567890123", "12345678901a", "abcdefghijkl", "١٢٣٤٥٦٧٨٩٠١٢"],
)
def test_code_problem_wrong_shape_code_format(raw):
    assert code_problem(raw) == "code_format"


# --- normalization and formatting ------------------------------------------------------


KNOWN_CODE = "602173499859"  # body 60217349985, MOD 11,10 check digit 9


def test_known_code_valid():
    assert check_digit(KNOWN_CODE[:-1]) == reference_check_digit(KNOWN_CODE[:-1]) == "9"
    assert code_problem(KNOWN_CODE) is None


@pytest.mark.parametrize(
    "raw",
    [
        "602173499859",
        "6021 7349 9859",
        "6021-7349-9859",
        " 6021  7349\t9859 ",
        "6021\u30007349\u30009859",
        "６０２１７３４９９８５９",
        "６０２１－７３４９－９８５９",
        "6021.7349/9859",
    ],
)
def test_normalize_code_typed_variants_bare_digits(raw):
    assert normalize_code(raw) == KNOWN_CODE
    assert code_problem(raw) is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("123456789012", "1234 5678 9012"),
        ("12345678", "1234 5678"),
        ("123456", "1234 56"),
        ("", ""),
    ],
)
def test_format_code_groups_of_four(code, expected):
    assert format_code(code) == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_format_code_roundtrip_normalize_same_code(seed):
    code = valid_code(seed)
    printed = format_code(code)
    assert len(printed) == 14
    assert printed.count(" ") == 2
    assert normalize_code(printed) == code


def test_code_hash_is_keyed_hash_of_normalized_digits():
    code = valid_code(1)
    assert code_hash(KEY, format_code(code)) == keyed_hash(KEY, "voting-code", code)
    assert code_hash(KEY, code) == code_hash(KEY, format_code(code))


def test_code_hash_different_key_differs():
    code = valid_code(1)
    assert code_hash(KEY, code) != code_hash(OTHER_KEY, code)


def test_code_hash_not_unkeyed_sha256():
    code = valid_code(1)
    assert code_hash(KEY, code) != hashlib.sha256(code.encode()).hexdigest()


# --- receipts --------------------------------------------------------------------------


def test_receipt_alphabet_crockford_32_symbols():
    assert len(RECEIPT_ALPHABET) == 32
    assert len(set(RECEIPT_ALPHABET)) == 32
    assert not set("ILOU") & set(RECEIPT_ALPHABET)


@pytest.mark.parametrize("seed", SEEDS)
def test_generate_receipt_seeded_sixteen_alphabet_chars(seed):
    receipt = generate_receipt(random.Random(seed))
    assert len(receipt) == RECEIPT_LENGTH == 16
    assert set(receipt) <= set(RECEIPT_ALPHABET)
    assert normalize_receipt(receipt) == receipt


def test_generate_receipt_without_rng_sixteen_alphabet_chars():
    receipt = generate_receipt()
    assert len(receipt) == 16
    assert set(receipt) <= set(RECEIPT_ALPHABET)


def test_generate_receipt_many_seeds_distinct():
    receipts = {generate_receipt(random.Random(seed)) for seed in range(200)}
    assert len(receipts) == 200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ABCD-EFGH-JKMN-PQRS", "ABCDEFGHJKMNPQRS"),
        ("abcd efgh jkmn pqrs", "ABCDEFGHJKMNPQRS"),
        ("O0O0-IiLl-1111-oooo", "0000111111110000"),
        ("ＡＢＣＤ－ＥＦＧＨ", "ABCDEFGH"),
        ("  x y z  ", "XYZ"),
    ],
)
def test_normalize_receipt_typed_variants_canonical(raw, expected):
    assert normalize_receipt(raw) == expected


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [("ABCDEFGHJKMNPQRS", "ABCD-EFGH-JKMN-PQRS"), ("0123456789", "0123-4567-89")],
)
def test_format_receipt_groups_of_four(receipt, expected):
    assert format_receipt(receipt) == expected


@pytest.mark.parametrize("seed", range(5))
def test_receipt_hash_formatted_and_bare_equal(seed):
    receipt = generate_receipt(random.Random(seed))
    expected = hashlib.sha256(receipt.encode()).hexdigest()
    assert receipt_hash(receipt) == expected
    assert receipt_hash(format_receipt(receipt)) == expected
    assert receipt_hash(format_receipt(receipt).lower()) == expected


def test_receipt_hash_confusable_letters_equal():
    assert receipt_hash("10AB-CDEF-GH01-0000") == receipt_hash("lOab cdef ghoi OOOO")


def test_receipt_hash_different_receipt_differs():
    assert receipt_hash("ABCDEFGHJKMNPQRS") != receipt_hash("ABCDEFGHJKMNPQRT")
