"""Objections to a 公示 (异议): name, ID number and phone → a 6-digit code → code and text.

Verified as phone voting is (``services.otp``, purpose ``objection``): every page answers the
same whether or not the person is on the roll, and the session keeps only the challenge id.
"""

from __future__ import annotations

from flask import redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from ..domain.errors import Conflict, InvalidCode, InvalidInput
from ..domain.otp import SendRefused
from ..forms_phone import ObjectionForm, PhoneRequestForm
from ..models import CouncilNotice
from ..services import notice_period
from ..services import objections as objection_service
from .messages import describe, message_for
from .public import bp
from .vote import _pepper
from .vote_phone import _deferred_sender, _limit_per_phone, _limit_requests, _limit_verify

OBJECTION_KEY = "objection"


def _open_notice(round_id: int) -> CouncilNotice | ResponseReturnValue:
    """The round's 公示 while objections are taken, else the page saying why not."""
    notice = notice_period.notice_of(round_id)
    if notice is None:
        return render_template("public/objection_closed.html", round_id=round_id, notice=None), 404
    if not notice_period.objections_open(notice):
        page = render_template("public/objection_closed.html", round_id=round_id, notice=notice)
        return page, 409
    return notice


@bp.route("/rounds/<int:round_id>/objection", methods=["GET", "POST"])
@_limit_requests
@_limit_per_phone
def objection(round_id: int) -> ResponseReturnValue:
    notice = _open_notice(round_id)
    if not isinstance(notice, CouncilNotice):
        return notice
    form, error, status = PhoneRequestForm(), None, 200
    if form.validate_on_submit():
        try:
            challenge_id = objection_service.request_code(
                round_id,
                form.name.data or "",
                form.id_number.data or "",
                form.phone.data or "",
                pepper=_pepper(),
                sender=_deferred_sender(),
            )
        except InvalidInput as err:
            for code, field in err.params.get("problems", ()):
                form[field].errors = [*form[field].errors, message_for(code)]
            status = 422
        except (SendRefused, Conflict) as err:
            error, status = describe(err), 429 if isinstance(err, SendRefused) else 409
        else:
            session[OBJECTION_KEY] = {"c": challenge_id, "r": round_id}
            return redirect(url_for("public.objection_file", round_id=round_id))
    elif form.errors:
        status = 422
    page = render_template("public/objection.html", notice=notice, form=form, error=error)
    return page, status


@bp.route("/rounds/<int:round_id>/objection/file", methods=["GET", "POST"])
@_limit_verify
def objection_file(round_id: int) -> ResponseReturnValue:
    pending = session.get(OBJECTION_KEY)
    if not pending or pending.get("r") != round_id:
        return redirect(url_for("public.objection", round_id=round_id))
    notice = _open_notice(round_id)
    if not isinstance(notice, CouncilNotice):
        return notice
    form, error, status = ObjectionForm(), None, 200
    if form.validate_on_submit():
        try:
            number = objection_service.file_objection(
                pending["c"], form.code.data or "", form.body.data or "", pepper=_pepper()
            )
        except InvalidCode as err:
            form.code.errors = [describe(err)]
            status = 422
        except InvalidInput as err:
            form.body.errors = [describe(err)]
            status = 422
        except Conflict as err:
            session.pop(OBJECTION_KEY, None)
            error, status = describe(err), 409
        else:
            session.pop(OBJECTION_KEY, None)
            return redirect(url_for("public.notice", round_id=round_id, filed=number))
    elif form.errors:
        status = 422
    page = render_template("public/objection_file.html", notice=notice, form=form, error=error)
    return page, status
