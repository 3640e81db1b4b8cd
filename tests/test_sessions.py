"""Cookies for pages, bearer tokens for the API, sessions, and CSRF on everything a cookie can do."""
import re
from datetime import timedelta

from flask_jwt_extended import decode_token
from helpers import PASSWORD, api_login, api_signup, bearer, csrf_from, page_login, signed_up_tokens

from app.auth import sessions
from app.core.clock import utc_now


def signed_in_as(html: str) -> str | None:
    """The username the page's navigation shows as signed in, if any."""
    match = re.search(r'data-testid="nav-profile">@(\w+)<', html)
    return match.group(1) if match else None


def test_page_signup_sets_httponly_cookie_and_signs_in(client, db):
    token = csrf_from(client)
    response = client.post("/signup", data={"username": "alice", "email": "alice@example.com",
                                            "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    cookie = next(header for header in response.headers.getlist("Set-Cookie") if header.startswith("access_token_cookie="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/").get_data(as_text=True)
    assert signed_in_as(home) == "alice"
    assert db.users.count_documents({}) == 1


def test_page_signup_shows_inline_errors_and_keeps_input(client, db):
    response = client.post("/signup", data={"username": "x", "email": "kept@example.com", "password": "1",
                                            "csrf_token": csrf_from(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html and "3 to 30 letters" in html and 'value="kept@example.com"' in html
    assert db.users.count_documents({}) == 0


def test_post_without_csrf_token_is_refused(client, db):
    response = client.post("/signup", data={"username": "alice", "email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert db.users.count_documents({}) == 0
    api_signup(client.application.test_client(), "bob")  # as an API client, without cookies
    assert page_login(client, "bob").status_code == 302
    # Signed in by cookie: sign-out without the token is refused and the session survives.
    assert client.post("/logout").status_code == 403
    assert signed_in_as(client.get("/").get_data(as_text=True)) == "bob"


def test_forged_csrf_token_is_refused(client):
    client.get("/login")
    client.set_cookie("glimpse_csrf", "forged.0123456789abcdef")
    response = client.post("/login", data={"login": "a", "password": "b", "csrf_token": "forged.0123456789abcdef"})
    assert response.status_code == 403


def test_cookie_requests_to_the_api_need_csrf_but_bearer_requests_do_not(client):
    tokens = signed_up_tokens(client, "alice")
    # A bearer client with no cookies posts without CSRF.
    fresh = client.application.test_client()
    assert fresh.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    # A browser (cookies) posting to the API without the header is refused.
    page_login(client, "alice")
    assert client.post("/api/v1/auth/password/forgot", json={"email": "alice@example.com"}).status_code == 403


def test_bearer_token_does_not_sign_in_a_page(client):
    tokens = signed_up_tokens(client, "alice")
    html = client.get("/", headers=bearer(tokens["access_token"])).get_data(as_text=True)
    assert signed_in_as(html) is None and "Join Glimpse" in html


def test_page_login_by_email_and_logout_revokes_the_cookie(client):
    api_signup(client, "alice")
    response = page_login(client, "Alice@Example.com")
    assert response.status_code == 302
    stolen = client.get_cookie("access_token_cookie").value
    assert client.post("/logout", data={"csrf_token": csrf_from(client)}).status_code == 302
    assert signed_in_as(client.get("/").get_data(as_text=True)) is None
    # The old cookie value, replayed, no longer works.
    client.set_cookie("access_token_cookie", stolen)
    assert signed_in_as(client.get("/").get_data(as_text=True)) is None
    assert client.get("/api/v1/me").status_code == 401


def test_signing_in_again_in_the_same_browser_ends_the_session_it_replaces(client):
    api_signup(client.application.test_client(), "alice")
    page_login(client, "alice")
    replaced = client.get_cookie("access_token_cookie").value
    assert page_login(client, "alice").status_code == 302
    assert signed_in_as(client.get("/").get_data(as_text=True)) == "alice"
    replay = client.application.test_client()
    replay.set_cookie("access_token_cookie", replaced)
    assert signed_in_as(replay.get("/").get_data(as_text=True)) is None


def test_a_csrf_pair_made_for_another_session_is_refused(client, db):
    """An attacker's own valid token and cookie, planted next to the victim's session cookie."""
    for username in ("alice", "mallory"):
        api_signup(client.application.test_client(), username)
    attacker = client.application.test_client()
    signed_out_pair = csrf_from(attacker)
    signed_in = page_login(attacker, "mallory")
    assert signed_in.status_code == 302
    # The answer that signs in hands the browser a token of its new session.
    assert any(cookie.startswith("glimpse_csrf=") for cookie in signed_in.headers.getlist("Set-Cookie"))
    own_session_pair = csrf_from(attacker)
    assert own_session_pair == attacker.get_cookie("glimpse_csrf").value != signed_out_pair
    page_login(client, "alice")
    for stolen in (signed_out_pair, own_session_pair):
        client.set_cookie("glimpse_csrf", stolen)
        assert client.post("/settings/profile", data={"bio": "pwned", "csrf_token": stolen}).status_code == 403
        assert client.patch("/api/v1/me", json={"bio": "pwned"}, headers={"X-CSRF-Token": stolen}).status_code == 403
    assert db.users.find_one({"username": "alice"})["bio"] == ""
    client.delete_cookie("glimpse_csrf")
    mine = csrf_from(client)
    assert client.patch("/api/v1/me", json={"bio": "mine"}, headers={"X-CSRF-Token": mine}).status_code == 200


def user_and_session_ids(app, db, tokens: dict, username="alice"):
    with app.app_context():
        return db.users.find_one({"username": username})["_id"], decode_token(tokens["access_token"])["sid"]


def test_a_new_session_drops_expired_ones_and_the_least_recently_seen_beyond_the_limit(app, client, db):
    api_signup(client, "alice")
    now, limit = utc_now(), sessions.MAX_SESSIONS_PER_USER
    stored = {f"s{n}": {"kind": "api", "created_at": now, "last_seen_at": now - timedelta(minutes=n + 1),
                        "expires_at": now + timedelta(days=1), "user_agent": "", "ip": "", "refresh_jti": f"j{n}"}
              for n in range(limit)}
    stored["expired"] = {**stored["s0"], "expires_at": now - timedelta(seconds=1)}
    db.users.update_one({"username": "alice"}, {"$set": {"sessions": stored}})
    new = api_login(client, "alice").get_json()
    user_id, sid = user_and_session_ids(app, db, new)
    kept = db.users.find_one({"_id": user_id})["sessions"]
    assert len(kept) == limit and sid in kept
    assert "expired" not in kept and f"s{limit - 1}" not in kept and f"s{limit - 2}" in kept
    listed = sessions.list_sessions(db.users.find_one({"_id": user_id}))
    assert [session["id"] for session in listed[:2]] == [sid, "s0"]
    assert listed[0]["kind"] == "api" and listed[0]["ip"] == "127.0.0.1"


def test_last_seen_is_written_at_most_once_every_few_minutes(app, client, db):
    tokens = signed_up_tokens(client)
    user_id, sid = user_and_session_ids(app, db, tokens)
    path = f"sessions.{sid}.last_seen_at"
    for age, written in ((sessions.LAST_SEEN_EVERY / 2, False), (sessions.LAST_SEEN_EVERY * 2, True)):
        earlier = utc_now() - age
        db.users.update_one({"_id": user_id}, {"$set": {path: earlier}})
        assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
        assert (db.users.find_one({"_id": user_id})["sessions"][sid]["last_seen_at"] > earlier) is written


def test_ending_all_sessions_can_keep_one(app, client, db):
    signed = [signed_up_tokens(client), api_login(client).get_json(), api_login(client).get_json()]
    user_id, kept = user_and_session_ids(app, db, signed[1])
    sessions.end_all_sessions(db, user_id, keep=kept)
    assert [client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code for tokens in signed] \
        == [401, 200, 401]
    sessions.end_all_sessions(db, user_id)
    assert client.get("/api/v1/me", headers=bearer(signed[1]["access_token"])).status_code == 401


def test_of_two_refreshes_with_one_token_the_second_ends_the_session(app, client, db):
    tokens = signed_up_tokens(client)
    with app.app_context():
        claims = decode_token(tokens["refresh_token"])
    user_id = db.users.find_one({"username": "alice"})["_id"]
    rotate = (db, user_id, claims["sid"], claims["jti"])
    assert sessions.rotate_refresh_token(*rotate, lifetime=timedelta(days=1)) is not None
    assert sessions.rotate_refresh_token(*rotate, lifetime=timedelta(days=1)) is None
    assert claims["sid"] not in db.users.find_one({"_id": user_id})["sessions"]


def test_options_requests_with_a_session_cookie_are_answered(client):
    api_signup(client.application.test_client(), "alice")
    page_login(client, "alice")
    assert client.options("/").status_code == 200
    assert client.options("/api/v1/me").status_code == 200


def test_page_login_with_wrong_password_says_so(client):
    api_signup(client, "alice")
    response = page_login(client, "alice", "wrong password")
    assert response.status_code == 401
    assert "Wrong username, email or password." in response.get_data(as_text=True)


def test_login_next_only_redirects_within_the_site(client):
    api_signup(client, "alice")
    for target, expected in [("/u/alice", "/u/alice"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/"), ("/\\evil.example", "/")]:
        client.delete_cookie("access_token_cookie")
        response = client.post(f"/login?next={target}", data={"login": "alice", "password": PASSWORD,
                                                               "csrf_token": csrf_from(client)})
        assert response.headers["Location"] == expected, target


def test_profile_page(client):
    api_signup(client, "alice")
    assert "@alice" in client.get("/u/alice").get_data(as_text=True)
    assert client.get("/u/nobody").status_code == 404


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
