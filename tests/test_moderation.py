"""Anonymous posts, reports, the review queue, roles, suspension and the audit log."""
import re
from io import BytesIO

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
    wait_until,
)

from app.core.db import get_fs
from app.enrichment.models import get_describer
from app.enrichment.service import enrich_post


@pytest.fixture
def photo():
    return sample_photos(DATASETS_DIR, 1)[0]


@pytest.fixture
def staff(client, db):
    """Tokens of a moderator and an admin, made as the CLI and the admin page would."""
    tokens = {}
    for name, role in (("mod", "moderator"), ("root", "admin")):
        api_signup(client, name)
        db.users.update_one({"username": name}, {"$set": {"role": role}})
        tokens[name] = api_login(client, name).get_json()["access_token"]
    return tokens


def share(client, photo, caption="anonymous sunset #hidden1"):
    return client.post("/api/v1/anonymous/posts", content_type="multipart/form-data",
                       data={"photos": [(BytesIO(photo.read_bytes()), "a.jpg")], "caption": caption})


def visible_everywhere(client, post: dict, token: str) -> dict[str, bool]:
    """Whether the post shows on each route a person could find it through."""
    post_id = post["id"]
    def listed(url, **params):
        return post_id in [item["id"] for item in client.get(url, headers=bearer(token), query_string=params).get_json()["results"]]
    return {
        "api post": client.get(f"/api/v1/posts/{post_id}", headers=bearer(token)).status_code == 200,
        "page": client.get(f"/p/{post_id}").status_code == 200,
        "photo": client.get(post["photos"][0]["urls"]["thumb"]).status_code == 200,
        "original": client.get(post["photos"][0]["urls"]["original"]).status_code == 200,
        "explore": listed("/api/v1/explore", limit=50),
        "for you": listed("/api/v1/for-you", limit=50),
        "search": listed("/api/v1/search", q="#hidden1"),
        "explore page": post_id in client.get("/explore").get_data(as_text=True),
    }


def test_anonymous_post_is_invisible_until_approved_then_visible_everywhere(client, db, photo, staff):
    response = share(client, photo)
    assert response.status_code == 201
    body = response.get_json()
    post, token = body["post"], body["status_token"]
    assert post["status"] == "pending" and post["author"] is None and body["status_url"] == f"/status/{token}"
    viewer = signed_up_tokens(client, "viewer")["access_token"]
    assert not any(visible_everywhere(client, post, viewer).values())
    assert client.get(f"/api/v1/anonymous/posts/{token}").get_json()["state"] == "waiting for review"
    queue = client.get("/api/v1/moderation/queue", headers=bearer(staff["mod"])).get_json()["results"]
    assert [entry["item"]["id"] for entry in queue] == [post["id"]]
    assert client.get(f"/api/v1/posts/{post['id']}", headers=bearer(staff["mod"])).status_code == 200  # moderators see it
    assert client.post(f"/api/v1/moderation/posts/{post['id']}/approve", headers=bearer(staff["mod"]), json={}).status_code == 200
    assert all(visible_everywhere(client, post, viewer).values()), visible_everywhere(client, post, viewer)
    assert client.get(f"/api/v1/anonymous/posts/{token}").get_json()["state"] == "approved"


def test_reject_deletes_the_files_and_leaves_a_tombstone(client, db, photo, staff):
    files_before = db.fs.files.count_documents({}), db.fs.chunks.count_documents({})
    body = share(client, photo).get_json()
    assert db.fs.files.count_documents({}) == files_before[0] + 3
    no_reason = client.post(f"/api/v1/moderation/posts/{body['post']['id']}/reject", headers=bearer(staff["mod"]), json={})
    assert no_reason.status_code == 422
    rejected = client.post(f"/api/v1/moderation/posts/{body['post']['id']}/reject", headers=bearer(staff["mod"]),
                           json={"reason": "Not a photo of anything"})
    assert rejected.status_code == 200
    assert (db.fs.files.count_documents({}), db.fs.chunks.count_documents({})) == files_before
    tombstone = db.posts.find_one({"_id": ObjectId(body["post"]["id"])})
    assert tombstone["status"] == "rejected" and tombstone["photos"] == [] and tombstone["review_reason"] == "Not a photo of anything"
    status = client.get(f"/api/v1/anonymous/posts/{body['status_token']}").get_json()
    assert status["state"] == "rejected" and status["reason"] == "Not a photo of anything"
    assert client.get(f"/api/v1/posts/{body['post']['id']}", headers=bearer(staff["mod"])).status_code == 404


