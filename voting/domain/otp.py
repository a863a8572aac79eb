"""Phone verification codes (手机验证码): the rules of the second voting channel.

* A code is 6 decimal digits drawn from a CSPRNG (about 20 bits); it is stored only as a
  keyed hash bound to its round and phone, and compared in constant time.
* It lives 5 minutes: accepted while ``now < expires_at`` (at exactly 5:00 it is refused).
* It allows 5 guesses. The counter is decremented atomically *before* any comparison, so
  parallel guesses cannot get more than 5 evaluations between them.
* A new code for the same phone and round kills the previous one; a used code is dead.
* Sends per phone: one per 60 s, and at most 5 per round in any 24 hours. After that the
  resident is sent to the liaison station rather than locked out for long.
* Every rule holds identically whether or not the phone is on the roll: a request for
  someone who is not on it writes a challenge too (a code nobody receives), so neither the
  answer nor the caps tell an outsider who is on the roll.
"""

from __future__ import annotations

import math
import random
import secrets
import unicodedata
from datetime import datetime, timedelta

from .errors import VotingError
from .identity import keyed_hash, mask_tail

CODE_DIGITS = 6
TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_COOLDOWN = timedelta(seconds=60)
MAX_SENDS_PER_DAY = 5
SEND_WINDOW = timedelta(hours=24)
PURPOSE = "otp"

_system_rng = secrets.SystemRandom()


class SendRefused(VotingError):
    """No code sent now: cool-down, the phone's daily cap or the global cap."""

    code = "otp_send_refused"


def generate_code(rng: random.Random | None = None) -> str:
    """A new 6-digit code (leading zeros kept)."""
    rng = rng or _system_rng
    return f"{rng.randrange(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def normalize_code(raw: str) -> str:
    """Fold full-width digits and drop spaces and separators a person might type."""
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(ch for ch in folded if ch.isalnum())


def code_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a phone code ("otp_format"), or None."""
    code = normalize_code(raw)
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        return "otp_format"
    return None


def code_hash(key: bytes, code: str, *, round_id: int, phone_hmac: str) -> str:
    """The stored form of a code: keyed, and bound to its round and phone."""
    return keyed_hash(key, PURPOSE, f"{round_id}:{phone_hmac}:{normalize_code(code)}")


def expiry(now: datetime) -> datetime:
    """When a code sent at ``now`` stops being accepted."""
    return now + TTL


def is_live(expires_at: datetime, now: datetime) -> bool:
    """True while the code may still be tried (``now < expires_at``)."""
    return now < expires_at


def cooldown_remaining(last_sent_at: datetime | None, now: datetime) -> int:
    """Whole seconds to wait before the next send to the same phone (0: may send)."""
    if last_sent_at is None:
        return 0
    left = (last_sent_at + RESEND_COOLDOWN - now).total_seconds()
    return max(math.ceil(left), 0)


def can_send(sends_today: int, limit: int = MAX_SENDS_PER_DAY) -> bool:
    """True if the phone has had fewer than ``limit`` codes for the round in 24 hours."""
    return sends_today < limit


def under_global_cap(sent_last_hour: int, cap: int) -> bool:
    """True while the whole service has sent fewer than ``cap`` codes in the last hour."""
    return sent_last_hour < cap


def send_refusal(
    last_sent_at: datetime | None, sends_today: int, sent_last_hour: int, cap: int, now: datetime
) -> SendRefused | None:
    """Why no code may be sent now (cool-down first), or None."""
    if wait := cooldown_remaining(last_sent_at, now):
        return SendRefused("otp_cooldown", seconds=wait)
    if not can_send(sends_today):
        return SendRefused("otp_daily_cap")
    if not under_global_cap(sent_last_hour, cap):
        return SendRefused("otp_busy")
    return None


def attempt_error_code(attempts_left: int) -> str:
    """The error for a wrong guess: "otp_wrong" while tries remain, else "otp_exhausted"."""
    return "otp_wrong" if attempts_left > 0 else "otp_exhausted"


def names_match(typed: str, on_roll: str) -> bool:
    """Names are equal once folded (NFKC) and stripped of every space."""
    return bool(typed.strip()) and _fold_name(typed) == _fold_name(on_roll)


def _fold_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def masked_phone(phone: str) -> str:
    """What a log line may say about a phone: ``****1234``."""
    return "****" + mask_tail(phone)


def sms_text(code: str) -> str:
    """The message a resident receives; it names no person and no round."""
    minutes = int(TTL.total_seconds() // 60)
    return (
        f"【民生实事投票】您的验证码是 {code}，{minutes} 分钟内有效。"
        "请勿告诉任何人，工作人员不会向您索要验证码。"
    )
