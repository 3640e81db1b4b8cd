"""Block and mute: a block hides each from the other and refuses every interaction across it
(as if the content did not exist); a mute only quiets the muter's feeds and notifications."""
from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import (
    CommandLog,
    api_upload,
    bearer,
    csrf_from,
    monitored_client,
    page_login,
    sample_photos,
    signed_up_tokens,
)
from pytest import fixture

from app.core import db as database
from app.core.statuses import PostStatus
from app.search.vectors import VECTOR_FIELDS, save_post_vectors


def post_as(client, token, caption):
    response = api_upload(client, token, sample_photos(DATASETS_DIR, 1), caption)
    assert response.status_code == 201
    return response.get_json()["id"]


def describe_alike(db, *post_ids):
    """The same stored vectors for each post, so each is the others' most similar."""
    vectors = {name: [1.0] + [0.0] * (size - 1) for name, size in VECTOR_FIELDS.items()}
    for post_id in post_ids:
        post = db.posts.find_one({"_id": ObjectId(post_id)})
        save_post_vectors(db, post, vectors, {})
        db.posts.update_one({"_id": post["_id"]}, {"$set": {"enrichment": "done", "nsfw": 0.0}})


@fixture
def world(app, client, db):
    """alice and bob follow each other; alice has a post (which bob liked, saved and can find) and
    a comment on carol's post, similar to alice's."""
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol", "mod")}
    db.users.update_one({"username": "mod"}, {"$set": {"role": "moderator"}})
    alices = post_as(client, tokens["alice"], "alice at the lake #lakeblock")
    carols = post_as(client, tokens["carol"], "carol at the lake")
    describe_alike(db, alices, carols)
    comment = client.post(f"/api/v1/posts/{carols}/comments", headers=bearer(tokens["alice"]),
                          json={"text": "alice was here"}).get_json()["id"]
    client.put("/api/v1/users/alice/follow", headers=bearer(tokens["bob"]))
    client.put("/api/v1/users/bob/follow", headers=bearer(tokens["alice"]))
    client.put(f"/api/v1/posts/{alices}/save", headers=bearer(tokens["bob"]))
    pages = app.test_client()
    assert page_login(pages, "bob").status_code == 302
    return {"tokens": tokens, "alices": alices, "carols": carols, "comment": comment, "bob_pages": pages}


