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

def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


CURSOR_PARAMS = [
    {"name": "cursor", "in": "query", "required": False, "schema": STRING,
     "description": "next_cursor from the previous page"},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
]
POST_ID, USERNAME, COMMENT_ID = _path_param("post_id"), _path_param("username"), _path_param("comment_id")
NOT_FOUND = _error("No such item (or not visible to you)")
UNAUTHORIZED = _error("Not signed in")


def _ok(description: str, schema_name: str) -> dict:
    return {"description": description, **_json(_ref(schema_name))}


def _post_list(summary: str, tag: str, *, params=(), security=None) -> dict:
    operation = {"summary": summary, "tags": [tag], "parameters": [*params, *CURSOR_PARAMS],
                 "responses": {"200": _ok("A page of posts", "PostList"), "422": _error("Bad cursor or limit")}}
    if security:
        operation["security"] = security
        operation["responses"]["401"] = UNAUTHORIZED
    return operation


def _post_action(summary: str, *, body: dict | None = None, ok: dict | None = None) -> dict:
    operation = {"summary": summary, "tags": ["posts"], "security": BEARER, "parameters": [POST_ID],
                 "responses": {"200": ok or _ok("The post", "Post"), "401": UNAUTHORIZED, "404": NOT_FOUND}}
    if body:
        operation["requestBody"] = body
    return operation