def test_uploader_withdraws_with_the_secret_link(client, db, photo):
    body = share(client, photo).get_json()
    assert client.get("/api/v1/anonymous/posts/not-the-token").status_code == 404
    html = client.get(body["status_url"]).get_data(as_text=True)
    assert "waiting for review" in html
    assert client.post(f"/status/{body['status_token']}/withdraw", data={"csrf_token": csrf_from(client)}).status_code == 302
    assert db.posts.count_documents({}) == 0 and db.fs.files.count_documents({}) == 0


def test_anonymous_posting_is_rate_limited_size_limited_and_can_be_turned_off(app, client, photo):
    statuses = [share(client, photo).status_code for _ in range(6)]
    assert statuses == [201] * 5 + [429]
    app.config["RATELIMIT_ENABLED"] = False
    app.config["ANONYMOUS_MAX_BYTES"] = 1000
    assert share(client, photo).status_code == 422
    app.config["ANONYMOUS_POSTS"] = False
    assert share(client, photo).status_code == 404
    assert client.get("/share").status_code == 404


def test_anonymous_posts_are_counted_per_ipv6_64_prefix_like_every_limit(app, photo):
    def share_from(address):
        sharer = app.test_client()
        sharer.environ_base["REMOTE_ADDR"] = address
        return share(sharer, photo).status_code

    assert [share_from(f"2001:db8:0:7::{n + 1:x}") for n in range(6)] == [201] * 5 + [429]
    assert share_from("2001:db8:0:8::1") == 201


def test_non_moderators_get_403_on_every_moderation_and_admin_route(app, client, staff):
    user = signed_up_tokens(client, "plain")["access_token"]
    page_client = app.test_client()
    page_login(page_client, "plain")
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/v1/moderation", "/api/v1/admin", "/moderation", "/admin")):
            continue
        path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)
        path = re.sub(r"<[^>]+>", "000000000000000000000000", path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if rule.rule.startswith("/api/"):
                response = client.open(path, method=method, headers=bearer(user), json={"reason": "x"})
                assert response.status_code == 403, (method, path, response.status_code)
                if "/admin/" in path:
                    assert client.open(path, method=method, headers=bearer(staff["mod"]), json={}).status_code == 403
            else:
                data = {"csrf_token": csrf_from(page_client)} if method == "POST" else None
                assert page_client.open(path, method=method, data=data).status_code == 403, (method, path)
            checked += 1
    assert checked >= 14


def test_suspension_locks_out_existing_tokens_and_cookies_at_once(app, client, db, staff, photo):
    victim = signed_up_tokens(client, "victim")
    browser = app.test_client()
    page_login(browser, "victim")
    assert client.get("/api/v1/me", headers=bearer(victim["access_token"])).status_code == 200
    response = client.put("/api/v1/admin/users/victim/suspension", headers=bearer(staff["root"]), json={"reason": "spam"})
    assert response.status_code == 200 and response.get_json()["status"] == "suspended"
    assert client.get("/api/v1/me", headers=bearer(victim["access_token"])).status_code == 401
    assert client.post("/api/v1/auth/refresh", headers=bearer(victim["refresh_token"])).status_code == 401
    assert api_upload(client, victim["access_token"], [photo]).status_code == 401
    assert "nav-profile" not in browser.get("/").get_data(as_text=True)
    assert api_login(client, "victim").get_json()["error"]["message"] == "This account is suspended."
    assert client.get("/api/v1/users/victim").status_code == 404
    assert client.put("/api/v1/admin/users/victim/suspension", headers=bearer(staff["root"]), json={}).status_code == 422
    assert client.delete("/api/v1/admin/users/victim/suspension", headers=bearer(staff["root"]), json={}).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(victim["access_token"])).status_code == 401  # its sessions stay ended
    assert api_login(client, "victim", PASSWORD).status_code == 200


def test_admin_grants_and_revokes_moderator(client, db, staff):
    signed_up_tokens(client, "helper")
    assert client.put("/api/v1/admin/users/helper/moderator", headers=bearer(staff["root"])).get_json()["role"] == "moderator"
    token = api_login(client, "helper").get_json()["access_token"]
    assert client.get("/api/v1/moderation/queue", headers=bearer(token)).status_code == 200
    assert client.delete("/api/v1/admin/users/helper/moderator", headers=bearer(staff["root"])).get_json()["role"] == "user"
    assert client.get("/api/v1/moderation/queue", headers=bearer(token)).status_code == 403


