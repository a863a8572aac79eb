"""What anyone may see of the selected projects: progress, supervision and the dashboard.

No personal data: supervision rounds show how many deputies, council members and residents
took part, never their names; no staff names at all.
"""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Street
from ..services import implementation, satisfaction, supervision
from ..services._tx import utcnow

bp = Blueprint("projects", __name__)


@bp.get("/projects/<int:implementation_id>")
def project(implementation_id: int):  # type: ignore[no-untyped-def]
    record = implementation.load(implementation_id)
    if record.entry.round.status != "finalized":
        abort(404)
    today = implementation.local_today(utcnow())
    figures = supervision.counts([record.id], today)
    kinds = {v.id: Counter(p.kind for p in v.participants) for v in record.visits}
    return render_template(
        "public/project.html",
        record=record,
        entry=record.entry,
        counts=figures.per_project[record.id],
        kinds=kinds,
        today=today,
        rating=satisfaction.rating_of(record.round_id, record.id),
    )


@bp.get("/streets/<int:street_id>/supervision")
def dashboard(street_id: int):  # type: ignore[no-untyped-def]
    street = db.session.scalar(select(Street).where(Street.id == street_id))
    if street is None:
        abort(404)
    records = supervision.street_records(street_id)
    figures = supervision.counts([r.id for r in records], implementation.local_today(utcnow()))
    return render_template(
        "public/supervision_dashboard.html", street=street, records=records, figures=figures
    )
