"""Deleting an account: refused without the password, immediate for everyone else, and a job that
removes every trace of it, finishing after a crash."""
import re
from io import BytesIO

import pytest
from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import (
    PASSWORD,
    api_login,
    api_upload,
    bearer,
    csrf_from,
    page_login,
    run_jobs,
    sample_photos,
    signed_up_tokens,
)

from app.accounts.deletion import DELETE_ACCOUNT_JOB, DELETION_STEPS
from app.core.jobs import queue


@pytest.fixture
def photos():
    return sample_photos(DATASETS_DIR, 2)


def post_as(client, token, photos, caption="") -> str:
    response = api_upload(client, token, photos, caption)
    assert response.status_code == 201
    return response.get_json()["id"]


def run_deletion_jobs(app, db) -> int:
    return run_jobs(app, db, [DELETE_ACCOUNT_JOB])


def refers_to(value, user_id: ObjectId) -> bool:
    """Whether a document holds the user's id anywhere, as an ObjectId or as its text."""
    if isinstance(value, dict):
        return any(refers_to(key, user_id) or refers_to(item, user_id) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(refers_to(item, user_id) for item in value)
    return value == user_id or (isinstance(value, str) and str(user_id) in value)


def documents_naming(db, user_id: ObjectId) -> dict[str, int]:
    return {name: count for name in db.list_collection_names()
            if (count := sum(refers_to(document, user_id) for document in db[name].find()))}


@pytest.fixture
def world(client, db, photos):
    """alice, who is to go, with posts, an avatar, likes, comments, saves, follows both ways,
    notifications, blocks both ways, a mute, a follow request and a download of her data; bob, carol,
    dave, erin and frank, who stay."""
    tokens = {name: signed_up_tokens(client, name)["access_token"]
              for name in ("alice", "bob", "carol", "dave", "erin", "frank")}
    alice, bob, carol = tokens["alice"], tokens["bob"], tokens["carol"]
    assert client.put("/api/v1/me/avatar", headers=bearer(alice), content_type="multipart/form-data",
                      data={"photos": [(BytesIO(photos[0].read_bytes()), "me.jpg")]}).status_code == 200
    alices_post = post_as(client, alice, photos, "my two #photos")
    bobs_post = post_as(client, bob, photos[:1], "bob's")
    for token in (alice, carol):
        assert client.put(f"/api/v1/posts/{bobs_post}/like", headers=bearer(token)).status_code == 200
        assert client.post(f"/api/v1/posts/{bobs_post}/comments", headers=bearer(token),
                           json={"text": "nice"}).status_code == 201
    assert client.put(f"/api/v1/posts/{bobs_post}/save", headers=bearer(alice), json={}).status_code == 200
    assert client.put(f"/api/v1/posts/{alices_post}/like", headers=bearer(bob)).status_code == 200
    assert client.post(f"/api/v1/posts/{alices_post}/comments", headers=bearer(bob), json={"text": "wow"}).status_code == 201
    for follower, followee in (("alice", "bob"), ("bob", "alice"), ("carol", "alice"), ("carol", "bob")):
        assert client.put(f"/api/v1/users/{followee}/follow", headers=bearer(tokens[follower])).status_code == 200
    for owner, change, other in (("alice", "mute", "carol"), ("alice", "block", "dave"), ("erin", "block", "alice")):
        assert client.put(f"/api/v1/users/{other}/{change}", headers=bearer(tokens[owner])).status_code == 200
    assert client.put("/api/v1/me/privacy", headers=bearer(tokens["frank"]), json={"private": True}).status_code == 200
    assert client.put("/api/v1/users/frank/follow", headers=bearer(alice)).get_json()["requested_by_me"]
    assert client.post("/api/v1/me/export", headers=bearer(alice)).status_code == 202
    assert run_jobs(client.application, db, ["export_account"]) == 1  # a zip of her data, in GridFS too
    alice_id = db.users.find_one({"username": "alice"})["_id"]
    assert documents_naming(db, alice_id)  # the check below sees what it looks for
    return {"tokens": tokens, "alice_id": alice_id, "alices_post": alices_post, "bobs_post": bobs_post}


def assert_deleted_without_trace(client, db, runner, world, gridfs_before: dict):
    assert documents_naming(db, world["alice_id"]) == {}
    # Alice's photos (two renditions sets) and avatar are gone, chunks and all; bob's photo stays.
    bobs_files = [file_id for photo in db.posts.find_one({"_id": ObjectId(world["bobs_post"])})["photos"]
                  for file_id in photo["files"].values()]
    assert db.fs.files.count_documents({}) == len(bobs_files) < gridfs_before["files"]
    assert db.fs.chunks.count_documents({}) == db.fs.chunks.count_documents({"files_id": {"$in": bobs_files}})
    assert db.fs.chunks.count_documents({}) < gridfs_before["chunks"]
    doctor = runner.invoke(args=["doctor", "--grace-minutes", "0"])
    assert doctor.exit_code == 0 and doctor.output.strip().endswith("clean"), doctor.output
    bob = world["tokens"]["bob"]
    post = client.get(f"/api/v1/posts/{world['bobs_post']}", headers=bearer(bob)).get_json()
    assert (post["like_count"], post["comment_count"]) == (1, 1)  # carol's like and comment
    comments = client.get(f"/api/v1/posts/{world['bobs_post']}/comments").get_json()["results"]
    assert len(comments) == 1
    me = client.get("/api/v1/users/bob").get_json()
    assert (me["follower_count"], me["following_count"]) == (1, 0)  # carol; bob followed only alice
    carol = client.get("/api/v1/users/carol").get_json()
    assert carol["following_count"] == 1
    assert client.get("/api/v1/feed", headers=bearer(bob)).status_code == 200
    assert client.get("/api/v1/notifications", headers=bearer(bob)).status_code == 200


def gridfs_counts(db) -> dict:
    return {"files": db.fs.files.count_documents({}), "chunks": db.fs.chunks.count_documents({})}


def test_api_deletion_needs_the_password_and_leaves_no_trace(app, client, db, runner, world):
    alice = world["tokens"]["alice"]
    before = gridfs_counts(db)
    wrong = client.delete("/api/v1/me", headers=bearer(alice), json={"password": "not my password"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "validation_error"
    assert client.delete("/api/v1/me", headers=bearer(alice), json={}).status_code == 422
    assert db.users.find_one({"_id": world["alice_id"]})["status"] == "active"
    assert db.jobs.count_documents({"kind": DELETE_ACCOUNT_JOB}) == 0
    assert client.get("/api/v1/me", headers=bearer(alice)).status_code == 200

    response = client.delete("/api/v1/me", headers=bearer(alice), json={"password": PASSWORD})
    assert response.status_code == 202 and response.get_json() == {"status": "deleting"}
    # At once, before the job: no token works, no sign-in, profile and posts are 404 for everyone.
    assert client.get("/api/v1/me", headers=bearer(alice)).status_code == 401
    assert api_login(client, "alice").status_code == 401
    assert client.get("/api/v1/users/alice").status_code == 404
    for viewer in (None, world["tokens"]["bob"]):
        headers = bearer(viewer) if viewer else {}
        assert client.get(f"/api/v1/posts/{world['alices_post']}", headers=headers).status_code == 404
        explore = client.get("/api/v1/explore", headers=headers).get_json()["results"]
        assert world["alices_post"] not in [post["id"] for post in explore]
    assert client.get("/u/alice").status_code == 404

    assert run_deletion_jobs(app, db) == 1
    assert_deleted_without_trace(client, db, runner, world, before)
    # The name and the address are free again.
    assert signed_up_tokens(app.test_client(), "alice")["access_token"]


def test_wrong_passwords_count_as_failed_sign_ins(app, client, world):
    alice = world["tokens"]["alice"]
    answers = [client.delete("/api/v1/me", headers=bearer(alice), json={"password": f"guess {n}"}).status_code
               for n in range(12)]
    assert answers[0] == 422 and answers[-1] == 429
    assert client.delete("/api/v1/me", headers=bearer(alice), json={"password": PASSWORD}).status_code == 429


def test_page_asks_for_password_and_username_then_signs_out(app, client, db, world):
    assert page_login(client, "alice").status_code == 302
    settings = client.get("/settings/profile").get_data(as_text=True)
    assert 'href="/settings/delete"' in settings
    form = client.get("/settings/delete")
    assert form.status_code == 200 and "Delete my account" in form.get_data(as_text=True)
    token = csrf_from(client)
    for fields, message in (({"password": "wrong password", "confirm": "alice"}, "not your current password"),
                            ({"password": PASSWORD, "confirm": "alicia"}, "Type your username")):
        refused = client.post("/settings/delete", data={**fields, "csrf_token": token})
        assert refused.status_code == 422 and message in refused.get_data(as_text=True)
    assert db.users.find_one({"_id": world["alice_id"]})["status"] == "active"

    done = client.post("/settings/delete", data={"password": PASSWORD, "confirm": "alice", "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert re.search(r"access_token_cookie=;", done.headers.get("Set-Cookie", ""))
    assert client.get("/settings/profile").status_code == 302  # signed out
    assert db.jobs.count_documents({"kind": DELETE_ACCOUNT_JOB, "status": "queued"}) == 1
    assert run_deletion_jobs(app, db) == 1
    assert db.users.count_documents({"_id": world["alice_id"]}) == 0


@pytest.mark.parametrize("steps_done", [1, 3, 4, 6])
def test_a_deletion_cut_short_is_finished_by_the_next_run(app, client, db, runner, world, steps_done):
    before = gridfs_counts(db)
    assert client.delete("/api/v1/me", headers=bearer(world["tokens"]["alice"]),
                         json={"password": PASSWORD}).status_code == 202
    # A worker takes the job and dies after some steps (and halfway through the next one's files).
    dying = queue.claim(db, "worker-that-dies", [DELETE_ACCOUNT_JOB], lease_seconds=0)
    assert dying is not None
    for step in DELETION_STEPS[:steps_done]:
        step(db, world["alice_id"])
    first_file = db.fs.files.find_one({"metadata.user_id": world["alice_id"]})
    if first_file:
        db.fs.chunks.delete_many({"files_id": first_file["_id"]})
    # Its lease has run out: the next worker takes the job over and finishes it.
    assert run_deletion_jobs(app, db) == 1
    assert db.jobs.find_one({"_id": dying["_id"]})["status"] == "done"
    assert_deleted_without_trace(client, db, runner, world, before)


def test_doctor_queues_a_deletion_whose_job_gave_up(app, client, db, runner, world):
    before = gridfs_counts(db)
    assert client.delete("/api/v1/me", headers=bearer(world["tokens"]["alice"]),
                         json={"password": PASSWORD}).status_code == 202
    db.jobs.delete_many({"kind": DELETE_ACCOUNT_JOB})  # as if it failed for good and lost its payload
    found = runner.invoke(args=["doctor", "--grace-minutes", "0"])
    assert found.exit_code == 1 and "deletions_without_job: 1" in found.output
    runner.invoke(args=["doctor", "--repair", "--grace-minutes", "0"])
    assert run_deletion_jobs(app, db) == 1
    assert_deleted_without_trace(client, db, runner, world, before)
