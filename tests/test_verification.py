"""Email verification: sign-up mails a link; until it is opened the account may look but not post,
comment, follow or like. Changing the address proves the new one first and tells the old one."""
import re
import time

import pytest
from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import (
    PASSWORD,
    api_login,
    api_signup,
    api_upload,
    bearer,
    csrf_from,
    page_login,
    sample_photos,
    signed_up_tokens,
)
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app.auth import verification
from app.maintenance.migrations import migrate

CONFIRM = "Confirm your email address"


@pytest.fixture
def photo():
    return sample_photos(DATASETS_DIR, 1)


def unverified_tokens(client, username: str) -> dict:
    assert api_signup(client, username, verified=False).status_code == 201
    return api_login(client, username).get_json()


def link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"(http\S+/verify/\S+)", body).group(1)


def token_in(message) -> str:
    return link_in(message).rsplit("/verify/", 1)[1]


def assert_refused_unverified(response):
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "email_unverified"
    assert "Verify your email address" in error["message"] and "alice@example.com" in error["message"]


def test_an_unverified_account_browses_but_may_not_post_comment_follow_or_like(client, db, photo):
    bob = signed_up_tokens(client, "bob")["access_token"]
    bobs_post = api_upload(client, bob, photo).get_json()
    alice = unverified_tokens(client, "alice")["access_token"]

    me = client.get("/api/v1/me", headers=bearer(alice)).get_json()
    assert me["email_verified"] is False and me["pending_email"] is None
    for path in ("/api/v1/feed", "/api/v1/explore", f"/api/v1/posts/{bobs_post['id']}", "/api/v1/users/bob"):
        assert client.get(path, headers=bearer(alice)).status_code == 200, path

    assert_refused_unverified(api_upload(client, alice, photo))
    assert_refused_unverified(client.post(f"/api/v1/posts/{bobs_post['id']}/comments", headers=bearer(alice),
                                          json={"text": "hello"}))
    assert_refused_unverified(client.put("/api/v1/users/bob/follow", headers=bearer(alice)))
    assert_refused_unverified(client.put(f"/api/v1/posts/{bobs_post['id']}/like", headers=bearer(alice)))
    assert db.posts.count_documents({}) == 1
    assert db.comments.count_documents({}) == db.follows.count_documents({}) == db.likes.count_documents({}) == 0
    assert db.notifications.count_documents({}) == 0


def test_the_pages_say_why_and_offer_to_send_again(app, client, db, photo):
    bob = signed_up_tokens(app.test_client(), "bob")["access_token"]
    bobs_post = api_upload(app.test_client(), bob, photo).get_json()
    api_signup(app.test_client(), "alice", verified=False)
    page_login(client)

    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="verify-banner"' in home and "Send again" in home and "alice@example.com" in home
    csrf = csrf_from(client)
    files = {"photos": [(open(photo[0], "rb"), photo[0].name)], "caption": "x", "csrf_token": csrf}
    upload = client.post("/upload", data=files, content_type="multipart/form-data")
    assert upload.status_code == 403 and "Verify your email address" in upload.get_data(as_text=True)
    follow = client.post("/u/bob/follow", data={"csrf_token": csrf})
    assert follow.status_code == 403 and "Verify your email address" in follow.get_data(as_text=True)
    like = client.post(f"/p/{bobs_post['id']}/like", data={"csrf_token": csrf})
    assert like.status_code == 403
    comment = client.post(f"/p/{bobs_post['id']}/comments", data={"csrf_token": csrf, "text": "hi"},
                          follow_redirects=True)
    assert "Verify your email address" in comment.get_data(as_text=True)
    assert db.posts.count_documents({}) == 1
    assert db.comments.count_documents({}) == db.follows.count_documents({}) == db.likes.count_documents({}) == 0


