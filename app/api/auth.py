"""Account routes of the JSON API."""
from flask import current_app, jsonify, request
from flask_jwt_extended import jwt_required

from app.api import bp
from app.api.common import json_body
from app.auth import limits, services
from app.auth.reset_mail import request_password_reset
from app.auth.tokens import end_current_session, issue_api_tokens, refresh_api_tokens
from app.core.db import get_db


@bp.post("/auth/signup")
def signup():
    body = json_body("username", "email", "password")
    limits.limit_signup(request.remote_addr)
    user = services.create_user(get_db(), username=body["username"], email=body["email"],
                                password=body["password"], rounds=current_app.config["BCRYPT_ROUNDS"])
    return jsonify(services.private_user(user)), 201


@bp.post("/auth/login")
def login():
    body = json_body("login", "password")
    user = limits.sign_in(get_db(), body["login"], body["password"], client_address=request.remote_addr,
                          rounds=current_app.config["BCRYPT_ROUNDS"])
    return jsonify(issue_api_tokens(user))


@bp.post("/auth/refresh")
@jwt_required(refresh=True, locations=["headers"])
def refresh():
    return jsonify(refresh_api_tokens())


@bp.post("/auth/logout")
@jwt_required(locations=["headers"], verify_type=False)  # either token of the session signs it out
def logout():
    end_current_session()
    return "", 204


@bp.post("/auth/password/forgot")
def password_forgot():
    body = json_body("email")
    limits.limit_password_forgot(request.remote_addr, body["email"])
    request_password_reset(body["email"])
    return jsonify({"message": "If that address belongs to an account, a reset link is on its way."}), 202


@bp.post("/auth/password/reset")
def password_reset():
    body = json_body("token", "password")
    services.reset_password(get_db(), current_app.config["SECRET_KEY"], body["token"], body["password"],
                            current_app.config["BCRYPT_ROUNDS"])
    return jsonify({"message": "Password changed. Every earlier session has been signed out."})
