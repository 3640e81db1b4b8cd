"""Accounts through the JSON API, against the real wire server."""
import time
from datetime import timedelta

from flask_jwt_extended import jwt_manager
from helpers import PASSWORD, api_login, api_signup, bearer, signed_up_tokens


def test_signup_returns_the_user_without_secrets(client, db):
    response = api_signup(client, "alice")
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "alice" and body["email"] == "alice@example.com" and body["role"] == "user"
    assert "password" not in str(body) and "hash" not in str(body)
    stored = db.users.find_one({"username": "alice"})
    assert stored["password_hash"].startswith("$2b$") and PASSWORD not in stored["password_hash"]


def test_duplicate_username_or_email_is_a_conflict_case_insensitively(client, db):
    assert api_signup(client, "alice").status_code == 201
    same_name = api_signup(client, "ALICE", email="other@example.com")
    assert same_name.status_code == 409
    assert same_name.get_json()["error"]["code"] == "conflict"
    same_email = api_signup(client, "bob", email="Alice@Example.com")
    assert same_email.status_code == 409
    assert "email" in same_email.get_json()["error"]["message"]
    assert db.users.count_documents({}) == 1


def test_invalid_signup_is_refused_with_field_errors_and_creates_nothing(client, db):
    response = client.post("/api/v1/auth/signup", json={"username": "a b", "email": "nope", "password": "short"})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"username", "email", "password"}
    assert client.post("/api/v1/auth/signup", data="not json").status_code == 422
    too_long = api_signup(client, "carol", password="x" * 73)
    assert too_long.status_code == 422
    assert db.users.count_documents({}) == 0


def test_login_by_username_or_email_gives_tokens_that_work(client):
    api_signup(client, "alice")
    for login in ("alice", "ALICE", "alice@example.com", "Alice@Example.COM"):
        response = api_login(client, login)
        assert response.status_code == 200, login
        tokens = response.get_json()
        assert {"access_token", "refresh_token"} <= set(tokens)
        me = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200 and me.get_json()["username"] == "alice"


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    api_signup(client, "alice")
    wrong = api_login(client, "alice", "not the password")
    unknown = api_login(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_me_needs_a_token_and_refuses_garbage(client):
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers=bearer("not.a.jwt"))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_refresh_token_is_not_an_access_token_and_trades_for_new_tokens(client):
    tokens = signed_up_tokens(client)
    assert client.get("/api/v1/me", headers=bearer(tokens["refresh_token"])).status_code == 401
    refreshed = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(refreshed.get_json()["access_token"])).status_code == 200


def refresh(client, refresh_token: str):
    return client.post("/api/v1/auth/refresh", headers=bearer(refresh_token))


def test_logout_ends_the_whole_session_and_no_other(client, db):
    tokens = signed_up_tokens(client)
    other = api_login(client).get_json()  # a second sign-in of the same account
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    assert len(db.users.find_one({"username": "alice"})["sessions"]) == 1
    assert client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 200
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_refresh_rotates_and_a_used_refresh_token_presented_again_ends_its_session(client):
    tokens = signed_up_tokens(client)
    other = api_login(client).get_json()
    rotated = refresh(client, tokens["refresh_token"])
    assert rotated.status_code == 200
    newest = rotated.get_json()
    assert newest["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(newest["access_token"])).status_code == 200
    # Someone holds a copy of the used token: the session ends for whoever holds its newest tokens too.
    assert refresh(client, tokens["refresh_token"]).status_code == 401
    for access_token in (newest["access_token"], tokens["access_token"]):
        assert client.get("/api/v1/me", headers=bearer(access_token)).status_code == 401
    assert refresh(client, newest["refresh_token"]).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 200


def test_public_profile(client):
    api_signup(client, "alice")
    response = client.get("/api/v1/users/ALICE")
    assert response.status_code == 200 and response.get_json()["username"] == "alice"
    assert "email" not in response.get_json()
    assert client.get("/api/v1/users/nobody").status_code == 404


def test_login_is_rate_limited_per_account_with_retry_after(client):
    api_signup(client, "alice")
    statuses = [api_login(client, "alice", "wrong password").status_code for _ in range(10)]
    assert statuses == [401] * 10
    limited = api_login(client, "alice", PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "rate_limited"
    # Another account from the same address is not locked out by alice's limit.
    api_signup(client, "bob")
    assert api_login(client, "bob").status_code == 200


def test_signup_is_rate_limited_per_address(client):
    statuses = [api_signup(client, f"user{number}").status_code for number in range(11)]
    assert statuses[:10] == [201] * 10 and statuses[10] == 429


def test_rate_limits_can_be_switched_off(app_config, app):
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    api_signup(client, "alice")
    assert all(api_login(client, "alice", "wrong").status_code == 401 for _ in range(15))


def _count_verifications(monkeypatch) -> list:
    verified = []
    decode = jwt_manager._decode_jwt
    monkeypatch.setattr(jwt_manager, "_decode_jwt", lambda *args, **kwargs: verified.append(1) or decode(*args, **kwargs))
    return verified


def test_a_token_is_verified_once_and_a_refresh_token_still_opens_nothing(client, monkeypatch):
    tokens = signed_up_tokens(client, "alice")
    verified = _count_verifications(monkeypatch)
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert len(verified) == 1  # then remembered
    assert client.get("/api/v1/me", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_a_remembered_token_still_ends_with_its_session_and_at_its_expiry(app, client, monkeypatch):
    app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(seconds=2)
    tokens = signed_up_tokens(client, "alice")
    access = tokens["access_token"]
    assert client.get("/api/v1/me", headers=bearer(access)).status_code == 200
    time.sleep(2.1)
    expired = client.get("/api/v1/me", headers=bearer(access))
    assert expired.status_code == 401 and "expired" in expired.get_json()["error"]["message"]

    tokens = api_login(client, "alice").get_json()
    verified = _count_verifications(monkeypatch)
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(tokens["refresh_token"])).status_code == 204
    ended = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    assert ended.status_code == 401 and len(verified) == 2  # remembered, and refused all the same
    forged = tokens["access_token"][:-2] + ("AA" if not tokens["access_token"].endswith("AA") else "BB")
    assert client.get("/api/v1/me", headers=bearer(forged)).status_code == 401
