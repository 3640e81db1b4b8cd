"""Accounts: sign up, sign in and out, bearer tokens, password reset and change, signed-in sessions."""
from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user, get_jwt, jwt_required

from app.api import bp
from app.api.schemas import (
    EmailBody,
    LoginBody,
    MessageSchema,
    PasswordChangeBody,
    PasswordResetBody,
    PrivateUserSchema,
    SessionListSchema,
    SignupBody,
    TokensSchema,
    VerifyBody,
)
from app.auth import limits, services, sessions, verification
from app.auth.password_change import change_password
from app.auth.reset_mail import request_password_reset
from app.auth.tokens import access_token_required, end_current_session, issue_api_tokens, refresh_api_tokens
from app.core.db import get_db

RATE_LIMITED = "Too many attempts; see the Retry-After header"


@bp.post("/auth/signup")
@bp.fails(409, "Username or email already taken")
@bp.fails(429, RATE_LIMITED)
@bp.arguments(SignupBody)
@bp.response(201, PrivateUserSchema, description="The new account")
def signup(body: dict) -> ResponseReturnValue:
    """Create an account; a link to verify its address is mailed to it (unless the instance does not
    require verification)"""
    limits.limit_signup(request.remote_addr)
    user = services.create_user(get_db(), username=body["username"], email=body["email"],
                                password=body["password"], rounds=current_app.config["BCRYPT_ROUNDS"])
    verification.start_signup_verification(user)
    return jsonify(services.private_user(user)), 201


@bp.post("/auth/login")
@bp.fails(401, "Wrong credentials, or a suspended account")
@bp.fails(429, RATE_LIMITED)
@bp.arguments(LoginBody)
@bp.response(200, TokensSchema, description="Bearer tokens")
def login(body: dict) -> ResponseReturnValue:
    """Sign in with username or email"""
    user = limits.sign_in(get_db(), body["login"], body["password"], client_address=request.remote_addr,
                          rounds=current_app.config["BCRYPT_ROUNDS"])
    return jsonify(issue_api_tokens(user))


@bp.post("/auth/refresh")
@jwt_required(refresh=True, locations=["headers"])
@bp.token_required
@bp.response(200, TokensSchema, description="New bearer tokens")
def refresh() -> ResponseReturnValue:
    """Trade the session's current refresh token (sent as the bearer token) for new tokens; the one
    sent is spent, and sending a spent one again ends the session"""
    return jsonify(refresh_api_tokens())


@bp.post("/auth/logout")
@jwt_required(locations=["headers"], verify_type=False)  # either token of the session signs it out
@bp.token_required
@bp.no_content("Signed out")
def logout() -> ResponseReturnValue:
    """End this sign-in's session: every access and refresh token it issued stops working"""
    end_current_session()
    return "", 204


@bp.post("/auth/password/forgot")
@bp.fails(429, RATE_LIMITED)
@bp.arguments(EmailBody)
@bp.response(202, MessageSchema, description="Accepted, whether or not the address is known")
def password_forgot(body: dict) -> ResponseReturnValue:
    """Mail a password-reset link"""
    limits.limit_password_forgot(request.remote_addr, body["email"])
    request_password_reset(body["email"])
    return jsonify({"message": "If that address belongs to an account, a reset link is on its way."}), 202


@bp.post("/auth/password/reset")
@bp.fails(400, "Token expired, invalid or already used")
@bp.arguments(PasswordResetBody)
@bp.response(200, MessageSchema, description="Password changed")
def password_reset(body: dict) -> ResponseReturnValue:
    """Set a new password with the token from the mailed link; ends every session"""
    services.reset_password(get_db(), current_app.config["SECRET_KEY"], body["token"], body["password"],
                            current_app.config["BCRYPT_ROUNDS"])
    return jsonify({"message": "Password changed. Every earlier session has been signed out."})


@bp.post("/me/password")
@access_token_required
@bp.token_required
@bp.fails(422, "The new password breaks the sign-up rules")
@bp.fails(429, RATE_LIMITED)
@bp.arguments(PasswordChangeBody)
@bp.no_content("Changed; every other session is signed out and the owner is told by mail")
def password_change(body: dict) -> ResponseReturnValue:
    """Change the password

    A wrong current password is a 422 naming fields.current_password, and counts as a failed sign-in.
    This session stays signed in; every other one ends at once, its access and refresh tokens with it.
    """
    change_password(get_db(), current_user, body["current_password"], body["new_password"],
                    session_id=get_jwt()["sid"], client_address=request.remote_addr,
                    rounds=current_app.config["BCRYPT_ROUNDS"], base_url=current_app.config["BASE_URL"])
    return "", 204


@bp.get("/me/sessions")
@access_token_required
@bp.token_required
@bp.response(200, SessionListSchema)
def session_list() -> ResponseReturnValue:
    """The account's signed-in sessions (web and API), most recently seen first"""
    return {"results": sessions.present_sessions(current_user, get_jwt()["sid"])}


@bp.delete("/me/sessions/<session_id>")
@access_token_required
@bp.token_required
@bp.fails(404, "Not one of this account's sessions")
@bp.no_content("Signed out; ending this very session signs this client out")
def session_end(session_id: str) -> ResponseReturnValue:
    """Sign one session out: its access and refresh tokens stop working at once"""
    sessions.end_own_session(get_db(), current_user, session_id)
    return "", 204


@bp.delete("/me/sessions")
@access_token_required
@bp.token_required
@bp.no_content("Every other session is signed out")
def session_end_others() -> ResponseReturnValue:
    """Sign out everywhere else: every session but this one ends"""
    sessions.end_all_sessions(get_db(), current_user["_id"], keep=get_jwt()["sid"])
    return "", 204
@bp.post("/auth/verify")
@bp.fails(400, "Token expired, invalid or already used")
@bp.fails(409, "The address has meanwhile become another account's")
@bp.arguments(VerifyBody)
@bp.response(200, MessageSchema, description="Address verified (a new one now replaces the old)")
def verify_email(body: dict) -> ResponseReturnValue:
    """Verify an address with the token from the mailed link; each link works once"""
    user = verification.verify_email(get_db(), current_app.config["SECRET_KEY"], body["token"])
    return jsonify({"message": f"{user['email']} is verified."})
