"""The public receipt board: anyone can see that a ballot with their receipt was counted.

The board lists the first 8 characters of every receipt in the round, sorted (never in
cast order, never with choices). Checking a full receipt compares its SHA-256 with the
stored hash. A receipt proves that a ballot was recorded, not what it said, so showing it
to someone else proves nothing about the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..domain import codes
from ..extensions import db
from ..models import Ballot

PAGE_SIZE = 400


@dataclass(frozen=True)
class BoardPage:
    hints: list[str]
    total: int
    next_after: str | None


def board_page(round_id: int, *, after: str = "", size: int | None = None) -> BoardPage:
    """One page of receipt hints in sorted order, after the hint ``after`` (keyset paging)."""
    size = size or PAGE_SIZE
    hints = db.session.scalars(
        select(Ballot.receipt_hint)
        .where(Ballot.round_id == round_id, Ballot.receipt_hint > after)
        .order_by(Ballot.receipt_hint)
        .limit(size + 1)
    ).all()
    total = db.session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
    )
    more = len(hints) > size
    hints = list(hints[:size])
    return BoardPage(hints, total or 0, hints[-1] if more else None)


@dataclass(frozen=True)
class ReceiptCheck:
    found: bool
    batch_no: int | None


def check_receipt(round_id: int, raw_receipt: str) -> ReceiptCheck:
    """Whether a ballot with this receipt is in the round, and in which sealed batch."""
    row = db.session.execute(
        select(Ballot.batch_no).where(
            Ballot.round_id == round_id, Ballot.receipt_hash == codes.receipt_hash(raw_receipt)
        )
    ).first()
    return ReceiptCheck(row is not None, row.batch_no if row else None)
