"""Counts kept on the user document, which every signed-in request reads for its session check: the
unread-notification badge and whether the viewer has saved anything cost a page no command of
their own, and stay what the inbox and the saves are."""
import re

from conftest import DATASETS_DIR
from helpers import DatabaseCommands, api_upload, bearer, page_login, sample_photos, signed_up_tokens, with_appname
from pymongo import monitoring
from pytest import fixture

from app import create_app
from app.maintenance.migrations import STEPS, migrate
from app.social.services import notify

COMMANDS = DatabaseCommands()
monitoring.register(COMMANDS)  # heard by clients made from now on: the counted app's own


@fixture
def people(client):
    """alice (with a post), bob and carol: their bearer tokens, and alice's post id."""
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol")}
    response = api_upload(client, tokens["alice"], sample_photos(DATASETS_DIR, 1), "alice at the lake")
    assert response.status_code == 201
    return {**tokens, "post": response.get_json()["id"]}


def unread(client, db, token, username):
    """The badge's figure as the API gives it, which is the count kept on the user."""
    shown = client.get("/api/v1/me", headers=bearer(token)).get_json()["unread_notifications"]
    assert shown == db.users.find_one({"username": username}).get("unread_notifications", 0)
    return shown


def badge(pages):
    """The unread figure the navigation shows (None when it shows none)."""
    found = re.search(r'data-testid="unread-count">(\d+)<', pages.get("/explore").get_data(as_text=True))
    return int(found.group(1)) if found else None


def test_a_notification_counts_for_its_recipient_until_they_read_their_notifications(app, client, db, people):
    alice_pages = app.test_client()
    assert page_login(alice_pages, "alice").status_code == 302
    assert unread(client, db, people["alice"], "alice") == 0 and badge(alice_pages) is None
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["bob"]))
    client.put("/api/v1/users/alice/follow", headers=bearer(people["carol"]))
    assert unread(client, db, people["alice"], "alice") == 2 and badge(alice_pages) == 2
    assert unread(client, db, people["bob"], "bob") == 0  # the actor is not told
    # The notifications page reads them: the count is 0 at once, on that page's own badge too.
    assert 'data-testid="unread-count"' not in alice_pages.get("/notifications").get_data(as_text=True)
    assert unread(client, db, people["alice"], "alice") == 0 and badge(alice_pages) is None
    client.post(f"/api/v1/posts/{people['post']}/comments", headers=bearer(people["bob"]), json={"text": "nice"})
    assert unread(client, db, people["alice"], "alice") == 1
    assert client.post("/api/v1/notifications/read", headers=bearer(people["alice"])).status_code == 204
    assert unread(client, db, people["alice"], "alice") == 0


def test_nothing_counts_from_someone_the_recipient_muted_or_blocked_either_way(client, db, people):
    alice_id = user_id(db, "alice")
    assert client.put("/api/v1/users/carol/mute", headers=bearer(people["alice"])).status_code == 200
    assert client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"])).status_code == 200
    assert db.notifications.count_documents({"user_id": alice_id}) == 1  # kept, for an unmute
    assert unread(client, db, people["alice"], "alice") == 0
    # Across a block nothing the app does notifies; notify itself still counts nothing, either way.
    erin = signed_up_tokens(client, "erin")["access_token"]
    signed_up_tokens(client, "dave")
    assert client.put("/api/v1/users/dave/block", headers=bearer(people["alice"])).status_code == 200
    assert client.put("/api/v1/users/alice/block", headers=bearer(erin)).status_code == 200
    for actor in ({"_id": user_id(db, "dave")}, {"_id": user_id(db, "erin")}):
        notify(db, recipient_id=alice_id, actor=actor, kind="follow")
    assert db.notifications.count_documents({"user_id": alice_id}) == 3
    assert unread(client, db, people["alice"], "alice") == 0
    notify(db, recipient_id=alice_id, actor={"_id": user_id(db, "bob")}, kind="follow")
    assert unread(client, db, people["alice"], "alice") == 1


def test_unmute_unblock_and_block_recount_the_inboxes_they_change(client, db, people):
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["carol"]))
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["bob"]))
    client.put("/api/v1/users/bob/follow", headers=bearer(people["alice"]))
    assert unread(client, db, people["alice"], "alice") == 2 and unread(client, db, people["bob"], "bob") == 1
    client.put("/api/v1/users/carol/mute", headers=bearer(people["alice"]))
    assert unread(client, db, people["alice"], "alice") == 1
    client.delete("/api/v1/users/carol/mute", headers=bearer(people["alice"]))
    assert unread(client, db, people["alice"], "alice") == 2
    # A block hides each from the other: both inboxes are recounted, and again when it is lifted.
    client.put("/api/v1/users/bob/block", headers=bearer(people["alice"]))
    assert unread(client, db, people["alice"], "alice") == 1 and unread(client, db, people["bob"], "bob") == 0
    client.delete("/api/v1/users/bob/block", headers=bearer(people["alice"]))
    assert unread(client, db, people["alice"], "alice") == 2 and unread(client, db, people["bob"], "bob") == 1


