"""Feeds take posts from memory while their revision holds (app/posts/revisions.py), and each process
keeps the first page of each home feed (app/feeds/first_pages.py): what the viewer did shows on their
very next request, what others did within about a second, in every process."""
import ast
import time
from pathlib import Path

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import (
    DatabaseCommands,
    api_upload,
    bearer,
    page_login,
    sample_photos,
    signed_up_tokens,
    wait_until,
    with_appname,
)
from pymongo import monitoring
from pytest import fixture

from app import create_app
from app.posts import changes as changes_module
from app.posts.changes import POLL_SECONDS, PostChanges, note_blocks_changed
from app.posts.revisions import REVISION, change_post, change_posts, page_fields, whole_posts

APP = Path(__file__).resolve().parents[1] / "app"
WRITES = {"update_one", "update_many", "find_one_and_update", "replace_one", "find_one_and_replace",
          "delete_one", "delete_many", "insert_one", "insert_many", "bulk_write"}
# Where posts may be written: revisions.py (every change), and where they are created and removed,
# each of which notes what it did (app/posts/changes.py).
WRITERS = {"posts/revisions.py": WRITES, "posts/services.py": {"insert_one", "delete_one"}}

COMMANDS = DatabaseCommands()
monitoring.register(COMMANDS)  # heard by clients made from now on: the second app's own


def writes_to_posts(root: Path = APP) -> list[str]:
    """Every `<...>.posts.<write>(...)` under `root` outside the places allowed to write posts."""
    found = []
    for path in root.rglob("*.py"):
        allowed = WRITERS.get(path.relative_to(root).as_posix(), set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "posts"
                    and node.func.attr not in allowed):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_posts_are_written_only_where_each_write_moves_the_revision_on_and_is_noted():
    assert writes_to_posts() == []


def test_the_guard_sees_a_write_elsewhere(tmp_path):
    (tmp_path / "forgetful.py").write_text('def f(db):\n    db.posts.update_one({"_id": 1}, {"$set": {"caption": ""}})\n'
                                           '    db.posts.update_many({}, update={"$inc": {"like_count": 1}})\n')
    assert writes_to_posts(tmp_path) == ["forgetful.py:2", "forgetful.py:3"]


def test_each_write_moves_the_revision_on_for_operators_and_pipelines(db):
    post_id = db.posts.insert_one({"caption": "old", "like_count": 0}).inserted_id
    change_post(db, {"_id": post_id}, {"$inc": {"like_count": 1}})
    change_posts(db, {"caption": "old"}, [{"$set": {"caption": "new"}}])
    assert db.posts.find_one({"_id": post_id}) | {"_id": None} == {
        "_id": None, "caption": "new", "like_count": 1, REVISION: 2}


def test_every_change_is_handed_on_once_even_two_in_one_second(db):
    changes = PostChanges()
    first, second = (db.posts.insert_one({"status": "published", "author_id": None}).inserted_id for _ in range(2))
    assert changes.catch_up(db).posts == []
    change_post(db, {"_id": first}, {"$set": {"caption": "a"}})
    assert [change.post_id for change in changes.catch_up(db).posts] == [first]  # noted here: read at once
    change_post(db, {"_id": second}, {"$set": {"caption": "b"}})
    change_post(db, {"_id": first}, {"$set": {"status": "hidden"}})
    handed = changes.catch_up(db)
    assert [(change.post_id, change.published) for change in handed.posts] == [(second, True), (first, False)]
    assert handed.complete and changes.catch_up(db).posts == []
    time.sleep(POLL_SECONDS)
    assert changes.catch_up(db).posts == []


def test_a_reader_that_went_long_without_asking_still_gets_what_was_noted_meanwhile(db, monkeypatch):
    monkeypatch.setattr(changes_module, "OVERLAP_SECONDS", 1)
    changes, post_id = PostChanges(), db.posts.insert_one({"status": "published", "author_id": None}).inserted_id
    changes.catch_up(db)
    change_post(db, {"_id": post_id}, {"$set": {"caption": "a"}})
    note_blocks_changed(db)
    time.sleep(2.5)  # the note's second is now further back than the overlap
    handed = changes.catch_up(db)
    assert [change.post_id for change in handed.posts] == [post_id] and handed.blocks_changed
    assert handed.complete


