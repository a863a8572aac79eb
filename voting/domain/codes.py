"""Voting codes (投票码) and receipt codes (回执码).

A voting code is 12 decimal digits: 11 random digits and an ISO 7064 MOD 11,10 check
digit, printed as ``1234 5678 9012``. Digits only, because most voters type it on a phone's
number pad, many of them elderly. The check digit catches every single mistyped digit and
most swapped neighbours before the database is asked, so a typo gets its own message.
11 random digits give 10¹¹ possibilities: with a few thousand live codes per round, a
guess succeeds with probability about 10⁻⁸, and guesses are rate-limited.

A code is stored only as a keyed hash; it is single-use and expires with its round.

A receipt code is 80 random bits in Crockford base32, printed in four groups of four. It is
stored only as its SHA-256, so the public receipt board can list receipts without the
database holding the codes themselves.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import unicodedata

from .identity import keyed_hash

CODE_RANDOM_DIGITS = 11
CODE_LENGTH = CODE_RANDOM_DIGITS + 1
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
RECEIPT_LENGTH = 16

_system_rng = secrets.SystemRandom()


def check_digit(digits: str) -> str:
    """ISO 7064 MOD 11,10 check digit for a string of decimal digits."""
    product = 10
    for ch in digits:
        total = (product + int(ch)) % 10 or 10
        product = (2 * total) % 11
    return str((11 - product) % 10)


def generate_code(rng: random.Random | None = None) -> str:
    """A new 12-digit voting code (no separators)."""
    rng = rng or _system_rng
    body = "".join(str(rng.randrange(10)) for _ in range(CODE_RANDOM_DIGITS))
    return body + check_digit(body)


def normalize_code(raw: str) -> str:
    """Fold full-width digits and drop every separator a person might type."""
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in folded if ch.isalnum())


def code_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a voting code ("code_format", "code_checksum"), or None."""
    code = normalize_code(raw)
    if len(code) != CODE_LENGTH or not code.isascii() or not code.isdigit():
        return "code_format"
    if check_digit(code[:-1]) != code[-1]:
        return "code_checksum"
    return None


def format_code(code: str) -> str:
    """Group a code in fours for printing: ``1234 5678 9012``."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(key: bytes, raw_code: str) -> str:
    """The stored form of a voting code: a keyed hash of its normalized digits."""
    return keyed_hash(key, "voting-code", normalize_code(raw_code))


def generate_receipt(rng: random.Random | None = None) -> str:
    """A new receipt code: 16 Crockford base32 characters (80 bits)."""
    rng = rng or _system_rng
    return "".join(rng.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def normalize_receipt(raw: str) -> str:
    """Upper-case, drop separators and map the letters Crockford reads as digits."""
    folded = normalize_code(raw).upper()
    return folded.translate(str.maketrans("OIL", "011"))


def format_receipt(receipt: str) -> str:
    """Group a receipt in fours: ``ABCD-EFGH-JKMN-PQRS``."""
    return "-".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


def receipt_hash(raw_receipt: str) -> str:
    """SHA-256 of the normalized receipt, hex; what the ballot row keeps."""
    return hashlib.sha256(normalize_receipt(raw_receipt).encode()).hexdigest()
