"""What a street may set for its council: the quorum and the 公示's objection days.

The quorum is a fraction q, and strictly more than q of the members must be present; a
street may raise it from the default 2/3 or lower it, but never below a simple majority
(1/2) and never to all members (q < 1, or no meeting could ever be quorate).
"""

from __future__ import annotations

from fractions import Fraction

MIN_QUORUM = Fraction(1, 2)
MIN_OBJECTION_DAYS, MAX_OBJECTION_DAYS = 1, 30

# (error code, form field) pairs, as the other input checks report them.
Problems = list[tuple[str, str]]


def settings_problems(numerator: int, denominator: int, objection_days: int) -> Problems:
    """Every reason the settings cannot be saved; empty when they are valid."""
    problems: Problems = []
    if denominator < 1:
        problems.append(("quorum_denominator", "quorum_den"))
    elif not MIN_QUORUM <= Fraction(numerator, denominator) < 1:
        problems.append(("quorum_bounds", "quorum_num"))
    if not MIN_OBJECTION_DAYS <= objection_days <= MAX_OBJECTION_DAYS:
        problems.append(("objection_days_range", "objection_days"))
    return problems


def quorum_text(numerator: int, denominator: int) -> str:
    """The quorum as the audit chain and the page write it: "2/3"."""
    return f"{numerator}/{denominator}"


def reduced(numerator: int, denominator: int) -> tuple[int, int]:
    """The fraction in lowest terms (4/6 is stored as 2/3)."""
    q = Fraction(numerator, denominator)
    return q.numerator, q.denominator
