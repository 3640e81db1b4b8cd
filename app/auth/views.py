"""Account pages: sign up, sign in, sign out, forgotten, reset and changed password, signed-in devices,
email verification and change."""
from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_jwt_extended import get_jwt

from app.auth import limits, services, sessions, verification
from app.auth.password_change import change_password
from app.auth.reset_mail import request_password_reset
from app.auth.tokens import end_web_session, login_required, start_web_session
from app.core.db import get_db
from app.core.errors import AuthenticationError, GlimpseError, RateLimitedError, ValidationError
from app.core.urls import safe_next

bp = Blueprint("auth", __name__)
NEW_PASSWORDS_DIFFER = "Type the same new password twice."  # nosec B105  (a message, not a password)


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def _form_failed(template: str, error: GlimpseError, form: dict, **context: object) -> Response:
    status = error.status
    response = current_app.make_response((
        render_template(template, form=form, error=error.message, field_errors=error.fields, **context),
        status,
    ))
    if isinstance(error, RateLimitedError):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("auth/signup.html", form={})
    form = _form("username", "email", "password")
    try:
        limits.limit_signup(request.remote_addr)
        user = services.create_user(get_db(), username=form["username"], email=form["email"],
                                    password=form["password"], rounds=current_app.config["BCRYPT_ROUNDS"])
    except GlimpseError as error:
        return _form_failed("auth/signup.html", error, {**form, "password": ""})  # nosec B105
    verification.start_signup_verification(user)
    flash(f"Welcome to Glimpse, {user['username']}!", "success")
    return start_web_session(redirect(url_for("main.index")), user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/login.html", form={}, next=next_url)
    form = _form("login", "password")
    try:
        user = limits.sign_in(get_db(), form["login"], form["password"], client_address=request.remote_addr,
                              rounds=current_app.config["BCRYPT_ROUNDS"])
    except (AuthenticationError, RateLimitedError) as error:
        return _form_failed("auth/login.html", error, {"login": form["login"]}, next=next_url)
    return start_web_session(redirect(next_url), user)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    flash("You are signed out.", "info")
    return end_web_session(redirect(url_for("main.index")))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("auth/forgot.html", form={})
    form = _form("email")
    try:
        limits.limit_password_forgot(request.remote_addr, form["email"])
    except RateLimitedError as error:
        return _form_failed("auth/forgot.html", error, form)
    request_password_reset(form["email"])
    return render_template("auth/forgot_sent.html", email=form["email"])


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    db, secret = get_db(), current_app.config["SECRET_KEY"]
    if request.method == "GET":
        try:
            user = services.user_for_reset_token(db, secret, token)
        except GlimpseError as error:
            return render_template("auth/reset_invalid.html", message=error.message), error.status
        return render_template("auth/reset.html", form={}, username=user["username"])
    try:
        services.reset_password(db, secret, token, request.form.get("password", ""),
                                current_app.config["BCRYPT_ROUNDS"])
    except GlimpseError as error:
        if error.fields:
            return _form_failed("auth/reset.html", error, {}, username="")
        return render_template("auth/reset_invalid.html", message=error.message), error.status
    flash("Your password is changed. Sign in with the new one.", "success")
    response = redirect(url_for("auth.login"))
    return end_web_session(response) if g.user else response


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def password_change() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("auth/password_change.html", form={})
    form = _form("current_password", "new_password", "confirm_password")
    try:
        if form["new_password"] != form["confirm_password"]:
            raise ValidationError("The new passwords differ.", fields={"confirm_password": NEW_PASSWORDS_DIFFER})
        change_password(get_db(), g.user, form["current_password"], form["new_password"], session_id=get_jwt()["sid"],
                        client_address=request.remote_addr, rounds=current_app.config["BCRYPT_ROUNDS"],
                        base_url=current_app.config["BASE_URL"])
    except GlimpseError as error:
        return _form_failed("auth/password_change.html", error, {})
    flash("Your password is changed. Every other device is signed out.", "success")
    return redirect(url_for("auth.password_change"))


@bp.get("/settings/sessions")
@login_required
def session_list() -> ResponseReturnValue:
    return render_template("auth/sessions.html", sessions=sessions.present_sessions(g.user, get_jwt()["sid"]))


@bp.post("/settings/sessions/<session_id>/end")
@login_required
def end_session(session_id: str) -> ResponseReturnValue:
    if session_id == get_jwt()["sid"]:
        flash("You are signed out.", "info")
        return end_web_session(redirect(url_for("main.index")))
    sessions.end_own_session(get_db(), g.user, session_id)
    flash("That device is signed out.", "success")
    return redirect(url_for("auth.session_list"))


@bp.post("/settings/sessions/end-others")
@login_required
def end_other_sessions() -> ResponseReturnValue:
    sessions.end_all_sessions(get_db(), g.user["_id"], keep=get_jwt()["sid"])
    flash("Every other device is signed out.", "success")
    return redirect(url_for("auth.session_list"))
@bp.app_context_processor
def email_verification_banner() -> dict[str, bool]:
    """Whether base.html shows the "verify your address" banner with its "send again" button."""
    user = g.get("user")
    return {"email_unverified": verification.needs_verification(user, required=verification.verification_required())}


@bp.get("/verify/<token>")
def verify_email(token: str) -> ResponseReturnValue:
    try:
        user = verification.verify_email(get_db(), current_app.config["SECRET_KEY"], token)
    except GlimpseError as error:
        return render_template("auth/verified.html", error=error.message), error.status
    return render_template("auth/verified.html", email=user["email"])


@bp.post("/verify/send-again")
@login_required
def send_verification_again() -> ResponseReturnValue:
    try:
        user = verification.send_again(g.user)
    except GlimpseError as error:
        flash(error.message, "error")
    else:
        flash(f"A new link is on its way to {user['email_verification']['email']}.", "success")
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
def change_email() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("auth/email.html", form={}, pending=services.pending_email(g.user))
    form = _form("email", "password")
    try:
        user = verification.change_email(g.user, form["email"], form["password"])
    except GlimpseError as error:
        return _form_failed("auth/email.html", error, {"email": form["email"]}, pending=services.pending_email(g.user))
    flash(f"Open the link we mailed to {services.pending_email(user)} to make it your address; "
          f"until then {user['email']} stays.", "success")
    return redirect(url_for("auth.change_email"))
