"""What a resident does on the phone, step by step, and what the tests read back."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from voting.domain.codes import receipt_hash
from voting.extensions import db
from voting.models import Ballot, Participation

from .conftest import LiveApp, Street

RECEIPT = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")  # 16 characters, grouped in fours
NEXT = re.compile("下一步")
CONFIRM = re.compile("确认投票")


def checkbox(page: Any, title: str) -> Any:
    # The title as a whole word: summaries may repeat it ("在空地增设停车位").
    return page.get_by_role("checkbox", name=re.compile(rf"(^|\s){re.escape(title)}(\s|$)"))


def open_ballot(page: Any, street: Street, code_index: int = 0) -> None:
    """Scan the slip's QR code: the link lands on the ballot."""
    page.goto(f"/vote/c/{street.codes[code_index]}")
    page.wait_for_url(f"**{street.path('ballot')}")


def tick(page: Any, street: Street, *indexes: int) -> None:
    """Tap each candidate's label, as a finger would, and see the box ticked."""
    for i in indexes:
        box = checkbox(page, street.titles[i])
        page.locator(f"label[for='{box.get_attribute('id')}']").tap()
        assert box.is_checked()


def go_next(page: Any, street: Street) -> None:
    page.get_by_role("button", name=NEXT).tap()
    page.wait_for_url(f"**{street.path('review')}")


def receipt_text(page: Any) -> str:
    return page.locator("#receipt-code").inner_text().strip()


def ballots(live: LiveApp, round_id: int) -> list[Ballot]:
    with live.app.app_context():
        rows = db.session.scalars(select(Ballot).where(Ballot.round_id == round_id)).all()
        db.session.expunge_all()
        return list(rows)


def participations(live: LiveApp, round_id: int) -> int:
    with live.app.app_context():
        query = select(func.count()).where(Participation.round_id == round_id)
        return db.session.scalar(query) or 0


def matches_ballot(receipt: str, ballot: Ballot) -> bool:
    return receipt_hash(receipt) == ballot.receipt_hash