def test_the_mailed_link_verifies_once_and_then_posting_works(client, db, mailbox, workers, photo):
    alice = unverified_tokens(client, "alice")["access_token"]
    token = token_in(mailbox.wait_for("alice@example.com", subject=CONFIRM))
    assert_refused_unverified(api_upload(client, alice, photo))

    verified = client.post("/api/v1/auth/verify", json={"token": token})
    assert verified.status_code == 200 and "alice@example.com" in verified.get_json()["message"]
    assert client.get("/api/v1/me", headers=bearer(alice)).get_json()["email_verified"] is True
    assert api_upload(client, alice, photo).status_code == 201

    again = client.post("/api/v1/auth/verify", json={"token": token})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_token"
    assert "already been used" in again.get_json()["error"]["message"]
    page = client.get(f"/verify/{token}")
    assert page.status_code == 400 and "already been used" in page.get_data(as_text=True)


def test_the_link_page_verifies_and_the_banner_goes(app, client, db, mailbox, workers):
    api_signup(app.test_client(), "alice", verified=False)
    page_login(client)
    link = link_in(mailbox.wait_for("alice@example.com", subject=CONFIRM))
    opened = client.get(link.replace("http://glimpse.test", ""))
    assert opened.status_code == 200 and "alice@example.com is now your verified address" in opened.get_data(as_text=True)
    assert 'data-testid="verify-banner"' not in client.get("/").get_data(as_text=True)


def test_expired_and_forged_links_are_refused(app, client, db):
    api_signup(client, "alice", verified=False)
    user = db.users.find_one({"username": "alice"})

    class TwoDaysAgoSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - verification.VERIFY_TOKEN_MAX_AGE_SECONDS - 5

    payload = {"uid": str(user["_id"]), "n": user["email_verification"]["nonce"]}
    expired = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=verification.VERIFY_TOKEN_SALT,
                                     signer=TwoDaysAgoSigner).dumps(payload)
    refused = client.post("/api/v1/auth/verify", json={"token": expired})
    assert refused.status_code == 400 and "expired" in refused.get_json()["error"]["message"]
    forged = URLSafeTimedSerializer("another secret", salt=verification.VERIFY_TOKEN_SALT).dumps(payload)
    refused = client.post("/api/v1/auth/verify", json={"token": forged})
    assert refused.status_code == 400 and "not valid" in refused.get_json()["error"]["message"]
    assert db.users.find_one({"username": "alice"})["email_verified"] is False


def test_send_again_mails_the_same_link_and_is_rate_limited(client, db, mailbox, workers):
    alice = unverified_tokens(client, "alice")["access_token"]
    first = token_in(mailbox.wait_for("alice@example.com", subject=CONFIRM))
    for _ in range(3):
        sent = client.post("/api/v1/me/verification", headers=bearer(alice))
        assert sent.status_code == 202 and "alice@example.com" in sent.get_json()["message"]
    refused = client.post("/api/v1/me/verification", headers=bearer(alice))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "rate_limited"
    deadline = time.monotonic() + 15
    while len(mailbox.messages) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len([token_in(message) for message in mailbox.messages]) == 4
    assert db.jobs.count_documents({"kind": "send_mail"}) == 4

    # Sending again left the first mail's link good.
    assert client.post("/api/v1/auth/verify", json={"token": first}).status_code == 200
    verified = signed_up_tokens(client, "bob")["access_token"]
    already = client.post("/api/v1/me/verification", headers=bearer(verified))
    assert already.status_code == 409


def test_send_again_from_the_banner(app, client, db, mailbox, workers):
    api_signup(app.test_client(), "alice", verified=False)
    page_login(client)
    sent = client.post("/verify/send-again", data={"csrf_token": csrf_from(client), "next": "/explore"},
                       follow_redirects=True)
    assert "A new link is on its way to alice@example.com" in sent.get_data(as_text=True)
    assert db.jobs.count_documents({"kind": "send_mail"}) == 2


