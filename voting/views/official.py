"""Officials of the street's NPC working committee: review, set up, open, close, export."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wsgi import wrap_file
from wtforms.fields.choices import SelectChoice

from ..domain.ballots import BallotKind
from ..domain.errors import InvalidInput
from ..domain.lifecycle import RoundStatus
from ..domain.staff import CandidateStatus, Role
from ..domain.tally import OutcomeRule
from ..forms import ActionForm, CloseForm, ReviewForm, RoundForm
from ..forms_street import StreetSettingsForm
from ..services import breakdowns, export_xlsx, intake, results, rounds, street_settings
from ..services._tx import utcnow
from .decorators import role_required
from .messages import describe, describe_all, message_for

bp = Blueprint("official", __name__, url_prefix="/official")


@bp.route("/")
@role_required(Role.OFFICIAL)
def index():  # type: ignore[no-untyped-def]
    street = current_user.street_id
    return render_template(
        "official/index.html",
        pending=intake.street_candidates(street, CandidateStatus.SUBMITTED),
        rounds=rounds.street_rounds(street),
    )


@bp.route("/candidates")
@role_required(Role.OFFICIAL)
def candidates():  # type: ignore[no-untyped-def]
    return render_template(
        "official/candidates.html", candidates=intake.street_candidates(current_user.street_id)
    )


@bp.route("/candidates/<int:candidate_id>/review", methods=["GET", "POST"])
@role_required(Role.OFFICIAL)
def review(candidate_id: int):  # type: ignore[no-untyped-def]
    candidate = next(
        (c for c in intake.street_candidates(current_user.street_id) if c.id == candidate_id), None
    )
    if candidate is None:
        return render_template("errors/http.html", error=None), 404
    form = ReviewForm()
    error = None
    if form.validate_on_submit():
        try:
            intake.review_candidate(
                current_user,
                candidate_id,
                accept=form.decision.data == "accept",
                reason=form.reason.data or "",
            )
        except InvalidInput as err:
            error = describe(err)
        else:
            return redirect(url_for("official.index"))
    status = 422 if form.errors or error else 200
    return render_template(
        "official/review.html", candidate=candidate, form=form, error=error
    ), status


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def _round_form(rnd=None) -> RoundForm:  # type: ignore[no-untyped-def]
    form = RoundForm()
    street = current_user.street_id
    form.community_ids.choices = [
        SelectChoice(c.id, c.name) for c in intake.street_communities(street)
    ]
    form.candidate_ids.choices = [
        SelectChoice(c.id, f"{c.title}（{c.community.name}）")
        for c in intake.street_candidates(street, CandidateStatus.ACCEPTED)
    ]
    if rnd is not None and not form.is_submitted():
        form.process(obj=rnd)
        form.community_ids.data = [c.id for c in rnd.communities]
        form.candidate_ids.data = [e.candidate_id for e in rnd.entries]
        form.opens_at.data = rnd.opens_at.astimezone(_zone()).replace(tzinfo=None)
        form.closes_at.data = rnd.closes_at.astimezone(_zone()).replace(tzinfo=None)
    return form


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=_zone())


def _round_input(form: RoundForm) -> rounds.RoundInput:
    kind = BallotKind(form.ballot_kind.data)
    return rounds.RoundInput(
        title=(form.title.data or "").strip(),
        description=(form.description.data or "").strip(),
        community_ids=tuple(form.community_ids.data or ()),
        candidate_ids=tuple(form.candidate_ids.data or ()),
        opens_at=_aware(form.opens_at.data),
        closes_at=_aware(form.closes_at.data),
        min_choices=form.min_choices.data,
        max_choices=form.max_choices.data,
        budget_yuan=form.budget_yuan.data,
        seats=form.seats.data,
        outcome_rule=OutcomeRule(form.outcome_rule.data),
        running_results_public=bool(form.running_results_public.data),
        ballot_kind=kind,
        # A value typed for another kind of ballot is ignored, not refused.
        points_total=form.points_total.data if kind is BallotKind.CUMULATIVE else None,
        min_spend_percent=form.min_spend_percent.data if kind is BallotKind.KNAPSACK else None,
    )


@bp.route("/rounds/new", methods=["GET", "POST"])
@role_required(Role.OFFICIAL)
def new_round():  # type: ignore[no-untyped-def]
    form = _round_form()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            round_id = rounds.create_round(current_user, _round_input(form))
        except InvalidInput as err:
            errors = describe_all(err)
        else:
            return redirect(url_for("official.round_detail", round_id=round_id))
    status = 422 if form.errors or errors else 200
    return render_template("official/round_form.html", form=form, errors=errors, round=None), status


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@role_required(Role.OFFICIAL)
def edit_round(round_id: int):  # type: ignore[no-untyped-def]
    rnd = rounds.load_round(round_id)
    form = _round_form(rnd)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            rounds.update_round(current_user, round_id, _round_input(form))
        except InvalidInput as err:
            errors = describe_all(err)
        else:
            return redirect(url_for("official.round_detail", round_id=round_id))
    status = 422 if form.errors or errors else 200
    return render_template("official/round_form.html", form=form, errors=errors, round=rnd), status


@bp.route("/rounds/<int:round_id>")
@role_required(Role.OFFICIAL)
def round_detail(round_id: int):  # type: ignore[no-untyped-def]
    rnd = rounds.load_round(round_id)
    problems = rounds.open_problems(rnd) if rnd.status_enum is RoundStatus.DRAFT else []
    data = results.round_results(round_id, staff=True)
    now = utcnow()
    parts = None
    if rnd.status_enum is not RoundStatus.DRAFT:
        # Exact counts, with the cells the public page withholds marked (docs/decisions.md).
        parts = breakdowns.round_breakdowns(rnd, zone=_zone(), now=now, exact=True)
    return render_template(
        "official/round.html",
        round=rnd,
        problems=problems,
        results=data,
        breakdowns=parts,
        action_form=ActionForm(),
        close_form=CloseForm(),
        now=now,
    )


@bp.route("/rounds/<int:round_id>/open", methods=["POST"])
@role_required(Role.OFFICIAL)
def open_round(round_id: int):  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        rounds.open_round(current_user, round_id)
    return redirect(url_for("official.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@role_required(Role.OFFICIAL)
def close_round(round_id: int):  # type: ignore[no-untyped-def]
    form = CloseForm()
    if form.validate_on_submit():
        rounds.close_round(current_user, round_id, reason=form.reason.data or "")
    return redirect(url_for("official.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/tally.csv")
@role_required(Role.OFFICIAL, Role.CLERK)
def tally_csv(round_id: int):  # type: ignore[no-untyped-def]
    now = utcnow()
    rnd = rounds.load_round(round_id)
    if rnd.street_id != current_user.street_id:
        return render_template("errors/http.html", error=None), 403
    results.record_export(current_user, round_id, now=now)
    body = results.tally_csv(round_id, actor_name=current_user.username, now=now)
    filename = f"tally-round-{round_id}.csv"
    return Response(
        stream_with_context(body),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.route("/rounds/<int:round_id>/export.xlsx")
@role_required(Role.OFFICIAL)
def export_xlsx_file(round_id: int):  # type: ignore[no-untyped-def]
    now = utcnow()
    rnd = rounds.load_round(round_id)
    if rnd.street_id != current_user.street_id:
        return render_template("errors/http.html", error=None), 403
    name = _("%(title)s（计票与参与情况）.xlsx", title=rnd.title)
    actor = current_user.username
    export_xlsx.record_export(current_user, round_id, now=now)
    out = export_xlsx.round_workbook(round_id, actor_name=actor, now=now, zone=_zone())
    size = out.seek(0, 2)
    out.seek(0)
    response = Response(
        wrap_file(request.environ, out), mimetype=export_xlsx.MIMETYPE, direct_passthrough=True
    )
    response.content_length = size
    response.headers["Content-Disposition"] = _attachment(name, f"round-{round_id}.xlsx")
    return response


@bp.route("/street", methods=["GET", "POST"])
@role_required(Role.OFFICIAL)
def street():  # type: ignore[no-untyped-def]
    """The street's council quorum and objection days; every change is audited."""
    street_id = current_user.street_id
    current = street_settings.settings_of(street_id)
    form = StreetSettingsForm(obj=current)
    if form.validate_on_submit():
        wanted = street_settings.StreetSettings(
            form.quorum_num.data or 0, form.quorum_den.data or 0, form.objection_days.data or 0
        )
        try:
            street_settings.update_settings(current_user, street_id, wanted)
        except InvalidInput as err:
            for code, name in err.params.get("problems", ()):
                form[name].errors = [*form[name].errors, message_for(code)]
        else:
            return redirect(url_for("official.street", saved=1))
    status = 422 if form.errors else 200
    saved = request.args.get("saved") == "1" and not form.is_submitted()
    return render_template("official/street.html", form=form, current=current, saved=saved), status


_UNSAFE_IN_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def _attachment(name: str, fallback: str) -> str:
    """Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266, RFC 5987)."""
    cleaned = _UNSAFE_IN_FILENAME.sub("_", name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"
