"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Written by hand so it says what clients may rely on; tests/test_openapi.py fails when a route
of the API is missing here.
"""
from flask import jsonify

from app.api import bp


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return {"description": description, **_json(_ref("Error"))}


def _body(required: list[str], **properties: dict) -> dict:
    return {"required": True, **_json({"type": "object", "required": required, "properties": properties})}


STRING = {"type": "string"}
BEARER = [{"bearer": []}]
RATE_LIMITED = _error("Too many attempts; see the Retry-After header.")

PATHS = {
    "/auth/signup": {"post": {
        "summary": "Create an account", "tags": ["auth"],
        "requestBody": _body(["username", "email", "password"], username=STRING, email=STRING, password=STRING),
        "responses": {"201": {"description": "The new account", **_json(_ref("PrivateUser"))},
                      "409": _error("Username or email already taken"),
                      "422": _error("Invalid fields"), "429": RATE_LIMITED},
    }},
    "/auth/login": {"post": {
        "summary": "Sign in with username or email", "tags": ["auth"],
        "requestBody": _body(["login", "password"], login=STRING, password=STRING),
        "responses": {"200": {"description": "Bearer tokens", **_json(_ref("Tokens"))},
                      "401": _error("Wrong credentials or suspended account"), "429": RATE_LIMITED},
    }},
    "/auth/refresh": {"post": {
        "summary": "Trade a refresh token (as bearer) for new tokens", "tags": ["auth"], "security": BEARER,
        "responses": {"200": {"description": "Bearer tokens", **_json(_ref("Tokens"))},
                      "401": _error("Missing, expired or revoked refresh token")},
    }},
    "/auth/logout": {"post": {
        "summary": "Revoke the access token (and the refresh token, if sent)", "tags": ["auth"],
        "security": BEARER,
        "requestBody": {"required": False, **_json({"type": "object", "properties": {"refresh_token": STRING}})},
        "responses": {"204": {"description": "Signed out"}, "401": _error("Not signed in")},
    }},
    "/auth/password/forgot": {"post": {
        "summary": "Mail a password-reset link (answers the same whether or not the address is known)",
        "tags": ["auth"], "requestBody": _body(["email"], email=STRING),
        "responses": {"202": {"description": "Accepted"}, "429": RATE_LIMITED},
    }},
    "/auth/password/reset": {"post": {
        "summary": "Set a new password with the token from the mailed link; ends every session",
        "tags": ["auth"], "requestBody": _body(["token", "password"], token=STRING, password=STRING),
        "responses": {"200": {"description": "Password changed"},
                      "400": _error("Token expired, invalid or already used"),
                      "422": _error("Password too short or too long")},
    }},
    "/me": {"get": {
        "summary": "The signed-in account", "tags": ["users"], "security": BEARER,
        "responses": {"200": {"description": "The account", **_json(_ref("PrivateUser"))},
                      "401": _error("Not signed in")},
    }},
    "/users/{username}": {"get": {
        "summary": "A user's public profile", "tags": ["users"],
        "parameters": [{"name": "username", "in": "path", "required": True, "schema": STRING}],
        "responses": {"200": {"description": "The profile", **_json(_ref("User"))},
                      "404": _error("No such user")},
    }},
    "/openapi.json": {"get": {
        "summary": "This document", "tags": ["meta"],
        "responses": {"200": {"description": "OpenAPI 3.1 document"}},
    }},
}

USER_PROPERTIES = {"id": STRING, "username": STRING, "bio": STRING,
                   "created_at": {"type": "string", "format": "date-time"}}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Glimpse API", "version": "1.0.0",
             "description": "Photo sharing. Errors always answer {\"error\": {\"code\", \"message\"}}."},
    "servers": [{"url": "/api/v1"}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": STRING, "message": STRING,
                               "fields": {"type": "object", "additionalProperties": STRING}}}}},
            "User": {"type": "object", "properties": USER_PROPERTIES},
            "PrivateUser": {"type": "object", "properties": {
                **USER_PROPERTIES, "email": STRING, "role": {"enum": ["user", "moderator", "admin"]}}},
            "Tokens": {"type": "object", "required": ["access_token", "refresh_token"], "properties": {
                "access_token": STRING, "refresh_token": STRING, "token_type": STRING,
                "expires_in": {"type": "integer"}}},
        },
    },
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