POST_PATHS = {
    "/posts": {"post": {
        "summary": "Publish a post of one or more photos", "tags": ["posts"], "security": BEARER,
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["photos"], "properties": {
                "photos": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 10},
                "caption": STRING}}}}},
        "responses": {"201": _ok("The new post (enrichment pending)", "Post"), "401": UNAUTHORIZED,
                      "413": _error("Request too large"), "422": _error("Not an accepted photo, or too big")},
    }},
    "/posts/{post_id}": {
        "get": {"summary": "A post", "tags": ["posts"], "parameters": [POST_ID],
                "responses": {"200": _ok("The post", "Post"), "404": NOT_FOUND}},
        "patch": {**_post_action("Edit caption or alt text, remove generated tags (author only)", body=_json({
            "type": "object", "properties": {"caption": STRING, "alt_text": STRING,
                                             "remove_tags": {"type": "array", "items": STRING}}})),
                  },
        "delete": {"summary": "Delete a post with its photos, likes, comments and notifications (author only)",
                   "tags": ["posts"], "security": BEARER, "parameters": [POST_ID],
                   "responses": {"204": {"description": "Deleted"}, "401": UNAUTHORIZED,
                                 "403": _error("Not the author"), "404": NOT_FOUND}},
    },
    "/posts/{post_id}/like": {"put": _post_action("Like"), "delete": _post_action("Unlike")},
    "/posts/{post_id}/save": {
        "put": _post_action("Save to a collection (default 'Saved')",
                            body=_json({"type": "object", "properties": {"collection": STRING}}),
                            ok={"description": "Saved"}),
        "delete": _post_action("Remove from a collection (?collection=, default 'Saved')", ok={"description": "Removed"}),
    },
    "/posts/{post_id}/comments": {
        "get": {"summary": "Comments, newest first", "tags": ["comments"], "parameters": [POST_ID, *CURSOR_PARAMS],
                "responses": {"200": _ok("A page of comments", "CommentList"), "404": NOT_FOUND}},
        "post": {"summary": "Comment", "tags": ["comments"], "security": BEARER, "parameters": [POST_ID],
                 "requestBody": _body(["text"], text=STRING),
                 "responses": {"201": _ok("The comment", "Comment"), "401": UNAUTHORIZED, "404": NOT_FOUND,
                               "422": _error("Empty or too long")}},
    },
    "/comments/{comment_id}": {"delete": {
        "summary": "Delete a comment (its author, the post's author or a moderator)", "tags": ["comments"],
        "security": BEARER, "parameters": [COMMENT_ID],
        "responses": {"204": {"description": "Deleted"}, "401": UNAUTHORIZED, "403": _error("Not allowed"),
                      "404": NOT_FOUND}}},
    "/feed": {"get": _post_list("Home feed: people you follow and you, newest first", "feeds", security=BEARER)},
    "/for-you": {"get": _post_list("Near your taste (what you liked and saved), then popular; each with a score",
                                   "feeds", security=BEARER)},
    "/search": {"get": _post_list(
        "Photos by meaning and by hashtag, tag or @username (fused); each result has a score", "search",
        params=[{"name": "q", "in": "query", "required": True, "schema": STRING}])},
    "/posts/{post_id}/similar": {"get": {
        "summary": "Photos that look alike and are about the same thing", "tags": ["search"],
        "parameters": [POST_ID, CURSOR_PARAMS[1]],
        "responses": {"200": _ok("Similar posts, each with a score", "PostList"), "404": NOT_FOUND}}},
    "/explore": {"get": _post_list("Recent popular posts (likes with time decay)", "feeds")},
    "/users/{username}/posts": {"get": _post_list("A user's posts, newest first", "users", params=[USERNAME])},
    "/users/{username}/follow": {
        "put": {"summary": "Follow", "tags": ["users"], "security": BEARER, "parameters": [USERNAME],
                "responses": {"200": _ok("The profile", "Profile"), "401": UNAUTHORIZED, "404": NOT_FOUND,
                              "422": _error("Cannot follow yourself")}},
        "delete": {"summary": "Unfollow", "tags": ["users"], "security": BEARER, "parameters": [USERNAME],
                   "responses": {"200": _ok("The profile", "Profile"), "401": UNAUTHORIZED, "404": NOT_FOUND}},
    },
    "/users/{username}/followers": {"get": {
        "summary": "Followers", "tags": ["users"], "parameters": [USERNAME, *CURSOR_PARAMS],
        "responses": {"200": _ok("A page of users", "UserList"), "404": NOT_FOUND}}},
    "/users/{username}/following": {"get": {
        "summary": "Followed users", "tags": ["users"], "parameters": [USERNAME, *CURSOR_PARAMS],
        "responses": {"200": _ok("A page of users", "UserList"), "404": NOT_FOUND}}},
    "/me/avatar": {"put": {
        "summary": "Set the avatar (multipart, one `photos` file)", "tags": ["users"], "security": BEARER,
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {"photos": {"type": "string", "format": "binary"}}}}}},
        "responses": {"200": _ok("The profile", "Profile"), "401": UNAUTHORIZED, "422": _error("Not a photo")}}},
    "/me/collections": {"get": {
        "summary": "Saved collections with counts", "tags": ["users"], "security": BEARER,
        "responses": {"200": {"description": "Collections"}, "401": UNAUTHORIZED}}},
    "/me/collections/{name}": {"get": _post_list("Posts saved in a collection", "users",
                                                 params=[_path_param("name")], security=BEARER)},
    "/notifications": {"get": {
        "summary": "Notifications (follow, like, comment), newest first, with the unread count",
        "tags": ["notifications"], "security": BEARER, "parameters": CURSOR_PARAMS,
        "responses": {"200": {"description": "A page of notifications"}, "401": UNAUTHORIZED}}},
    "/notifications/read": {"post": {
        "summary": "Mark every notification read", "tags": ["notifications"], "security": BEARER,
        "responses": {"204": {"description": "Done"}, "401": UNAUTHORIZED}}},
}

FORBIDDEN = _error("Signed in, but not allowed (moderators or admins only)")
TOKEN = _path_param("token")
TARGET_ID = _path_param("target_id")
REASON_BODY = {"required": False, **_json({"type": "object", "properties": {"reason": STRING}})}


def _staff(summary: str, tag: str, *, params=(), body=None, ok_description="Done") -> dict:
    operation = {"summary": summary, "tags": [tag], "security": BEARER, "parameters": list(params),
                 "responses": {"200": {"description": ok_description}, "401": UNAUTHORIZED, "403": FORBIDDEN,
                               "404": NOT_FOUND, "422": _error("Missing or invalid reason")}}
    if body:
        operation["requestBody"] = body
    return operation


