"""Changing the password while signed in, and the list of signed-in devices, over the API and pages."""
import re

import pytest
from helpers import PASSWORD, api_login, api_signup, bearer, client_from, csrf_from, page_login

from app.auth.devices import describe_device
from app.auth.limits import LOGIN_FAILURES_PER_ACCOUNT

NEW_PASSWORD = "a new and longer passphrase"
OWNER, THIEF = "198.51.100.7", "203.0.113.66"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRUSTED_PROXIES": 1}


def signed_in(client, token: str) -> bool:
    return client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def page_signed_in(browser) -> bool:
    return "nav-profile" in browser.get("/").get_data(as_text=True)


def change(client, token: str, current: str, new: str = NEW_PASSWORD):
    return client.post("/api/v1/me/password", headers=bearer(token),
                       json={"current_password": current, "new_password": new})


def sessions_of(client, token: str) -> list[dict]:
    response = client.get("/api/v1/me/sessions", headers=bearer(token))
    assert response.status_code == 200
    return response.get_json()["results"]


def current_id(client, token: str) -> str:
    return next(session["id"] for session in sessions_of(client, token) if session["current"])


def test_changing_the_password_ends_every_other_session_and_mails_the_owner(client, mailbox, workers):
    api_signup(client, "alice")
    kept, other = api_login(client).get_json(), api_login(client).get_json()
    browser = client.application.test_client()
    assert page_login(browser).status_code == 302

    response = change(client, kept["access_token"], PASSWORD)
    assert response.status_code == 204
    assert signed_in(client, kept["access_token"])
    assert client.post("/api/v1/auth/refresh", headers=bearer(kept["refresh_token"])).status_code == 200
    # The other API session's access and refresh tokens, and the browser's cookie, die at once.
    assert not signed_in(client, other["access_token"])
    assert client.post("/api/v1/auth/refresh", headers=bearer(other["refresh_token"])).status_code == 401
    assert not page_signed_in(browser)
    assert api_login(client, "alice", PASSWORD).status_code == 401
    assert api_login(client, "alice", NEW_PASSWORD).status_code == 200

    message = mailbox.wait_for("alice@example.com", subject="password was changed")
    assert message["Subject"] == "Your Glimpse password was changed"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "http://glimpse.test/forgot" in body


def test_a_wrong_current_or_a_bad_new_password_changes_nothing(client, db):
    api_signup(client, "alice")
    tokens, other = api_login(client).get_json(), api_login(client).get_json()
    before = db.users.find_one({"username": "alice"})["password_hash"]

    wrong = change(client, tokens["access_token"], "not my password")
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"] == {"current_password": "That is not your current password."}
    short = change(client, tokens["access_token"], PASSWORD, "short")
    assert short.status_code == 422 and set(short.get_json()["error"]["fields"]) == {"new_password"}
    missing = client.post("/api/v1/me/password", headers=bearer(tokens["access_token"]), json={"new_password": NEW_PASSWORD})
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {"current_password"}

    assert db.users.find_one({"username": "alice"})["password_hash"] == before
    assert signed_in(client, other["access_token"]) and signed_in(client, tokens["access_token"])
    assert client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
                       ).status_code == 401  # no token at all


def test_guessing_the_current_password_counts_as_failed_sign_ins(app):
    owner, thief = client_from(app, OWNER), client_from(app, THIEF)
    api_signup(owner, "alice")
    stolen = api_login(thief).get_json()["access_token"]  # a session the thief got hold of
    guesses = [change(thief, stolen, f"guess {n}").status_code for n in range(LOGIN_FAILURES_PER_ACCOUNT)]
    assert guesses == [422] * LOGIN_FAILURES_PER_ACCOUNT
    # The thief's address is now refused, the right password included, here and at sign-in.
    assert change(thief, stolen, PASSWORD).status_code == 429
    assert api_login(thief).status_code == 429
    assert api_login(owner).status_code == 200


def test_sessions_list_describes_each_device_and_marks_this_one(client):
    api_signup(client, "alice")
    tokens = client.post("/api/v1/auth/login", json={"login": "alice", "password": PASSWORD},
                         headers={"User-Agent": "curl/8.5.0"}).get_json()
    browser = client_from(client.application, OWNER)
    browser.environ_base["HTTP_USER_AGENT"] = FIREFOX
    assert page_login(browser).status_code == 302

    listed = sessions_of(client, tokens["access_token"])
    assert sorted((session["device"], session["current"]) for session in listed) == [
        ("Firefox on Linux", False), ("curl", True)]
    assert {session["ip"] for session in listed} == {"127.0.0.1", OWNER}
    for session in listed:
        assert set(session) == {"id", "device", "ip", "created_at", "last_seen_at", "current"}
        assert session["id"] and session["created_at"] and session["last_seen_at"]


