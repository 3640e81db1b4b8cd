"""Feeds take posts from memory while their revision holds (app/posts/revisions.py): every write to a
post moves it on, so what is shown is what a full read would show, at once, in every process."""
import ast
from pathlib import Path

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import DatabaseCommands, api_upload, bearer, page_login, sample_photos, signed_up_tokens, with_appname
from pymongo import monitoring
from pytest import fixture

from app import create_app
from app.posts.revisions import REVISION, page_fields, revised, whole_posts

APP = Path(__file__).resolve().parents[1] / "app"
WRITES = {"update_one", "update_many", "find_one_and_update", "replace_one", "find_one_and_replace"}

COMMANDS = DatabaseCommands()
monitoring.register(COMMANDS)  # heard by clients made from now on: the second app's own


def unrevised_post_writes(root: Path = APP) -> list[str]:
    """Every `<...>.posts.<write>(filter, update)` under `root` whose update is not `revised(...)`."""
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "posts"):
                continue
            update = node.args[1] if len(node.args) > 1 else next(
                (keyword.value for keyword in node.keywords if keyword.arg in ("update", "replacement")), None)
            if not (isinstance(update, ast.Call) and isinstance(update.func, ast.Name) and update.func.id == "revised"):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_write_to_a_post_moves_its_revision_on():
    assert unrevised_post_writes() == []


def test_the_guard_sees_a_write_that_forgets_the_revision(tmp_path):
    (tmp_path / "forgetful.py").write_text('def f(db):\n    db.posts.update_one({"_id": 1}, {"$set": {"caption": ""}})\n'
                                           '    db.posts.update_many({}, update={"$inc": {"like_count": 1}})\n')
    assert unrevised_post_writes(tmp_path) == ["forgetful.py:2", "forgetful.py:3"]


def test_revised_moves_the_revision_on_for_operators_and_pipelines(db):
    post_id = db.posts.insert_one({"caption": "old", "like_count": 0}).inserted_id
    db.posts.update_one({"_id": post_id}, revised({"$inc": {"like_count": 1}}))
    db.posts.update_one({"_id": post_id}, revised([{"$set": {"caption": "new"}}]))
    assert db.posts.find_one({"_id": post_id}) | {"_id": None} == {
        "_id": None, "caption": "new", "like_count": 1, REVISION: 2}


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


def feed_post(client, token):
    return client.get("/api/v1/feed", headers=bearer(token)).get_json()["results"][0]


def test_a_held_post_is_read_again_only_when_it_changed(client, other_process, people):
    api, bob = other_process.test_client(), bearer(people["bob"])
    sent, _ = COMMANDS.during(lambda: api.get("/api/v1/feed", headers=bob))
    assert sent[("find", "posts")] == 2  # the page's ids, then the post it does not hold
    sent, _ = COMMANDS.during(lambda: api.get("/api/v1/feed", headers=bob))
    assert sent[("find", "posts")] == 1
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"]))
    sent, response = COMMANDS.during(lambda: api.get("/api/v1/feed", headers=bob))
    assert sent[("find", "posts")] == 2 and response.get_json()["results"][0]["like_count"] == 1


def test_what_others_do_to_a_held_post_shows_on_the_next_request(app, client, other_process, people):
    """Changes made through one process show at once through another that holds the post."""
    api = other_process.test_client()
    pages = other_process.test_client()
    assert page_login(pages, "bob").status_code == 302
    assert feed_post(api, people["bob"])["like_count"] == 0 and "alice at the lake" in pages.get("/").get_data(as_text=True)
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"]))
    client.post(f"/api/v1/posts/{people['post']}/comments", headers=bearer(people["carol"]), json={"text": "lovely"})
    client.patch(f"/api/v1/posts/{people['post']}", headers=bearer(people["alice"]), json={"caption": "alice by the sea"})
    shown = feed_post(api, people["bob"])
    assert (shown["like_count"], shown["comment_count"], shown["caption"]) == (1, 1, "alice by the sea")
    page = pages.get("/").get_data(as_text=True)
    assert "alice by the sea" in page and "alice at the lake" not in page
    assert client.delete(f"/api/v1/posts/{people['post']}", headers=bearer(people["alice"])).status_code == 204
    assert api.get("/api/v1/feed", headers=bearer(people["bob"])).get_json()["results"] == []
    assert "alice by the sea" not in pages.get("/").get_data(as_text=True)


def test_a_post_that_stops_matching_between_the_two_reads_is_left_out(app, db, people):
    post_id = ObjectId(people["post"])
    query = {"status": "published"}
    stubs = list(db.posts.find({"_id": post_id}, page_fields("created_at")))
    db.posts.update_one({"_id": post_id}, revised({"$set": {"status": "hidden"}}))
    assert whole_posts(db.posts, query, stubs) == []


def test_held_posts_are_handed_out_as_copies(app, db, people):
    stubs = list(db.posts.find({"_id": ObjectId(people["post"])}, page_fields("created_at")))
    first = whole_posts(db.posts, {}, stubs)[0]
    first["caption"] = "changed by a caller"
    assert whole_posts(db.posts, {}, stubs)[0]["caption"] == "alice at the lake"
