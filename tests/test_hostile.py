"""Hostile input at the HTTP boundary: files, markup, tokens, other people's ids, redirects."""
import base64
import itertools
import json
import struct
import zlib
from datetime import timedelta
from io import BytesIO

import pytest
from bson import ObjectId
from conftest import DATASETS_DIR
from flask_jwt_extended import create_access_token, decode_token
from helpers import api_login, api_signup, api_upload, bearer, csrf_from, page_login, sample_photos, signed_up_tokens
from PIL import Image


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def real_jpeg() -> bytes:
    return sample_photos(DATASETS_DIR, 1)[0].read_bytes()


HOSTILE_FILES = {
    "zero bytes": lambda: b"",
    "truncated jpeg": lambda: real_jpeg()[: len(real_jpeg()) // 3],
    "html": lambda: b"<!doctype html><script>alert(1)</script>",
    "svg": lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>',
    "polyglot jpeg+html": lambda: real_jpeg() + b"<html><script>alert(document.cookie)</script></html>",
    "html then jpeg": lambda: b"<html><body>" + real_jpeg(),
    "decompression bomb": lambda: png_claiming(60000, 60000),
    "gif": lambda: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
}


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_hostile_uploads_are_refused_and_store_nothing(client, db, name):
    token = signed_up_tokens(client, "alice")["access_token"]
    response = client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                           data={"photos": [(BytesIO(HOSTILE_FILES[name]()), "photo.jpg")]})
    assert response.status_code == 422, name
    assert response.get_json()["error"]["message"]
    assert (db.posts.count_documents({}), db.fs.files.count_documents({}), db.fs.chunks.count_documents({})) == (0, 0, 0)


def test_huge_dimensions_are_refused_before_decoding(app, client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    app.config["PHOTO_MAX_PIXELS"] = 1_000_000
    big = BytesIO()
    Image.new("RGB", (1500, 1000), "white").save(big, "JPEG")
    response = client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                           data={"photos": [(BytesIO(big.getvalue()), "big.jpg")]})
    assert response.status_code == 422 and db.fs.files.count_documents({}) == 0


@pytest.mark.parametrize("filename", ["../../../etc/passwd.jpg", "..\\..\\win.ini", "фото 🌅 ＜script＞.jpg", "a" * 300 + ".png", ""])
def test_file_names_are_never_used(client, db, filename):
    token = signed_up_tokens(client, "alice")["access_token"]
    response = client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                           data={"photos": [(BytesIO(real_jpeg()), filename or "x")]})
    assert response.status_code == 201
    assert all(row.get("filename") is None for row in db.fs.files.find())