def test_enough_independent_reports_hide_a_post_until_reviewed(app, client, db, photo, staff):
    app.config["REPORTS_TO_HIDE"] = 2
    author = signed_up_tokens(client, "author")["access_token"]
    post = api_upload(client, author, [photo]).get_json()
    reporters = [signed_up_tokens(client, f"reporter{number}")["access_token"] for number in range(2)]
    assert client.post(f"/api/v1/posts/{post['id']}/report", headers=bearer(author), json={"reason": "x"}).status_code == 422
    assert client.post(f"/api/v1/posts/{post['id']}/report", headers=bearer(reporters[0]), json={"reason": "spam"}).status_code == 201
    assert client.post(f"/api/v1/posts/{post['id']}/report", headers=bearer(reporters[0]), json={"reason": "spam"}).status_code == 409
    assert client.get(f"/api/v1/posts/{post['id']}").status_code == 200  # one report hides nothing
    assert client.post(f"/api/v1/posts/{post['id']}/report", headers=bearer(reporters[1]), json={"reason": "offensive"}).status_code == 201
    assert client.get(f"/api/v1/posts/{post['id']}").status_code == 404
    entry = client.get("/api/v1/moderation/queue", headers=bearer(staff["mod"])).get_json()["results"][0]
    assert entry["report_count"] == 2 and {r["reason"] for r in entry["report_reasons"]} == {"spam", "offensive"}
    client.post(f"/api/v1/moderation/posts/{post['id']}/approve", headers=bearer(staff["mod"]), json={"reason": "fine"})
    assert client.get(f"/api/v1/posts/{post['id']}").status_code == 200
    assert client.get("/api/v1/moderation/queue", headers=bearer(staff["mod"])).get_json()["results"] == []


def test_what_the_reporter_cannot_see_answers_404_like_what_does_not_exist(app, client, db, photo):
    author = signed_up_tokens(client, "author")["access_token"]
    signed_up_tokens(client, "reporter")
    reporter = api_login(client, "reporter").get_json()["access_token"]
    unseen = {"pending": share(client, photo).get_json()["post"]["id"], "missing": str(ObjectId())}
    for status in ("held", "hidden"):
        unseen[status] = api_upload(client, author, [photo]).get_json()["id"]
        db.posts.update_one({"_id": ObjectId(unseen[status])}, {"$set": {"status": status}})
    held_post, seen = (api_upload(client, author, [photo]).get_json()["id"] for _ in range(2))
    comments = {name: client.post(f"/api/v1/posts/{post_id}/comments", headers=bearer(author),
                                  json={"text": name}).get_json()["id"] for name, post_id in (("on held", held_post), ("hidden", seen))}
    db.posts.update_one({"_id": ObjectId(held_post)}, {"$set": {"status": "held"}})
    db.comments.update_one({"_id": ObjectId(comments["hidden"])}, {"$set": {"hidden": True}})
    comments["missing"] = str(ObjectId())

    for name, post_id in unseen.items():
        response = client.post(f"/api/v1/posts/{post_id}/report", headers=bearer(reporter), json={"reason": "spam"})
        assert (response.status_code, response.get_json()["error"]) == (404, {"code": "not_found", "message": "No such post."}), name
    for name, comment_id in comments.items():
        response = client.post(f"/api/v1/comments/{comment_id}/report", headers=bearer(reporter), json={"reason": "rude"})
        assert (response.status_code, response.get_json()["error"]["message"]) == (404, "No such comment."), name
    page = app.test_client()
    page_login(page, "reporter")
    for name, post_id in unseen.items():
        response = page.post(f"/p/{post_id}/report", data={"reason": "spam", "csrf_token": csrf_from(page)})
        assert response.status_code == 404 and "No such post." in response.get_data(as_text=True), name
    for name, comment_id in comments.items():
        response = page.post(f"/comments/{comment_id}/report", data={"reason": "rude", "csrf_token": csrf_from(page)})
        assert response.status_code == 404 and "No such comment." in response.get_data(as_text=True), name
    assert db.reports.count_documents({}) == 0
    # What the reporter does see can still be reported.
    assert client.post(f"/api/v1/posts/{seen}/report", headers=bearer(reporter), json={"reason": "spam"}).status_code == 201