def test_ending_one_session_another_users_or_everywhere_else(client):
    api_signup(client, "alice")
    api_signup(client, "bob")
    mine, second, third = (api_login(client).get_json() for _ in range(3))
    bobs = api_login(client, "bob").get_json()
    bobs_id = current_id(client, bobs["access_token"])

    # Another account's session is not found, and lives on.
    refused = client.delete(f"/api/v1/me/sessions/{bobs_id}", headers=bearer(mine["access_token"]))
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"
    assert client.delete("/api/v1/me/sessions/sessions.x", headers=bearer(mine["access_token"])).status_code == 404
    assert signed_in(client, bobs["access_token"]) and len(sessions_of(client, mine["access_token"])) == 3

    ended = client.delete(f"/api/v1/me/sessions/{current_id(client, second['access_token'])}",
                          headers=bearer(mine["access_token"]))
    assert ended.status_code == 204
    assert not signed_in(client, second["access_token"])
    assert client.post("/api/v1/auth/refresh", headers=bearer(second["refresh_token"])).status_code == 401

    assert client.delete("/api/v1/me/sessions", headers=bearer(mine["access_token"])).status_code == 204
    assert not signed_in(client, third["access_token"])
    assert [session["current"] for session in sessions_of(client, mine["access_token"])] == [True]
    assert signed_in(client, bobs["access_token"])

    # Ending this very session signs this client out.
    this = client.delete(f"/api/v1/me/sessions/{current_id(client, mine['access_token'])}",
                         headers=bearer(mine["access_token"]))
    assert this.status_code == 204 and not signed_in(client, mine["access_token"])


def test_change_password_page(client, mailbox, workers):
    api = client.application.test_client()  # without the browser's cookies
    api_signup(api, "alice")
    other = api_login(api).get_json()
    assert page_login(client).status_code == 302
    settings = client.get("/settings/profile").get_data(as_text=True)
    assert 'href="/settings/password"' in settings and 'href="/settings/sessions"' in settings
    assert client.get("/settings/password").status_code == 200

    def submit(current, new, confirm):
        return client.post("/settings/password", data={"current_password": current, "new_password": new,
                                                       "confirm_password": confirm, "csrf_token": csrf_from(client)})

    wrong = submit("not my password", NEW_PASSWORD, NEW_PASSWORD)
    assert wrong.status_code == 422 and "That is not your current password." in wrong.get_data(as_text=True)
    differ = submit(PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert differ.status_code == 422 and "Type the same new password twice." in differ.get_data(as_text=True)
    short = submit(PASSWORD, "short", "short")
    assert short.status_code == 422 and "Use at least 8 characters." in short.get_data(as_text=True)
    assert signed_in(api, other["access_token"]) and api_login(api, "alice", PASSWORD).status_code == 200

    done = submit(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 302
    assert "Your password is changed." in client.get(done.headers["Location"]).get_data(as_text=True)
    assert page_signed_in(client)
    assert not signed_in(api, other["access_token"])
    assert api_login(api, "alice", PASSWORD).status_code == 401
    assert api_login(api, "alice", NEW_PASSWORD).status_code == 200
    assert "/forgot" in mailbox.wait_for("alice@example.com", subject="password was changed").get_body(preferencelist=("plain",)).get_content()


def test_sessions_page_signs_out_one_device_everywhere_else_and_this_one(client):
    api_signup(client, "alice")
    api_signup(client, "bob")
    phone, laptop = api_login(client).get_json(), api_login(client).get_json()
    bobs = api_login(client, "bob").get_json()
    assert page_login(client).status_code == 302

    html = client.get("/settings/sessions").get_data(as_text=True)
    assert html.count('data-testid="session"') == 3 and html.count("This device") == 1

    def end(path):
        return client.post(path, data={"csrf_token": csrf_from(client)})

    phone_id = current_id(client, phone["access_token"])
    assert end(f"/settings/sessions/{phone_id}/end").status_code == 302
    assert not signed_in(client, phone["access_token"]) and signed_in(client, laptop["access_token"])
    assert end(f"/settings/sessions/{current_id(client, bobs['access_token'])}/end").status_code == 404
    assert signed_in(client, bobs["access_token"])

    assert end("/settings/sessions/end-others").status_code == 302
    assert not signed_in(client, laptop["access_token"]) and page_signed_in(client)
    html = client.get("/settings/sessions").get_data(as_text=True)
    assert html.count('data-testid="session"') == 1

    this_id = re.search(r'action="/settings/sessions/([\w-]+)/end"', html).group(1)
    assert end(f"/settings/sessions/{this_id}/end").status_code == 302
    assert not page_signed_in(client)


@pytest.mark.parametrize(("user_agent", "kind", "device"), [
    (FIREFOX, "web", "Firefox on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
     "Safari/537.36 Edg/131.0.0.0", "web", "Edge on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "web", "Safari on iOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
     "Safari/537.36", "web", "Chrome on Android"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
     "Safari/605.1.15", "web", "Safari on macOS"),
    ("curl/8.5.0", "api", "curl"),
    ("", "api", "Glimpse API client"),
    ("", "web", "Web browser"),
])
def test_devices_are_named_from_the_user_agent(user_agent, kind, device):
    assert describe_device(user_agent, kind) == device
