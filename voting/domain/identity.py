"""Resident identifiers: ID-card numbers (GB 11643-1999) and mobile phone numbers.

Neither is ever stored in clear. Matching uses a keyed HMAC-SHA256 whose key (the
"pepper") lives in configuration, never in the database: an unkeyed hash of an ID number
falls to enumeration in minutes, since the space for one district is about 3×10⁷.
Display uses only the last four characters.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def _fold(text: str) -> str:
    """NFKC-fold (full-width digits become ASCII) and drop spaces, hyphens and dots."""
    if text.isascii() and text.isalnum():  # already folded: the common case, on every row
        return text
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if ch not in " \t-._\u3000")


def normalize_id_number(raw: str) -> str:
    """Return the canonical 18-character form: folded, trailing x upper-cased."""
    return _fold(raw).upper()


def id_check_char(first17: str) -> str:
    """The GB 11643 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_number_problem(raw: str) -> str | None:
    """Why ``raw`` is not a valid 18-digit resident ID number, or None if it is."""
    number = normalize_id_number(raw)
    if len(number) != 18:
        return "id_length"
    if not number.isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "id_chars"
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "id_birth_date"
    if id_check_char(number[:17]) != number[17]:
        return "id_checksum"
    return None


def is_valid_id_number(raw: str) -> bool:
    """True if ``raw`` is an 18-digit ID number with a correct check character."""
    return id_number_problem(raw) is None


def normalize_phone(raw: str) -> str:
    """Return an 11-digit mainland mobile number, stripping +86/0086 and separators."""
    phone = _fold(raw).replace("(", "").replace(")", "")
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    if len(phone) == 13 and phone.startswith("86"):
        phone = phone[2:]
    return phone


def phone_problem(raw: str) -> str | None:
    """Why ``raw`` is not a mainland mobile number, or None if it is."""
    phone = normalize_phone(raw)
    if len(phone) != 11 or not phone.isdigit() or phone[0] != "1":
        return "phone_format"
    return None


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under ``key``, domain-separated by ``purpose``; hex."""
    message = f"{purpose}:{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def id_hmac(key: bytes, raw_id: str) -> str:
    """The matching key for an ID number (normalized first)."""
    return keyed_hash(key, "id", normalize_id_number(raw_id))


def phone_hmac(key: bytes, raw_phone: str) -> str:
    """The matching key for a phone number (normalized first)."""
    return keyed_hash(key, "phone", normalize_phone(raw_phone))


def mask_tail(value: str, keep: int = 4) -> str:
    """The last ``keep`` characters, which is all a page or export ever shows."""
    return value[max(len(value) - keep, 0) :] if keep > 0 else ""