def test_wrong_extension_is_judged_by_content(client):
    token = signed_up_tokens(client, "alice")["access_token"]
    png = BytesIO()
    Image.new("RGB", (40, 30), "red").save(png, "PNG")
    post = client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                       data={"photos": [(BytesIO(png.getvalue()), "not-really.jpg")]}).get_json()
    assert post["photos"][0]["format"] == "PNG"
    served = client.get(post["photos"][0]["urls"]["original"])
    assert served.mimetype == "image/png" and served.headers["X-Content-Type-Options"] == "nosniff"


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_markup_in_captions_comments_and_tags_is_rendered_inert(client):
    token = signed_up_tokens(client, "alice")["access_token"]
    post = api_upload(client, token, sample_photos(DATASETS_DIR, 1), caption=f"{XSS} #<b>bold</b> #ok").get_json()
    client.post(f"/api/v1/posts/{post['id']}/comments", headers=bearer(token), json={"text": XSS})
    client.patch(f"/api/v1/posts/{post['id']}", headers=bearer(token), json={"alt_text": XSS})
    assert post["hashtags"] == ["ok"]  # markup never becomes a hashtag
    for path in (f"/p/{post['id']}", "/explore", "/u/alice"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x onerror" not in html, path
        assert "&lt;script&gt;alert(" in html, path


def test_markup_in_usernames_is_refused(client):
    assert api_signup(client, "<script>").status_code == 422
    assert api_signup(client, "a\u202eb").status_code == 422


def forge(token: str, **changes) -> str:
    """Change a JWT's header or payload without re-signing it."""
    header, payload, signature = token.split(".")
    def decode(part):
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    def encode(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    header_data, payload_data = decode(header), decode(payload)
    header_data.update(changes.pop("header", {}))
    payload_data.update(changes)
    return f"{encode(header_data)}.{encode(payload_data)}.{signature}"


def test_tampered_unsigned_expired_and_foreign_tokens_are_refused(app, client):
    alice = signed_up_tokens(client, "alice")["access_token"]
    bob_id = client.post("/api/v1/auth/signup", json={"username": "bob", "email": "bob@example.com",
                                                      "password": "correct horse battery"}).get_json()["id"]
    bob = {"_id": ObjectId(bob_id)}
    with app.app_context():
        expired = create_access_token(identity=bob, expires_delta=timedelta(seconds=-5))
        # Signed with our key, but naming no session of bob's: none at all, or alice's.
        sessionless = create_access_token(identity=bob)
        in_alices_session = create_access_token(identity=bob, additional_claims={"sid": decode_token(alice)["sid"]})
    signing_key = app.config["JWT_SECRET_KEY"]
    app.config["JWT_SECRET_KEY"] = "some-other-secret-key-for-this-one-token!!"
    with app.app_context():
        wrong_key = create_access_token(identity=bob)
    app.config["JWT_SECRET_KEY"] = signing_key
    forged = {
        "tampered": forge(alice, sub=bob_id),
        "alg none": forge(alice, sub=bob_id, header={"alg": "none"}).rsplit(".", 1)[0] + ".",
        "expired": expired, "wrong key": wrong_key, "garbage": "a.b.c",
        "no session": sessionless, "another's session": in_alices_session,
    }
    for name, token in forged.items():
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/v1/me", headers=bearer(alice)).get_json()["username"] == "alice"


def test_no_route_lets_one_user_act_on_anothers_things(client, db):
    alice = signed_up_tokens(client, "alice")["access_token"]
    mallory = signed_up_tokens(client, "mallory")["access_token"]
    post = api_upload(client, alice, sample_photos(DATASETS_DIR, 1)).get_json()
    comment = client.post(f"/api/v1/posts/{post['id']}/comments", headers=bearer(alice), json={"text": "mine"}).get_json()
    client.put(f"/api/v1/posts/{post['id']}/save", headers=bearer(alice), json={"collection": "Private"})
    attempts = {
        "edit post": client.patch(f"/api/v1/posts/{post['id']}", headers=bearer(mallory), json={"caption": "pwned"}),
        "delete post": client.delete(f"/api/v1/posts/{post['id']}", headers=bearer(mallory)),
        "delete comment": client.delete(f"/api/v1/comments/{comment['id']}", headers=bearer(mallory)),
        "moderate": client.post(f"/api/v1/moderation/posts/{post['id']}/reject", headers=bearer(mallory), json={"reason": "x"}),
        "suspend": client.put("/api/v1/admin/users/alice/suspension", headers=bearer(mallory), json={"reason": "x"}),
    }
    assert {name: response.status_code for name, response in attempts.items()} == {name: 403 for name in attempts}
    assert client.get("/api/v1/me/collections/Private", headers=bearer(mallory)).get_json()["results"] == []
    assert client.get("/api/v1/notifications", headers=bearer(mallory)).get_json()["results"] == []
    assert db.posts.find_one()["caption"] == "" and db.comments.count_documents({}) == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", "/%2F%2Fevil.example", "\t//evil.example"])
def test_next_never_leaves_the_site(client, target):
    api_signup(client.application.test_client(), "alice")
    response = client.post("/login", query_string={"next": target},
                           data={"login": "alice", "password": "correct horse battery", "csrf_token": csrf_from(client)})
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), (target, location)


def test_security_headers_on_pages_api_and_images(client):
    token = signed_up_tokens(client, "alice")["access_token"]
    post = api_upload(client, token, sample_photos(DATASETS_DIR, 1)).get_json()
    for path in ("/", "/api/v1/explore", post["photos"][0]["urls"]["thumb"], "/static/js/app.js"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"], path


def test_https_deployments_keep_browsers_on_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/").headers  # BASE_URL is http://glimpse.test
    app.config["BASE_URL"] = "https://glimpse.example"
    for path in ("/", "/api/v1/explore", "/static/js/app.js", "/no-such-page"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path


def test_no_shared_cache_keeps_pages_or_api_answers_and_nothing_keeps_a_signed_in_browsers(app, client):
    token = signed_up_tokens(client, "alice")["access_token"]
    for path in ("/", "/login", "/u/alice", "/api/v1/explore", "/api/v1/users/alice"):
        assert client.get(path).headers["Cache-Control"] == "private, no-cache", path  # revalidated: app/core/conditional.py
    assert client.get("/api/v1/me", headers=bearer(token)).headers["Cache-Control"] == "private, no-cache"
    assert client.get("/no-such-page").headers["Cache-Control"] == "no-store"
    pages = app.test_client()
    assert page_login(pages, "alice").status_code == 302
    for path in ("/", "/u/alice", "/settings/privacy", "/api/v1/explore", "/no-such-page"):
        response = pages.get(path)
        assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers, path
    assert client.get("/static/js/app.js").headers["Cache-Control"] == "no-cache"  # revalidated, never stale


def test_csrf_less_posts_change_nothing(app, client, db):
    api_signup(client.application.test_client(), "alice")
    page_login(client, "alice")
    token = signed_up_tokens(app.test_client(), "bob")["access_token"]
    post = api_upload(app.test_client(), token, sample_photos(DATASETS_DIR, 1)).get_json()
    for path, data in ((f"/p/{post['id']}/like", {"action": "like"}), (f"/p/{post['id']}/comments", {"text": "hi"}),
                       ("/u/bob/follow", {}), ("/settings/profile", {"bio": "changed"}), ("/logout", {})):
        assert client.post(path, data=data).status_code == 403, path
    assert client.put(f"/api/v1/posts/{post['id']}/like").status_code == 403  # cookie, no header
    assert (db.likes.count_documents({}), db.comments.count_documents({}), db.follows.count_documents({})) == (0, 0, 0)
    assert db.users.find_one({"username": "alice"})["bio"] == ""


def test_an_authorization_header_is_the_only_credential_an_api_call_gets(app, client, db):
    """A moderator's cookie with a header that is not a valid bearer token: refused, never taken
    as a reason to skip CSRF nor answered from the cookie."""
    api_signup(app.test_client(), "mod")
    db.users.update_one({"username": "mod"}, {"$set": {"role": "moderator"}})
    page_login(client, "mod")
    pending = app.test_client().post("/api/v1/anonymous/posts", content_type="multipart/form-data",
                                     data={"photos": [(BytesIO(real_jpeg()), "a.jpg")]}).get_json()["post"]
    for authorization in ("Foo bar", "Basic bW9kOmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ==", "Bearer not.a.jwt", "Bearer"):
        headers = {"Authorization": authorization}
        approve = client.post(f"/api/v1/moderation/posts/{pending['id']}/approve", headers=headers, json={})
        assert approve.status_code == 401, authorization
        assert approve.get_json()["error"]["code"] == "unauthorized"
        assert client.get("/api/v1/me", headers=headers).status_code == 401, authorization
    assert db.posts.find_one()["status"] == "pending"
    # A valid bearer token speaks for its own account; the cookie beside it is ignored.
    bob = signed_up_tokens(app.test_client(), "bob")["access_token"]
    assert client.get("/api/v1/me", headers=bearer(bob)).get_json()["username"] == "bob"


# Every field any JSON route reads, and a value of each JSON type but text (what all but one of them
# take), and text where a list of names is expected.
JSON_FIELDS = ("username", "email", "password", "login", "token", "refresh_token", "text", "bio", "caption",
               "alt_text", "remove_tags", "collection", "reason", "current_password", "new_password")
WRONG_VALUES = (0, None, ["a", 1], {"$ne": None}, "not a list")
NOT_AN_OBJECT = {
    "list": b"[]", "list of an object": b'[{"reason": "spam", "text": "hi"}]', "string": b'"spam"', "number": b"42",
    "null": b"null", "malformed": b'{"reason": ', "objects 10,000 deep": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "lists 10,000 deep": b"[" * 10_000 + b"]" * 10_000, "a field 40 deep": b'{"reason": ' + b"[" * 40 + b"]" * 40 + b"}",
}


def api_routes_with_bodies(app):
    """(method, rule, values of its `any(...)` parts) for every API route that may take a body."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        choices = [[(name, item) for item in sorted(converter.items)]
                   for name, converter in rule._converters.items() if hasattr(converter, "items")]
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            for combination in itertools.product(*choices):
                yield method, rule, dict(combination)


class Targets:
    """Things the routes' URLs name: a post and a comment by bob, bob himself, an anonymous post.
    Remade whenever a route took one away (deleted, rejected, suspended), so every route acts on
    something real."""

    def __init__(self, client, db):
        self.client, self.db = client, db
        api_signup(client, "bob")
        self.post = self.comment = self.anonymous = None

    def url_values(self, rule, fixed: dict) -> dict:
        db = self.db
        db.users.update_one({"username": "bob"}, {"$set": {"status": "active", "role": "user"}})
        if not db.posts.find_one({"_id": ObjectId(self.post or None), "status": "published"}):
            bob = api_login(self.client, "bob").get_json()["access_token"]
            self.post = api_upload(self.client, bob, sample_photos(DATASETS_DIR, 1)).get_json()["id"]
        if not db.comments.find_one({"_id": ObjectId(self.comment or None), "post_id": ObjectId(self.post), "hidden": {"$ne": True}}):
            bob = api_login(self.client, "bob").get_json()["access_token"]
            self.comment = self.client.post(f"/api/v1/posts/{self.post}/comments", headers=bearer(bob),
                                            json={"text": "a comment"}).get_json()["id"]
        if not self.anonymous or self.client.get(f"/api/v1/anonymous/posts/{self.anonymous}").status_code != 200:
            self.anonymous = self.client.post("/api/v1/anonymous/posts", content_type="multipart/form-data", data={
                "photos": [(BytesIO(real_jpeg()), "a.jpg")]}).get_json()["status_token"]
        values = {"post_id": self.post, "comment_id": self.comment, "username": "bob", "token": self.anonymous,
                  "target_id": self.comment if fixed.get("kind") == "comments" else self.post,
                  "session_id": "no-such-session", **fixed}
        return {name: values[name] for name in rule.arguments}


def assert_error_shape(response, what):
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"], what


def test_no_json_body_of_any_shape_breaks_any_api_route(app, client, db):
    app.config["RATELIMIT_ENABLED"] = False  # every attempt must reach the route's own checks
    signed_up_tokens(client, "root")
    db.users.update_one({"username": "root"}, {"$set": {"role": "admin"}})
    targets = Targets(client, db)
    routes = list(api_routes_with_bodies(app))
    assert len(routes) > 30
    for method, rule, fixed in routes:
        url = app.url_map.bind("glimpse.test").build(rule.endpoint, targets.url_values(rule, fixed), method=method)
        token = api_login(client, "root").get_json()["access_token"]  # signing out ends a token: a new one each
        for name, raw in NOT_AN_OBJECT.items():
            response = client.open(url, method=method, data=raw, headers={**bearer(token), "Content-Type": "application/json"})
            assert response.status_code in (400, 422), (method, url, name, response.status_code)
            assert_error_shape(response, (method, url, name))
        for field, value in itertools.product(JSON_FIELDS, WRONG_VALUES):
            response = client.open(url, method=method, json={field: value}, headers=bearer(token))
            assert response.status_code != 500, (method, url, field, value)
            if response.status_code >= 400 and response.status_code != 405:
                assert_error_shape(response, (method, url, field, value))


@pytest.mark.parametrize(("field", "value", "route"), [
    ("collection", 5, "save"), ("collection", ["Travel"], "save"), ("collection", {"$gt": ""}, "save"),
    ("reason", 7, "approve"), ("reason", ["spam"], "approve"),
])
def test_a_wrong_typed_field_is_refused_and_changes_nothing(client, db, field, value, route):
    token = signed_up_tokens(client, "root")["access_token"]
    db.users.update_one({"username": "root"}, {"$set": {"role": "admin"}})
    post = api_upload(client, signed_up_tokens(client, "bob")["access_token"], sample_photos(DATASETS_DIR, 1)).get_json()
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"status": "held"}})
    if route == "save":
        db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"status": "published"}})
        response = client.put(f"/api/v1/posts/{post['id']}/save", headers=bearer(token), json={field: value})
    else:
        response = client.post(f"/api/v1/moderation/posts/{post['id']}/approve", headers=bearer(token), json={field: value})
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    assert db.saves.count_documents({}) == 0 and db.audit_log.count_documents({}) == 0


@pytest.mark.parametrize("path", ["/api/v1/auth/password/reset", "/api/v1/auth/login", "/api/v1/auth/signup",
                                  "/api/v1/auth/password/forgot"])
def test_unauthenticated_api_routes_refuse_big_bodies_unread(client, path):
    response = client.post(path, json={"token": "x" * 70_000, "password": "y", "login": "a", "email": "a@b.c"})
    assert response.status_code == 413
    assert_error_shape(response, path)
    assert response.get_json()["error"]["message"] == "This request is too large: this address takes at most 64 KB."
    # Only there: a signed-in route reads as much and judges it.
    token = signed_up_tokens(client, "alice")["access_token"]
    response = client.patch("/api/v1/me", headers=bearer(token), json={"bio": "b" * 70_000})
    assert response.status_code == 422 and "bio" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/login", "/signup", "/forgot", "/reset/some-token"])
def test_unauthenticated_pages_refuse_big_forms(client, path):
    response = client.post(path, data={"csrf_token": csrf_from(client), "email": "a@example.com", "password": "p" * 70_000})
    assert response.status_code == 413 and "this address takes at most 64 KB" in response.get_data(as_text=True)


def test_an_upload_over_the_size_limit_names_the_limit_and_stores_nothing(app, client, db):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    token = signed_up_tokens(client, "alice")["access_token"]
    photo = sample_photos(DATASETS_DIR, 1)[0]
    body = photo.read_bytes() * (3 * 1024 * 1024 // photo.stat().st_size + 1)  # over 3 MB of real photo bytes
    response = client.post("/api/v1/posts", headers=bearer(token), data={
        "caption": "too much", "photos": [(BytesIO(body), photo.name)]})
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "This request is too large: this address takes at most 2 MB."
    assert db.posts.count_documents({}) == 0 and db["fs.files"].count_documents({}) == 0
    assert db["fs.chunks"].count_documents({}) == 0