def test_a_reader_that_went_longer_than_the_notes_are_read_back_says_it_lost_track(db, monkeypatch):
    monkeypatch.setattr(changes_module, "MAX_GAP_SECONDS", 1)
    changes = PostChanges()
    assert changes.catch_up(db).complete
    time.sleep(2.1)
    assert not changes.catch_up(db).complete
    time.sleep(POLL_SECONDS)
    assert changes.catch_up(db).complete


@fixture
def people(client):
    """alice (with a post) followed by bob; carol. Bearer tokens and the post's id."""
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol")}
    response = api_upload(client, tokens["alice"], sample_photos(DATASETS_DIR, 1), "alice at the lake")
    assert response.status_code == 201
    assert client.put("/api/v1/users/alice/follow", headers=bearer(tokens["bob"])).status_code == 200
    return {**tokens, "post": response.get_json()["id"]}


@fixture
def other_process(app_config, people):
    """A second app on the same database, as the other web worker would be, whose commands are heard."""
    app = create_app({**app_config, "MONGODB_URI": with_appname(app_config["MONGODB_URI"], "held-posts")})
    COMMANDS.database = app_config["MONGODB_DB"]
    yield app
    COMMANDS.database = None


def deaf_to_this_process(monkeypatch):
    """The other app hears of no note this one writes from now on, as a real other process would not
    (both apps share this module's count of notes written here)."""
    written = changes_module.notes_written_here()
    monkeypatch.setattr(changes_module, "notes_written_here", lambda: written)


def feed_post(client, token):
    return client.get("/api/v1/feed", headers=bearer(token)).get_json()["results"][0]


def test_a_remembered_first_page_asks_for_no_posts_until_a_change_touches_it(client, other_process, people):
    api, bob = other_process.test_client(), bearer(people["bob"])
    sent, _ = COMMANDS.during(lambda: api.get("/api/v1/feed", headers=bob))
    assert sent[("find", "posts")] >= 1  # the page, read whole
    sent, response = COMMANDS.during(lambda: api.get("/api/v1/feed", headers=bob))
    assert sent[("find", "posts")] == 0 and [post["id"] for post in response.get_json()["results"]] == [people["post"]]
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"]))
    wait_until(lambda: feed_post(api, people["bob"])["like_count"] == 1, timeout=3)


def test_what_others_do_shows_within_a_second_in_another_process(client, other_process, people):
    api, pages = other_process.test_client(), other_process.test_client()
    assert page_login(pages, "bob").status_code == 302
    assert feed_post(api, people["bob"])["like_count"] == 0 and "alice at the lake" in pages.get("/").get_data(as_text=True)
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"]))
    client.post(f"/api/v1/posts/{people['post']}/comments", headers=bearer(people["carol"]), json={"text": "lovely"})
    client.patch(f"/api/v1/posts/{people['post']}", headers=bearer(people["alice"]), json={"caption": "alice by the sea"})
    wait_until(lambda: [feed_post(api, people["bob"])[key] for key in ("like_count", "comment_count", "caption")]
               == [1, 1, "alice by the sea"], timeout=3)
    wait_until(lambda: "alice by the sea" in pages.get("/").get_data(as_text=True), timeout=3)
    assert api_upload(client, people["alice"], sample_photos(DATASETS_DIR, 1), "alice again").status_code == 201
    wait_until(lambda: feed_post(api, people["bob"])["caption"] == "alice again", timeout=3)
    assert client.delete(f"/api/v1/posts/{people['post']}", headers=bearer(people["alice"])).status_code == 204
    wait_until(lambda: len(api.get("/api/v1/feed", headers=bearer(people["bob"])).get_json()["results"]) == 1, timeout=3)
    wait_until(lambda: "alice by the sea" not in pages.get("/").get_data(as_text=True), timeout=3)