def test_a_new_address_takes_effect_only_once_its_link_is_opened_and_the_old_one_is_told(client, db, mailbox, workers):
    alice = signed_up_tokens(client, "alice")["access_token"]
    signed_up_tokens(client, "bob")
    wrong = client.put("/api/v1/me/email", headers=bearer(alice), json={"email": "new@example.com", "password": "nope nope"})
    assert wrong.status_code == 422 and "password" in wrong.get_json()["error"]["fields"]
    taken = client.put("/api/v1/me/email", headers=bearer(alice), json={"email": "BOB@example.com", "password": PASSWORD})
    assert taken.status_code == 409
    assert db.users.find_one({"username": "alice"}).get("email_verification") is None

    asked = client.put("/api/v1/me/email", headers=bearer(alice), json={"email": "new@example.com", "password": PASSWORD})
    assert asked.status_code == 202
    assert asked.get_json()["email"] == "alice@example.com" and asked.get_json()["pending_email"] == "new@example.com"
    told = mailbox.wait_for("alice@example.com", subject="being changed")
    assert "new@example.com" in told.get_body(preferencelist=("plain",)).get_content()
    token = token_in(mailbox.wait_for("new@example.com", subject=CONFIRM))
    assert api_login(client, "new@example.com").status_code == 401  # not yet the account's
    assert api_login(client, "alice@example.com").status_code == 200

    assert client.post("/api/v1/auth/verify", json={"token": token}).status_code == 200
    me = client.get("/api/v1/me", headers=bearer(alice)).get_json()
    assert me["email"] == "new@example.com" and me["pending_email"] is None and me["email_verified"] is True
    assert api_login(client, "new@example.com").status_code == 200
    assert api_login(client, "alice@example.com").status_code == 401
    assert client.post("/api/v1/auth/verify", json={"token": token}).status_code == 400


def test_the_settings_page_changes_the_address_through_its_link(app, client, db, mailbox, workers):
    api_signup(app.test_client(), "alice")
    page_login(client)
    form = client.get("/settings/email").get_data(as_text=True)
    assert "alice@example.com" in form
    changed = client.post("/settings/email", data={"csrf_token": csrf_from(client), "email": "new@example.com",
                                                   "password": PASSWORD}, follow_redirects=True)
    text = changed.get_data(as_text=True)
    assert "Open the link we mailed to new@example.com" in text and 'data-testid="pending-email"' in text
    assert db.users.find_one({"username": "alice"})["email"] == "alice@example.com"
    mailbox.wait_for("alice@example.com", subject="being changed")
    link = link_in(mailbox.wait_for("new@example.com", subject=CONFIRM))
    assert client.get(link.replace("http://glimpse.test", "")).status_code == 200
    assert db.users.find_one({"username": "alice"})["email"] == "new@example.com"


def test_cli_and_seeded_accounts_are_verified(runner, db):
    sample_photos(DATASETS_DIR, 1)
    runner.invoke(args=["users", "create", "--username", "root", "--email", "root@example.com",
                        "--password", "root password", "--role", "admin"])
    result = runner.invoke(args=["seed", "--users", "2", "--posts", "1", "--photos", str(DATASETS_DIR / "photos")])
    assert result.exit_code == 0, result.output
    assert db.users.count_documents({}) == 3
    assert db.users.count_documents({"email_verified": True}) == 3


def test_accounts_made_before_verification_existed_count_as_verified(db):
    older = db.users.insert_one({"username": "old", "username_lower": "old", "email": "old@example.com",
                                 "email_lower": "old@example.com"}).inserted_id
    db.migrations.delete_many({"_id": "users_verified_before_verification"})
    assert "users_verified_before_verification" in migrate(db)
    assert db.users.find_one({"_id": ObjectId(older)})["email_verified"] is True


def test_with_the_setting_off_nothing_is_required_or_mailed(app, client, db, photo):
    app.config["REQUIRE_EMAIL_VERIFICATION"] = False
    alice = unverified_tokens(client, "alice")["access_token"]
    assert api_upload(client, alice, photo).status_code == 201
    page_login(client)
    assert 'data-testid="verify-banner"' not in client.get("/").get_data(as_text=True)
    assert db.jobs.count_documents({"kind": "send_mail"}) == 0
    assert client.get("/api/v1/me", headers=bearer(alice)).get_json()["email_verified"] is False