def block(client, token, username):
    response = client.put(f"/api/v1/users/{username}/block", headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# Every route that shows alice's content, as bob asks for it: with his session cookie (pages, and
# photo URLs, which like every page know the viewer by the cookie alone) or his bearer token (API).
# GONE are alice's own things (bob gets 404); ABSENT are lists that must no longer hold them.
GONE = [
    ("page", "/p/{alices}"),
    ("page", "/p/{alices}/similar"),
    ("page", "/u/alice"),
    ("page", "/u/alice/followers"),
    ("page", "/u/alice/following"),
    ("page", "/photos/{alices}/0/thumb"),
    ("page", "/photos/{alices}/0/large"),
    ("page", "/photos/{alices}/0/original"),
    ("api", "/api/v1/posts/{alices}"),
    ("api", "/api/v1/posts/{alices}/comments"),
    ("api", "/api/v1/posts/{alices}/similar"),
    ("api", "/api/v1/users/alice"),
    ("api", "/api/v1/users/alice/posts"),
    ("api", "/api/v1/users/alice/followers"),
]
ABSENT = [  # (how, path, what of alice's must not be in it)
    ("page", "/", "alices"),
    ("page", "/explore", "alices"),
    ("page", "/search?q=lakeblock", "alices"),
    ("page", "/search?q=alice", "alices"),
    ("page", "/for-you", "alices"),
    ("page", "/saved", "alices"),
    ("page", "/p/{carols}/similar", "alices"),
    ("page", "/p/{carols}", "comment_text"),
    ("api", "/api/v1/feed", "alices"),
    ("api", "/api/v1/explore", "alices"),
    ("api", "/api/v1/search?q=lakeblock", "alices"),
    ("api", "/api/v1/search?q=alice", "alices"),
    ("api", "/api/v1/for-you", "alices"),
    ("api", "/api/v1/me/collections/Saved", "alices"),
    ("api", "/api/v1/posts/{carols}/similar", "alices"),
    ("api", "/api/v1/posts/{carols}/comments", "comment"),
]


def as_bob(client, world, how, path):
    path = path.format(**world)
    if how == "page":
        return world["bob_pages"].get(path)
    return client.get(path, headers=bearer(world["tokens"]["bob"]))


def test_a_blocked_user_gets_404_for_everything_of_the_blocker_and_finds_it_in_no_list(client, world):
    wanted = {**world, "comment_text": "alice was here"}
    # First, every route shows it: the table tests something.
    for how, path in GONE:
        assert as_bob(client, world, how, path).status_code == 200, path
    for how, path, what in ABSENT:
        response = as_bob(client, world, how, path)
        assert response.status_code == 200 and wanted[what] in response.get_data(as_text=True), path

    block(client, world["tokens"]["alice"], "bob")
    for how, path in GONE:
        assert as_bob(client, world, how, path).status_code == 404, path
    for how, path, what in ABSENT:
        response = as_bob(client, world, how, path)
        assert response.status_code == 200 and wanted[what] not in response.get_data(as_text=True), path


def test_remembered_photos_are_refused_to_the_blocked_user_too(app, client, world):
    app.config["PHOTO_LOOKUP_SECONDS"] = 60
    photo = f"/photos/{world['alices']}/0/thumb"
    assert client.get(photo).status_code == 200  # now remembered by this process
    block(client, world["tokens"]["alice"], "bob")
    assert world["bob_pages"].get(photo).status_code == 404
    assert client.get(photo).status_code == 200


def test_a_public_posts_photo_asks_once_whom_a_signed_in_viewer_blocked_and_loads_them_only_across_a_block(
        app, app_config, client, world, monkeypatch):
    log = CommandLog()
    monkeypatch.setitem(database._clients, app_config["MONGODB_URI"], monitored_client(app_config["MONGODB_URI"], log))
    app.config["PHOTO_LOOKUP_SECONDS"] = 60
    photo, bob = f"/photos/{world['alices']}/0/thumb", world["bob_pages"]
    assert bob.get(photo).status_code == 200  # the post, and whom bob blocked or was blocked by: no session check
    assert [(command["name"], command.get("projection")) for command in log.sent_to("users")] == [
        ("find", {"blocked_ids": 1, "blocked_by_ids": 1})]
    log.commands.clear()
    assert bob.get(photo).status_code == 200  # both remembered: not one command, bar the poll of changes
    assert [command["name"] for command in log.commands if command.get("find") != "post_changes"] == []
    block(client, world["tokens"]["alice"], "bob")
    assert bob.get(photo).status_code == 404
    assert client.get(photo).status_code == 200


def test_the_blocker_no_longer_sees_the_blocked_user_in_feeds_search_or_comments(client, db, world):
    alice, bob = world["tokens"]["alice"], world["tokens"]["bob"]
    bobs = post_as(client, bob, "bob by the sea #seablock")
    client.post(f"/api/v1/posts/{world['carols']}/comments", headers=bearer(bob), json={"text": "bob too"})
    block(client, alice, "bob")
    for path in ("/api/v1/feed", "/api/v1/explore", "/api/v1/search?q=seablock", "/api/v1/for-you"):
        assert bobs not in client.get(path, headers=bearer(alice)).get_data(as_text=True), path
    comments = client.get(f"/api/v1/posts/{world['carols']}/comments", headers=bearer(alice)).get_json()["results"]
    assert [comment["text"] for comment in comments] == ["alice was here"]
    assert client.get(f"/api/v1/posts/{bobs}", headers=bearer(alice)).status_code == 404
    # alice may still find bob's profile, to unblock him; it shows none of his posts
    profile = client.get("/api/v1/users/bob", headers=bearer(alice)).get_json()
    assert profile["blocked_by_me"] is True
    assert client.get("/api/v1/users/bob/posts", headers=bearer(alice)).get_json()["results"] == []


def test_interactions_across_a_block_are_refused_both_ways_as_if_nothing_were_there(client, db, world):
    alice, bob = world["tokens"]["alice"], world["tokens"]["bob"]
    bobs = post_as(client, bob, "bob's")
    block(client, alice, "bob")
    refused = [
        ("put", "/api/v1/users/alice/follow", bob, None),
        ("put", f"/api/v1/posts/{world['alices']}/like", bob, None),
        ("post", f"/api/v1/posts/{world['alices']}/comments", bob, {"text": "hi"}),
        ("put", f"/api/v1/posts/{world['alices']}/save", bob, {}),
        ("post", f"/api/v1/posts/{world['alices']}/report", bob, {"reason": "spam"}),
        ("post", f"/api/v1/comments/{world['comment']}/report", bob, {"reason": "spam"}),
        ("put", "/api/v1/users/alice/mute", bob, None),
        ("put", "/api/v1/users/bob/follow", alice, None),
        ("put", f"/api/v1/posts/{bobs}/like", alice, None),
        ("post", f"/api/v1/posts/{bobs}/comments", alice, {"text": "hi"}),
        ("post", f"/api/v1/posts/{bobs}/report", alice, {"reason": "spam"}),
    ]
    for method, path, token, body in refused:
        response = getattr(client, method)(path, headers=bearer(token), json=body)
        assert response.status_code == 404, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "not_found"
    pages = world["bob_pages"]
    csrf = csrf_from(pages)
    for path in ("/u/alice/follow", f"/p/{world['alices']}/like", "/u/alice/block"):
        assert pages.post(path, data={"csrf_token": csrf}).status_code == 404, path
    assert db.likes.count_documents({}) == 0 and db.reports.count_documents({}) == 0
    assert db.follows.count_documents({}) == 0 and db.comments.count_documents({}) == 1


def test_blocking_removes_follows_both_ways_and_undo_restores_what_it_hid(client, db, world):
    alice, bob = world["tokens"]["alice"], world["tokens"]["bob"]
    profile = block(client, alice, "bob")
    assert profile["blocked_by_me"] is True and profile["followed_by_me"] is False
    assert block(client, alice, "bob")["blocked_by_me"] is True  # idempotent
    assert db.follows.count_documents({}) == 0
    users = {user["username"]: user for user in db.users.find()}
    assert users["alice"]["following_ids"] == [] and users["bob"]["following_ids"] == []
    assert (users["alice"]["follower_count"], users["bob"]["follower_count"]) == (0, 0)
    assert users["alice"]["blocked_ids"] == [users["bob"]["_id"]]
    assert users["bob"]["blocked_by_ids"] == [users["alice"]["_id"]]
    listed = client.get("/api/v1/me/blocked", headers=bearer(alice)).get_json()["results"]
    assert [user["username"] for user in listed] == ["bob"]
    assert client.put("/api/v1/users/alice/block", headers=bearer(alice)).status_code == 422

    response = client.delete("/api/v1/users/bob/block", headers=bearer(alice))
    assert response.status_code == 200 and response.get_json()["blocked_by_me"] is False
    assert client.get("/api/v1/me/blocked", headers=bearer(alice)).get_json()["results"] == []
    assert client.get(f"/api/v1/posts/{world['alices']}", headers=bearer(bob)).status_code == 200
    assert client.get("/api/v1/users/alice", headers=bearer(bob)).status_code == 200
    assert client.put("/api/v1/users/alice/follow", headers=bearer(bob)).status_code == 200
    assert db.users.find_one({"username": "bob"})["blocked_by_ids"] == []


def test_blocked_and_muted_are_listed_in_settings_and_undone_there(client, db, world):
    block(client, world["tokens"]["bob"], "carol")
    client.put("/api/v1/users/alice/mute", headers=bearer(world["tokens"]["bob"]))
    pages = world["bob_pages"]
    assert "/settings/blocked" in pages.get("/settings/profile").get_data(as_text=True)
    listing = pages.get("/settings/blocked").get_data(as_text=True)
    assert "Unblock @carol" in listing and "Unmute @alice" in listing
    csrf = csrf_from(pages)
    assert pages.post("/u/carol/unblock", data={"csrf_token": csrf, "next": "/settings/blocked"}).status_code == 302
    assert pages.post("/u/alice/unmute", data={"csrf_token": csrf}).status_code == 302
    listing = pages.get("/settings/blocked").get_data(as_text=True)
    assert "You have blocked nobody." in listing and "You have muted nobody." in listing
    bob = db.users.find_one({"username": "bob"})
    assert bob["blocked_ids"] == [] and bob["muted_ids"] == []


def test_mute_hides_posts_and_notifications_from_the_muter_only(client, db, world):
    alice, carol = world["tokens"]["alice"], world["tokens"]["carol"]
    client.put("/api/v1/users/carol/follow", headers=bearer(alice))
    client.put(f"/api/v1/posts/{world['alices']}/like", headers=bearer(carol))
    before = client.get("/api/v1/notifications", headers=bearer(alice)).get_json()
    assert "carol" in [row["actor"] for row in before["results"]]

    response = client.put("/api/v1/users/carol/mute", headers=bearer(alice))
    assert response.status_code == 200 and response.get_json()["muted_by_me"] is True
    assert [user["username"] for user in client.get("/api/v1/me/muted", headers=bearer(alice)).get_json()["results"]] \
        == ["carol"]
    for path in ("/api/v1/feed", "/api/v1/explore", "/api/v1/for-you"):
        assert world["carols"] not in client.get(path, headers=bearer(alice)).get_data(as_text=True), path
    after = client.get("/api/v1/notifications", headers=bearer(alice)).get_json()
    assert "carol" not in [row["actor"] for row in after["results"]]
    assert after["unread"] == before["unread"] - 1
    # Not a block: carol's profile and post still open, she still interacts, others still see her.
    assert client.get("/api/v1/users/carol", headers=bearer(alice)).status_code == 200
    assert world["carols"] in client.get("/api/v1/users/carol/posts", headers=bearer(alice)).get_data(as_text=True)
    assert client.get(f"/api/v1/posts/{world['carols']}", headers=bearer(alice)).status_code == 200
    assert world["carols"] in client.get("/api/v1/explore", headers=bearer(world["tokens"]["bob"])).get_data(as_text=True)
    assert client.put("/api/v1/users/alice/follow", headers=bearer(carol)).status_code == 200

    assert client.delete("/api/v1/users/carol/mute", headers=bearer(alice)).get_json()["muted_by_me"] is False
    assert world["carols"] in client.get("/api/v1/feed", headers=bearer(alice)).get_data(as_text=True)
    restored = client.get("/api/v1/notifications", headers=bearer(alice)).get_json()
    assert "carol" in [row["actor"] for row in restored["results"]]


def test_a_moderator_blocked_by_a_user_still_moderates_their_content(client, db, world):
    alice, mod = world["tokens"]["alice"], world["tokens"]["mod"]
    block(client, alice, "mod")
    assert client.get(f"/api/v1/posts/{world['alices']}", headers=bearer(mod)).status_code == 200
    comments = client.get(f"/api/v1/posts/{world['carols']}/comments", headers=bearer(mod)).get_json()["results"]
    assert "alice was here" in [comment["text"] for comment in comments]
    db.posts.update_one({"_id": ObjectId(world["alices"])}, {"$set": {"status": PostStatus.HELD}})
    queue = client.get("/api/v1/moderation/queue", headers=bearer(mod)).get_json()["results"]
    assert world["alices"] in str(queue)
    decided = client.post(f"/api/v1/moderation/posts/{world['alices']}/approve", headers=bearer(mod), json={})
    assert decided.status_code == 200, decided.get_json()
    # ...but a block still refuses the moderator's own interactions with alice.
    assert client.put(f"/api/v1/posts/{world['alices']}/like", headers=bearer(mod)).status_code == 404


def test_doctor_finds_and_repairs_a_blocked_id_list_out_of_step(runner, client, db, world):
    block(client, world["tokens"]["alice"], "bob")
    client.put("/api/v1/users/carol/mute", headers=bearer(world["tokens"]["bob"]))
    assert "blocks_out_of_step: 0" in runner.invoke(args=["doctor", "--grace-minutes", "0"]).output
    db.users.update_one({"username": "bob"}, {"$set": {"blocked_by_ids": [], "muted_ids": []}})
    db.users.update_one({"username": "carol"}, {"$set": {"blocked_ids": [ObjectId()]}})
    report = runner.invoke(args=["doctor", "--grace-minutes", "0"])
    assert report.exit_code == 1 and "blocks_out_of_step: 2" in report.output, report.output
    assert runner.invoke(args=["doctor", "--repair", "--grace-minutes", "0"]).exit_code == 0
    users = {user["username"]: user for user in db.users.find()}
    assert users["bob"]["blocked_by_ids"] == [users["alice"]["_id"]] and users["bob"]["muted_ids"] == [users["carol"]["_id"]]
    assert users["carol"]["blocked_ids"] == []