def test_deleted_notifications_leave_the_count(client, db, people):
    comment = client.post(f"/api/v1/posts/{people['post']}/comments", headers=bearer(people["bob"]),
                          json={"text": "nice"}).get_json()["id"]
    assert unread(client, db, people["alice"], "alice") == 1
    assert client.delete(f"/api/v1/comments/{comment}", headers=bearer(people["bob"])).status_code == 204
    assert unread(client, db, people["alice"], "alice") == 0


def test_the_notifications_listing_repairs_a_count_that_drifted(app, client, db, people):
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["bob"]))
    db.users.update_one({"username": "alice"}, {"$set": {"unread_notifications": 7}})
    assert client.get("/api/v1/notifications", headers=bearer(people["alice"])).get_json()["unread"] == 1
    assert unread(client, db, people["alice"], "alice") == 1


def test_the_saved_count_follows_saves_and_unsaves(client, db, people):
    save = f"/api/v1/posts/{people['post']}/save"
    assert client.put(save, headers=bearer(people["bob"]), json={"collection": "Lakes"}).status_code == 200
    client.put(save, headers=bearer(people["bob"]), json={"collection": "Lakes"})  # already saved there
    client.put(save, headers=bearer(people["bob"]))
    assert db.users.find_one({"username": "bob"})["saved_count"] == 2
    client.delete(f"{save}?collection=Lakes", headers=bearer(people["bob"]))
    client.delete(f"{save}?collection=Lakes", headers=bearer(people["bob"]))  # gone already
    assert db.users.find_one({"username": "bob"})["saved_count"] == 1
    client.delete(save, headers=bearer(people["bob"]))
    assert db.users.find_one({"username": "bob"})["saved_count"] == 0


@fixture
def counted(app_config, people):
    """A second app on the same database whose commands are logged (its client is made after
    COMMANDS was registered: the URI differs in its appname)."""
    app = create_app({**app_config, "MONGODB_URI": with_appname(app_config["MONGODB_URI"], "counted-feed")})
    COMMANDS.database = app_config["MONGODB_DB"]
    yield app
    COMMANDS.database = None


def commands_of(call):
    sent, response = COMMANDS.during(call)
    assert response.status_code == 200
    return response, [collection for _, collection in sent.elements()]


def test_a_signed_in_feed_asks_no_command_for_the_badge_nor_for_saves_of_someone_who_saved_none(client, counted,
                                                                                                   people):
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["bob"]))  # unread for alice, with the follow
    client.put("/api/v1/users/alice/follow", headers=bearer(people["bob"]))
    pages = counted.test_client()
    assert page_login(pages, "bob").status_code == 302
    api = counted.test_client()
    bob = bearer(people["bob"])
    page, commands = commands_of(lambda: pages.get("/"))
    # No likes lookup: what bob liked of it this process learnt answering his like (app/social/presenter.py).
    assert people["post"] in page.get_data(as_text=True) and sorted(set(commands)) == ["posts", "users"]
    # The same first page again: this process remembers it (app/feeds/first_pages.py): only the
    # session check is asked.
    _, commands = commands_of(lambda: api.get("/api/v1/feed", headers=bob))
    assert commands == ["users"]
    # Once bob saved something his saves are looked up, and his very next request shows the save.
    assert api.put(f"/api/v1/posts/{people['post']}/save", headers=bob).status_code == 200
    feed, commands = commands_of(lambda: api.get("/api/v1/feed", headers=bob))
    assert sorted(commands) == ["likes", "posts", "saves", "users"] and feed.get_json()["results"][0]["saved_by_me"]
    alice_pages = counted.test_client()
    assert page_login(alice_pages, "alice").status_code == 302
    page, commands = commands_of(lambda: alice_pages.get("/"))
    assert "notifications" not in commands and 'data-testid="unread-count">2<' in page.get_data(as_text=True)


def test_migrate_counts_what_earlier_versions_did_not(client, db, people):
    client.put(f"/api/v1/posts/{people['post']}/like", headers=bearer(people["bob"]))
    client.put(f"/api/v1/posts/{people['post']}/save", headers=bearer(people["bob"]))
    client.put("/api/v1/users/alice/mute", headers=bearer(people["carol"]))
    client.put("/api/v1/users/carol/follow", headers=bearer(people["alice"]))  # hidden from carol: muted
    db.users.update_many({}, {"$unset": {"unread_notifications": "", "saved_count": ""}})
    db.migrations.drop()  # as an earlier version left the database
    assert "users_unread_and_saved_counts" in STEPS and migrate(db)
    counts = {user["username"]: (user.get("unread_notifications", 0), user.get("saved_count", 0))
              for user in db.users.find()}
    assert counts == {"alice": (1, 0), "bob": (0, 1), "carol": (0, 0)}


def user_id(db, username):
    return db.users.find_one({"username": username})["_id"]
