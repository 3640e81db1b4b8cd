"""The password-reset flow, reading the real mail from a real SMTP server."""
import time

import pytest
from helpers import (
    PASSWORD,
    api_login,
    api_signup,
    bearer,
    csrf_from,
    page_login,
    reset_link_in,
    signed_up_tokens,
    wait_until,
)
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app import create_app
from app.auth import services
from app.config import ConfigError

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def app_config(app_config):
    # Reset is the subject here: the mail and jobs counted are a reset's alone, with no sign-up link.
    return {**app_config, "REQUIRE_EMAIL_VERIFICATION": False}


def forgot(client, email="alice@example.com"):
    return client.post("/api/v1/auth/password/forgot", json={"email": email})


def test_whole_reset_flow_over_the_api(client, mailbox, workers):
    tokens = signed_up_tokens(client, "alice")
    browser = client.application.test_client()
    assert page_login(browser, "alice").status_code == 302
    assert forgot(client).status_code == 202
    message = mailbox.wait_for("alice@example.com")
    assert message["Subject"] == "Reset your Glimpse password"
    link = reset_link_in(message)
    assert link.startswith("http://glimpse.test/reset/")
    token = link.rsplit("/", 1)[1]
    response = client.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 200
    assert api_login(client, "alice", PASSWORD).status_code == 401
    assert api_login(client, "alice", NEW_PASSWORD).status_code == 200
    # Every session from before the reset has ended.
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert "nav-profile" not in browser.get("/").get_data(as_text=True)


def test_reset_token_is_single_use(client, mailbox, workers):
    api_signup(client, "alice")
    forgot(client)
    token = reset_link_in(mailbox.wait_for("alice@example.com")).rsplit("/", 1)[1]
    assert client.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}).status_code == 200
    reused = client.post("/api/v1/auth/password/reset", json={"token": token, "password": "yet another one"})
    assert reused.status_code == 400
    assert "already been used" in reused.get_json()["error"]["message"]
    assert api_login(client, "alice", NEW_PASSWORD).status_code == 200


def test_expired_and_forged_tokens_are_refused_with_clear_messages(app, client, db):
    api_signup(client, "alice")
    user = db.users.find_one({"username": "alice"})

    class HourAgoSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - services.RESET_TOKEN_MAX_AGE_SECONDS - 5

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=services.RESET_TOKEN_SALT, signer=HourAgoSigner)
    expired_token = old.dumps({"uid": str(user["_id"]), "pw": services._password_fingerprint(user)})
    expired = client.post("/api/v1/auth/password/reset", json={"token": expired_token, "password": NEW_PASSWORD})
    assert expired.status_code == 400 and "expired" in expired.get_json()["error"]["message"]
    forged = URLSafeTimedSerializer("some other secret", salt=services.RESET_TOKEN_SALT).dumps({"uid": str(user["_id"])})
    refused = client.post("/api/v1/auth/password/reset", json={"token": forged, "password": NEW_PASSWORD})
    assert refused.status_code == 400 and "not valid" in refused.get_json()["error"]["message"]
    assert api_login(client, "alice", PASSWORD).status_code == 200


def test_too_short_new_password_keeps_the_token_usable(client, mailbox, workers):
    api_signup(client, "alice")
    forgot(client)
    token = reset_link_in(mailbox.wait_for("alice@example.com")).rsplit("/", 1)[1]
    short = client.post("/api/v1/auth/password/reset", json={"token": token, "password": "short"})
    assert short.status_code == 422 and "password" in short.get_json()["error"]["fields"]
    assert client.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}).status_code == 200


def test_forgot_does_not_reveal_whether_an_account_exists(client, db, mailbox, workers):
    api_signup(client, "alice")
    known, unknown = forgot(client, "alice@example.com"), forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    mailbox.wait_for("alice@example.com")
    time.sleep(0.5)
    assert [message["To"] for message in mailbox.messages] == ["alice@example.com"]
    assert db.jobs.count_documents({"kind": "send_mail"}) == 1


def test_asking_for_a_reset_does_the_same_work_whether_or_not_the_account_exists(client, db):
    api_signup(client, "alice")
    assert forgot(client, "alice@example.com").status_code == forgot(client, "nobody@example.com").status_code == 202
    # Without workers nothing has been looked up yet: each request queued one job that names only the address.
    jobs = list(db.jobs.find({}, {"_id": 0, "kind": 1, "payload": 1}))
    assert [(job["kind"], list(job["payload"])) for job in jobs] == [("password_reset_mail", ["email"])] * 2
    assert sorted(job["payload"]["email"] for job in jobs) == ["alice@example.com", "nobody@example.com"]