def test_reported_comments_hide_and_moderators_reject_them(app, client, db, photo, staff):
    app.config["REPORTS_TO_HIDE"] = 1
    author = signed_up_tokens(client, "author")["access_token"]
    post = api_upload(client, author, [photo]).get_json()
    troll = signed_up_tokens(client, "troll")["access_token"]
    comment = client.post(f"/api/v1/posts/{post['id']}/comments", headers=bearer(troll), json={"text": "rude"}).get_json()
    client.post(f"/api/v1/comments/{comment['id']}/report", headers=bearer(author), json={"reason": "rude"})
    assert client.get(f"/api/v1/posts/{post['id']}/comments").get_json()["results"] == []
    assert len(client.get(f"/api/v1/posts/{post['id']}/comments", headers=bearer(staff["mod"])).get_json()["results"]) == 1
    assert client.post(f"/api/v1/moderation/comments/{comment['id']}/reject", headers=bearer(staff["mod"]),
                       json={"reason": "abuse"}).status_code == 200
    assert db.comments.count_documents({}) == 0


def test_a_photo_scoring_over_the_nsfw_threshold_is_held_for_review(app, client, db, photo, staff):
    author = signed_up_tokens(client, "author")["access_token"]
    post = api_upload(client, author, [photo]).get_json()
    with app.app_context():
        enrich_post(db, get_fs(), get_describer(), post["id"], nsfw_hold_threshold=-1.0)  # every photo is "risky"
    assert db.posts.find_one({"_id": ObjectId(post["id"])})["status"] == "held"
    assert client.get(f"/api/v1/posts/{post['id']}").status_code == 404
    queue = client.get("/api/v1/moderation/queue", headers=bearer(staff["mod"]), query_string={"sort": "nsfw"}).get_json()
    assert queue["results"][0]["item"]["id"] == post["id"] and queue["results"][0]["nsfw"] is not None


def test_an_ordinary_photo_the_nsfw_model_is_unsure_of_is_published(app, client, db, workers):
    # A dog leaping into a pool, from Flickr8k dev, scores 0.83: held at the old threshold (0.8),
    # like 5 in 1,000 ordinary dev photos; 1 in 1,000 scores above the one chosen from them.
    photo = DATASETS_DIR / "flickr8k" / "images" / "2872197070_4e97c3ccfa.jpg"
    post = api_upload(client, signed_up_tokens(client, "author")["access_token"], [photo]).get_json()
    wait_until(lambda: db.posts.find_one({"_id": ObjectId(post["id"]), "enrichment": "done"}), timeout=60)
    stored = db.posts.find_one({"_id": ObjectId(post["id"])})
    assert 0.8 < stored["nsfw"] < app.config["NSFW_HOLD_THRESHOLD"] and stored["status"] == "published"


def test_every_action_is_in_the_audit_log(app, client, db, photo, staff):
    signed_up_tokens(client, "someone")
    client.put("/api/v1/admin/users/someone/moderator", headers=bearer(staff["root"]))
    client.delete("/api/v1/admin/users/someone/moderator", headers=bearer(staff["root"]))
    client.put("/api/v1/admin/users/someone/suspension", headers=bearer(staff["root"]), json={"reason": "spam"})
    client.delete("/api/v1/admin/users/someone/suspension", headers=bearer(staff["root"]), json={})
    first, second = share(client, photo).get_json(), share(client, photo).get_json()
    client.post(f"/api/v1/moderation/posts/{first['post']['id']}/approve", headers=bearer(staff["mod"]), json={})
    client.post(f"/api/v1/moderation/posts/{second['post']['id']}/reject", headers=bearer(staff["mod"]), json={"reason": "no"})
    log = client.get("/api/v1/admin/audit", headers=bearer(staff["root"]), query_string={"limit": 50}).get_json()["results"]
    assert [entry["action"] for entry in reversed(log)] == [
        "grant_moderator", "revoke_moderator", "suspend", "reinstate", "approve", "reject"]
    suspend = next(entry for entry in log if entry["action"] == "suspend")
    assert suspend["actor"] == "root" and suspend["reason"] == "spam"
    assert suspend["before"] == {"status": "active"} and suspend["after"] == {"status": "suspended"}
    only_mod = client.get("/api/v1/admin/audit", headers=bearer(staff["root"]), query_string={"actor": "mod"}).get_json()
    assert {entry["action"] for entry in only_mod["results"]} == {"approve", "reject"}
    assert client.get("/api/v1/admin/audit", headers=bearer(staff["mod"])).status_code == 403
    page = app.test_client()
    page_login(page, "root")
    assert page.get("/admin/audit?action=suspend").get_data(as_text=True).count('data-testid="audit-row"') == 1
