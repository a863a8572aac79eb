"""Staff log-in and log-out."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..domain.staff import Role
from ..extensions import limiter
from ..forms import ActionForm, LoginForm
from ..services import staff as staff_service
from .redirects import safe_next

bp = Blueprint("auth", __name__, url_prefix="/staff")

HOME = {
    Role.STATION: "station.index",
    Role.OFFICIAL: "official.index",
    Role.CLERK: "council.index",
    Role.SUPERVISOR: "supervision.index",
}


def staff_home() -> str:
    return url_for(HOME[current_user.role_enum])


def _username_key() -> str:
    return "login-user:" + request.form.get("username", "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USER"], methods=["POST"], key_func=_username_key
)
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(staff_home())
    form = LoginForm()
    if form.validate_on_submit():
        user = staff_service.authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), staff_home()))
        form.password.errors.append(_("用户名或密码不正确。"))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    if ActionForm().validate_on_submit():
        logout_user()
    return redirect(url_for("public.index"))