def test_forgot_is_rate_limited_per_email(client):
    statuses = [forgot(client, "alice@example.com").status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_reset_pages(client, mailbox, workers):
    api_signup(client, "alice")
    response = client.post("/forgot", data={"email": "alice@example.com", "csrf_token": csrf_from(client)})
    assert "Check your mail" in response.get_data(as_text=True)
    path = "/reset/" + reset_link_in(mailbox.wait_for("alice@example.com")).rsplit("/reset/", 1)[1]
    form = client.get(path)
    assert form.status_code == 200 and "@alice" in form.get_data(as_text=True)
    done = client.post(path, data={"password": NEW_PASSWORD, "csrf_token": csrf_from(client)})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert client.get(path).status_code == 400
    assert "already been used" in client.get(path).get_data(as_text=True)
    assert page_login(client, "alice", NEW_PASSWORD).status_code == 302


@pytest.fixture
def mail_viewer(app_config):
    """Configure (ask for it before `app`) as `make run` starts: no MAIL_SERVER, BASE_URL on this
    machine, the development mail viewer on."""
    app_config.update(MAIL_SERVER="", BASE_URL="http://127.0.0.1:5000", DEV_MAIL_VIEWER=True)


def caught_mail_page(client) -> str:
    deadline = time.monotonic() + 10
    while "/reset/" not in (html := client.get("/dev/mail").get_data(as_text=True)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return html


def test_mail_is_caught_for_developers_with_the_viewer_on(mail_viewer, app, client, db, workers):
    api_signup(client, "alice")
    forgot(client)
    html = caught_mail_page(client)
    assert "Reset your Glimpse password" in html and "http://127.0.0.1:5000/reset/" in html
    # Only from this machine, and not for ever.
    assert client.get("/dev/mail", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    assert db.dev_mail.index_information()["expiry_ttl"]["expireAfterSeconds"] == 24 * 3600


def test_the_mail_viewer_is_off_unless_turned_on_and_says_so(app, client, db, workers):
    # Behind a reverse proxy (TRUSTED_PROXIES=0) every visitor comes from 127.0.0.1.
    for mail_server in ("127.0.0.1", ""):
        app.config["MAIL_SERVER"] = mail_server
        response = app.test_client().get("/dev/mail", environ_base={"REMOTE_ADDR": "127.0.0.1"})
        text = response.get_data(as_text=True)
        assert response.status_code == 404, mail_server
        assert "development mail viewer is off" in text and "DEV_MAIL_VIEWER=1" in text, mail_server
    # With nowhere to send it, mail fails for good instead of waiting where someone might read it.
    api_signup(client, "alice")
    forgot(client)
    job = wait_until(lambda: db.jobs.find_one({"kind": "send_mail", "status": "failed"}))
    assert "MAIL_SERVER" in job["last_error"] and "text" not in job["payload"]
    assert db.dev_mail.count_documents({}) == 0


@pytest.mark.parametrize("unsafe", [{"MAIL_SERVER": "smtp.example.com"}, {"BASE_URL": "https://glimpse.example"},
                                    {"BASE_URL": "http://192.168.1.20:5000"}])
def test_the_app_refuses_to_start_with_the_mail_viewer_where_others_could_reach_it(app_config, unsafe):
    local = {**app_config, "MAIL_SERVER": "", "BASE_URL": "http://127.0.0.1:5000", "DEV_MAIL_VIEWER": True}
    for base_url in ("http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:5000"):
        assert create_app({**local, "BASE_URL": base_url}).config["DEV_MAIL_VIEWER"]
    with pytest.raises(ConfigError, match=f"DEV_MAIL_VIEWER is on while {next(iter(unsafe))}"):
        create_app({**local, **unsafe})


def test_a_sent_reset_mail_leaves_no_link_in_its_job(client, db, mailbox, workers):
    api_signup(client, "alice")
    forgot(client)
    token = reset_link_in(mailbox.wait_for("alice@example.com")).rsplit("/", 1)[1]
    job = wait_until(lambda: db.jobs.find_one({"kind": "send_mail", "status": "done"}))
    assert token not in str(job)
    assert set(job["payload"]) == {"to", "subject"} and job["payload"]["to"] == "alice@example.com"
