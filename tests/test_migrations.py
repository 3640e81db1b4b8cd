"""Data migrations (app/maintenance/migrations.py) and the indexes of app/core/db.py."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from helpers import bearer, signed_up_tokens

from app import create_app
from app.core.clock import utc_now
from app.core.db import ensure_indexes, get_db
from app.maintenance.migrations import STEPS, migrate


def as_left_by_an_older_version(db) -> None:
    """Forget the steps the test's database recorded when it was created: its documents are now
    written as a version before those steps would have written them."""
    db.migrations.drop()


def test_migrate_applies_each_step_once_and_a_second_run_leaves_the_posts_alone(db):
    as_left_by_an_older_version(db)
    db.posts.insert_one({"n": 0, "tags": [{"name": "dog", "score": 0.9}]})
    assert migrate(db) == list(STEPS)
    assert sorted(row["_id"] for row in db.migrations.find({"applied_at": {"$ne": None}})) == sorted(STEPS)
    assert db.posts.find_one({"n": 0})["tag_names"] == ["dog"]
    # A post in the older shape after the first run (an older worker still up): not looked at again.
    db.posts.insert_one({"n": 1, "tags": [{"name": "cat", "score": 0.9}]})
    assert migrate(db) == []
    assert db.migrations.count_documents({}) == len(STEPS)
    assert "tag_names" not in db.posts.find_one({"n": 1})


def test_a_worker_start_on_a_migrated_database_does_not_rescan_the_posts(app_config, db):
    db.posts.insert_one({"n": 1, "tags": [{"name": "cat", "score": 0.9}]})
    with create_app(app_config).app_context():
        get_db()
    assert "tag_names" not in db.posts.find_one({"n": 1})


def test_a_step_that_fails_is_not_recorded_and_runs_again_at_the_next_start(db):
    def failing(db):
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        migrate(db, {"flaky": failing})
    assert db.migrations.find_one({"_id": "flaky"}) is None
    runs = []
    assert migrate(db, {"flaky": runs.append}) == ["flaky"] and runs == [db]
    assert migrate(db, {"flaky": runs.append}) == [] and runs == [db]


def test_two_starts_at_once_run_a_step_once(db):
    started, finish, runs = threading.Event(), threading.Event(), []

    def slow_step(db):
        runs.append("first")
        started.set()
        finish.wait()

    first = threading.Thread(target=migrate, args=(db, {"slow": slow_step}), daemon=True)
    first.start()
    try:
        assert started.wait(timeout=60), "the first start never reached its step"
        assert migrate(db, {"slow": lambda db: runs.append("second")}) == []  # claimed by the first
    finally:
        finish.set()
        first.join()
    assert runs == ["first"] and db.migrations.find_one({"_id": "slow"})["applied_at"] is not None


def test_the_claim_of_a_start_that_died_mid_step_runs_out(db):
    db.migrations.insert_one({"_id": "step", "applied_at": None, "claimed_by": "a dead worker",
                              "claimed_until": utc_now() - timedelta(seconds=1)})
    runs = []
    assert migrate(db, {"step": runs.append}) == ["step"] and runs == [db]


def test_migrate_gives_older_posts_their_tag_names(db):
    as_left_by_an_older_version(db)
    db.posts.insert_many([{"tags": [{"name": "dog", "score": 0.9}, {"name": "beach", "score": 0.5}]}, {"caption": "x"}])
    migrate(db)
    assert sorted(map(tuple, (post["tag_names"] for post in db.posts.find()))) == [(), ("dog", "beach")]


def test_migrate_gives_older_posts_their_authors_name_and_avatar(db):
    as_left_by_an_older_version(db)
    avatar_id = ObjectId()
    author_id = db.users.insert_one({"username": "Alice", "avatar_file_id": avatar_id}).inserted_id
    db.posts.insert_many([{"n": 0, "author_id": author_id}, {"n": 1, "author_id": None}])
    migrate(db)
    assert [(post["author_username"], post["author_avatar_file_id"]) for post in db.posts.find().sort("n")] \
        == [("Alice", avatar_id), (None, None)]


def test_the_indexes_earlier_versions_made_are_dropped_and_the_current_ones_kept(db):
    db.posts.create_index([("tags.name", 1)], name="by_tag")
    db.posts.create_index([("status", 1), ("hot", -1)], name="hottest")
    db.likes.create_index([("post_id", 1), ("user_id", 1)], unique=True, name="one_like_each")
    current = {collection: set(db[collection].index_information()) for collection in ("posts", "likes")}
    ensure_indexes(db)
    assert set(db.posts.index_information()) == current["posts"] - {"by_tag", "hottest"}
    assert set(db.likes.index_information()) == current["likes"] - {"one_like_each"}
    assert {"by_author", "by_tag_name", "hot"} <= set(db.posts.index_information())


def test_migrate_clears_what_earlier_versions_kept_to_end_tokens_and_keeps_sessions(client, db):
    tokens = signed_up_tokens(client)
    as_left_by_an_older_version(db)
    db.users.update_one({"username": "alice"}, {"$set": {"session_version": 3, "ended_tokens": {"jti": datetime.now(UTC)}}})
    db.revoked_tokens.insert_one({"_id": "some-jti", "expires_at": datetime.now(UTC) + timedelta(hours=1)})
    migrate(db)
    assert "revoked_tokens" not in db.list_collection_names()
    user = db.users.find_one({"username": "alice"})
    assert "session_version" not in user and "ended_tokens" not in user
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200


def test_migrate_takes_the_text_out_of_mail_that_earlier_versions_sent(db):
    as_left_by_an_older_version(db)
    payload = {"to": "alice@example.com", "subject": "Reset your Glimpse password", "text": "/reset/live-token", "html": None}
    db.jobs.insert_many([{"kind": "send_mail", "status": status, "payload": dict(payload)}
                         for status in ("done", "failed", "queued")])
    migrate(db)
    kept = {job["status"]: sorted(job["payload"]) for job in db.jobs.find()}
    assert kept == {"done": ["subject", "to"], "failed": ["subject", "to"], "queued": ["html", "subject", "text", "to"]}
