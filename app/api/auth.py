"""Accounts: sign up, sign in and out, bearer tokens, password reset."""
from flask import current_app, jsonify, request
from flask_jwt_extended import jwt_required

from app.api import bp
from app.api.schemas import (
    EmailBody,
    LoginBody,
    MessageSchema,
    PasswordResetBody,
    PrivateUserSchema,
    SignupBody,
    TokensSchema,
    VerifyBody,
)
from app.auth import limits, services, verification
from app.auth.reset_mail import request_password_reset
from app.auth.tokens import end_current_session, issue_api_tokens, refresh_api_tokens
from app.core.db import get_db

RATE_LIMITED = "Too many attempts; see the Retry-After header"


@bp.post("/auth/signup")
@bp.fails(409, "Username or email already taken")
@bp.fails(429, RATE_LIMITED)
@bp.arguments(SignupBody)
@bp.response(201, PrivateUserSchema, description="The new account")
def signup(body: dict):
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
def login(body: dict):
    """Sign in with username or email"""
    user = limits.sign_in(get_db(), body["login"], body["password"], client_address=request.remote_addr,
                          rounds=current_app.config["BCRYPT_ROUNDS"])
    return jsonify(issue_api_tokens(user))


@bp.post("/auth/refresh")
@jwt_required(refresh=True, locations=["headers"])
@bp.token_required
@bp.response(200, TokensSchema, description="New bearer tokens")
def refresh():
    """Trade the session's current refresh token (sent as the bearer token) for new tokens; the one
    sent is spent, and sending a spent one again ends the session"""
    return jsonify(refresh_api_tokens())


@bp.post("/auth/logout")
@jwt_required(locations=["headers"], verify_type=False)  # either token of the session signs it out
@bp.token_required
@bp.no_content("Signed out")
def logout():
    """End this sign-in's session: every access and refresh token it issued stops working"""
    end_current_session()
    return "", 204


@bp.post("/auth/password/forgot")
@bp.fails(429, RATE_LIMITED)
@bp.arguments(EmailBody)
@bp.response(202, MessageSchema, description="Accepted, whether or not the address is known")
def password_forgot(body: dict):
    """Mail a password-reset link"""
    limits.limit_password_forgot(request.remote_addr, body["email"])
    request_password_reset(body["email"])
    return jsonify({"message": "If that address belongs to an account, a reset link is on its way."}), 202


@bp.post("/auth/password/reset")
@bp.fails(400, "Token expired, invalid or already used")
@bp.arguments(PasswordResetBody)
@bp.response(200, MessageSchema, description="Password changed")
def password_reset(body: dict):
    """Set a new password with the token from the mailed link; ends every session"""
    services.reset_password(get_db(), current_app.config["SECRET_KEY"], body["token"], body["password"],
                            current_app.config["BCRYPT_ROUNDS"])
    return jsonify({"message": "Password changed. Every earlier session has been signed out."})


@bp.post("/auth/verify")
@bp.fails(400, "Token expired, invalid or already used")
@bp.fails(409, "The address has meanwhile become another account's")
@bp.arguments(VerifyBody)
@bp.response(200, MessageSchema, description="Address verified (a new one now replaces the old)")
def verify_email(body: dict):
    """Verify an address with the token from the mailed link; each link works once"""
    user = verification.verify_email(get_db(), current_app.config["SECRET_KEY"], body["token"])
    return jsonify({"message": f"{user['email']} is verified."})