def test_what_the_viewer_does_shows_on_their_very_next_request_in_another_process(client, other_process, people,
                                                                                   monkeypatch):
    """With the other process asking for no changes at all, only the viewer's own writes can show."""
    api, bob = other_process.test_client(), bearer(people["bob"])
    post = f"/api/v1/posts/{people['post']}"
    feed_post(api, people["bob"])
    time.sleep(POLL_SECONDS)
    feed_post(api, people["bob"])  # every change so far handed on; from here on, none is asked for
    monkeypatch.setattr(changes_module, "POLL_SECONDS", 3600)
    deaf_to_this_process(monkeypatch)
    client.put(f"{post}/like", headers=bearer(people["carol"]))
    assert feed_post(api, people["bob"])["like_count"] == 0  # others' like: not yet, the page is remembered
    client.put(f"{post}/like", headers=bob)
    shown = feed_post(api, people["bob"])
    assert (shown["like_count"], shown["liked_by_me"]) == (2, True)
    client.put(f"{post}/save", headers=bob)
    assert feed_post(api, people["bob"])["saved_by_me"] is True
    client.post(f"{post}/comments", headers=bob, json={"text": "nice"})
    assert feed_post(api, people["bob"])["comment_count"] == 1
    assert api_upload(client, people["bob"], sample_photos(DATASETS_DIR, 1), "bob's own").status_code == 201
    assert feed_post(api, people["bob"])["caption"] == "bob's own"
    client.delete(f"/api/v1/posts/{feed_post(api, people['bob'])['id']}", headers=bob)
    assert feed_post(api, people["bob"])["id"] == people["post"]
    client.put("/api/v1/users/alice/block", headers=bob)
    assert api.get("/api/v1/feed", headers=bob).get_json()["results"] == []


def test_a_post_that_stops_matching_between_the_two_reads_is_left_out(app, db, people):
    post_id = ObjectId(people["post"])
    query = {"status": "published"}
    stubs = list(db.posts.find({"_id": post_id}, page_fields("created_at")))
    change_post(db, {"_id": post_id}, {"$set": {"status": "hidden"}})
    assert whole_posts(db.posts, query, stubs) == []


def test_held_posts_are_handed_out_as_copies(app, db, people):
    stubs = list(db.posts.find({"_id": ObjectId(people["post"])}, page_fields("created_at")))
    first = whole_posts(db.posts, {}, stubs)[0]
    first["caption"] = "changed by a caller"
    assert whole_posts(db.posts, {}, stubs)[0]["caption"] == "alice at the lake"


def test_an_edits_answer_is_presented_afresh_after_feeds_presented_the_post(client, people):
    feed_post(client, people["bob"])  # presented, and its shape kept by revision
    edited = client.patch(f"/api/v1/posts/{people['post']}", headers=bearer(people["alice"]),
                          json={"caption": "alice by the sea"})
    assert edited.get_json()["caption"] == "alice by the sea"
    wait_until(lambda: feed_post(client, people["bob"])["caption"] == "alice by the sea", timeout=3)


def test_a_like_answers_with_the_viewers_new_state_after_a_page_showed_the_old(client, people):
    bob = bearer(people["bob"])
    assert feed_post(client, people["bob"])["liked_by_me"] is False  # remembered for bob, as he was
    liked = client.put(f"/api/v1/posts/{people['post']}/like", headers=bob).get_json()
    assert (liked["liked_by_me"], liked["like_count"]) == (True, 1)
    assert client.delete(f"/api/v1/posts/{people['post']}/like", headers=bob).get_json()["liked_by_me"] is False
    assert feed_post(client, people["bob"])["liked_by_me"] is False


def test_a_process_that_lost_track_of_the_changes_forgets_the_pages_it_remembered(client, db, other_process, people,
                                                                                   monkeypatch):
    api = other_process.test_client()
    feed_post(api, people["bob"])
    time.sleep(POLL_SECONDS)
    feed_post(api, people["bob"])  # remembered, every change so far handed on
    monkeypatch.setattr(changes_module, "MAX_GAP_SECONDS", 1)
    deaf_to_this_process(monkeypatch)
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"]))
    db.post_changes.delete_many({})  # its note gone, as an hour's expiry takes notes no one read
    time.sleep(2.1)
    assert feed_post(api, people["bob"])["like_count"] == 1