MODERATION_PATHS = {
    "/anonymous/posts": {"post": {
        "summary": "Share without an account: the post waits for review; answers a secret status token",
        "tags": ["anonymous"],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["photos"], "properties": {
                "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}, "caption": STRING}}}}},
        "responses": {"201": {"description": "The pending post, status_token and status_url"},
                      "404": _error("Anonymous posting is turned off"), "422": _error("Not an accepted photo"),
                      "429": RATE_LIMITED}}},
    "/anonymous/posts/{token}": {
        "get": {"summary": "Review status of an anonymous post", "tags": ["anonymous"], "parameters": [TOKEN],
                "responses": {"200": {"description": "status, state, reason"}, "404": NOT_FOUND}},
        "delete": {"summary": "Withdraw (delete) an anonymous post", "tags": ["anonymous"], "parameters": [TOKEN],
                   "responses": {"204": {"description": "Withdrawn"}, "404": NOT_FOUND}},
    },
    **{f"/{kind}/{{target_id}}/report": {"post": {
        "summary": f"Report a {kind[:-1]}; enough independent reports hide it until reviewed", "tags": ["reports"],
        "security": BEARER, "parameters": [TARGET_ID], "requestBody": _body(["reason"], reason=STRING),
        "responses": {"201": {"description": "Open report count"}, "401": UNAUTHORIZED, "404": NOT_FOUND,
                      "409": _error("Already reported by you"), "422": _error("Missing reason")}}}
       for kind in ("posts", "comments")},
    "/moderation/queue": {"get": _staff(
        "Posts awaiting review and reported comments, with photo, caption, tags, NSFW score, reports",
        "moderation", params=[{"name": "sort", "in": "query", "required": False, "schema": {"enum": ["age", "nsfw"]}}],
        ok_description="The queue")},
    **{f"/moderation/{kind}/{{target_id}}/{decision}": {"post": _staff(
        f"{decision.capitalize()} a {kind[:-1]}" + (" (reason required; deletes the photos, leaves a tombstone)"
                                                    if decision == "reject" else ""),
        "moderation", params=[TARGET_ID], body=REASON_BODY)}
       for kind in ("posts", "comments") for decision in ("approve", "reject")},
    "/admin/users": {"get": _staff("Accounts (admins only)", "admin", params=[
        {"name": "q", "in": "query", "required": False, "schema": STRING}, *CURSOR_PARAMS], ok_description="Accounts")},
    "/admin/users/{username}/moderator": {
        "put": _staff("Grant the moderator role (admins only)", "admin", params=[USERNAME]),
        "delete": _staff("Revoke the moderator role (admins only)", "admin", params=[USERNAME]),
    },
    "/admin/users/{username}/suspension": {
        "put": _staff("Suspend: no sign-in, every token stops at once (admins only; reason required)", "admin",
                      params=[USERNAME], body=REASON_BODY),
        "delete": _staff("Reinstate (admins only)", "admin", params=[USERNAME], body=REASON_BODY),
    },
    "/admin/audit": {"get": _staff("The audit log, newest first (admins only)", "admin", params=[
        {"name": "action", "in": "query", "required": False, "schema": STRING},
        {"name": "actor", "in": "query", "required": False, "schema": STRING}, *CURSOR_PARAMS],
        ok_description="Audit entries")},
}

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
        "description": "The answer carries a new refresh token and the one sent is spent. Sending a spent "
                       "refresh token again ends its session: every token of that sign-in stops working.",
        "responses": {"200": {"description": "Bearer tokens", **_json(_ref("Tokens"))},
                      "401": _error("Missing, expired or spent refresh token, or the session has ended")},
    }},
    "/auth/logout": {"post": {
        "summary": "End the session: every token of this sign-in stops working", "tags": ["auth"],
        "description": "Send either the access or the refresh token as bearer.",
        "security": BEARER,
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
    "/me": {
        "get": {"summary": "The signed-in account, with its unread notification count", "tags": ["users"],
                "security": BEARER,
                "responses": {"200": {"description": "The account", **_json(_ref("PrivateUser"))},
                              "401": _error("Not signed in")}},
        "patch": {"summary": "Change the bio", "tags": ["users"], "security": BEARER,
                  "requestBody": _body(["bio"], bio=STRING),
                  "responses": {"200": {"description": "The account", **_json(_ref("PrivateUser"))},
                                "401": _error("Not signed in"), "422": _error("Bio too long")}},
    },
    "/users/{username}": {"get": {
        "summary": "A user's public profile", "tags": ["users"],
        "parameters": [{"name": "username", "in": "path", "required": True, "schema": STRING}],
        "responses": {"200": {"description": "The profile", **_json(_ref("Profile"))},
                      "404": _error("No such user")},
    }},
    **POST_PATHS,
    **MODERATION_PATHS,
    "/openapi.json": {"get": {
        "summary": "This document", "tags": ["meta"],
        "responses": {"200": {"description": "OpenAPI 3.1 document"}},
    }},
    "/docs": {"get": {
        "summary": "This document as an interactive page (Swagger UI)", "tags": ["meta"],
        "responses": {"200": {"description": "An HTML page"}},
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
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
            "description": "A request with an Authorization header is known by it alone: anything but a valid "
                           "bearer token answers 401, whatever cookie comes with it."}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": STRING, "message": STRING,
                               "fields": {"type": "object", "additionalProperties": STRING}}}}},
            "User": {"type": "object", "properties": USER_PROPERTIES},
            "PrivateUser": {"type": "object", "properties": {
                **USER_PROPERTIES, "email": STRING, "role": {"enum": ["user", "moderator", "admin"]}}},
            "Profile": {"type": "object", "properties": {
                **USER_PROPERTIES, "avatar_url": {"type": ["string", "null"]},
                "follower_count": {"type": "integer"}, "following_count": {"type": "integer"},
                "followed_by_me": {"type": "boolean"}}},
            "UserList": {"type": "object", "properties": {
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
                "next_cursor": {"type": ["string", "null"]}}},
            "Photo": {"type": "object", "properties": {
                "urls": {"type": "object", "properties": {"original": STRING, "large": STRING, "thumb": STRING}},
                "width": {"type": "integer"}, "height": {"type": "integer"}, "format": STRING,
                "bytes": {"type": "integer"}, "taken_at": {"type": ["string", "null"], "format": "date-time"}}},
            "Post": {"type": "object", "required": ["id", "status", "photos", "enrichment"], "properties": {
                "id": STRING, "status": {"enum": ["published", "pending", "hidden", "rejected"]},
                "author": {"type": ["object", "null"], "properties": {
                    "id": STRING, "username": STRING, "avatar_url": {"type": ["string", "null"]}}},
                "caption": STRING, "alt_text": STRING, "alt_text_source": {"enum": ["generated", "author", None]},
                "tags": {"type": "array", "items": {"type": "object", "properties": {
                    "name": STRING, "score": {"type": "number"}}}},
                "hashtags": {"type": "array", "items": STRING},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "photos": {"type": "array", "items": {"$ref": "#/components/schemas/Photo"}},
                "enrichment": {"enum": ["pending", "done", "failed"]},
                "like_count": {"type": "integer"}, "comment_count": {"type": "integer"},
                "liked_by_me": {"type": "boolean"}, "saved_by_me": {"type": "boolean"},
                "score": {"type": "number", "description": "search results only"}}},
            "PostList": {"type": "object", "required": ["results", "next_cursor"], "properties": {
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/Post"}},
                "next_cursor": {"type": ["string", "null"]}}},
            "Comment": {"type": "object", "properties": {
                "id": STRING, "post_id": STRING, "text": STRING,
                "author": {"type": "object", "properties": {"id": STRING, "username": STRING}},
                "created_at": {"type": "string", "format": "date-time"}}},
            "CommentList": {"type": "object", "properties": {
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/Comment"}},
                "next_cursor": {"type": ["string", "null"]}}},
            "Tokens": {"type": "object", "required": ["access_token", "refresh_token"], "properties": {
                "access_token": STRING, "refresh_token": STRING, "token_type": STRING,
                "expires_in": {"type": "integer"}}},
        },
    },
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)
