"""Downloading an account's data: a job builds the zip (with progress), mails the link, hands it to
its owner only, and removes it (file and all) a day later."""
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from bson import ObjectId
from conftest import DATASETS_DIR
from gridfs import GridFS
from helpers import api_upload, bearer, csrf_from, page_login, run_jobs, sample_photos, signed_up_tokens

from app.core.clock import utc_now

EXPORT_JOBS = ["export_account"]


@pytest.fixture
def photos():
    return sample_photos(DATASETS_DIR, 2)


@pytest.fixture
def world(client, db, photos):
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob")}
    alice, bob = tokens["alice"], tokens["bob"]
    response = api_upload(client, alice, photos, "two of mine #sunset")
    assert response.status_code == 201
    alices_post = response.get_json()["id"]
    assert client.patch(f"/api/v1/posts/{alices_post}", headers=bearer(alice),
                        json={"alt_text": "a red sky"}).status_code == 200
    db.posts.update_one({"_id": ObjectId(alices_post)},  # as enrichment would have tagged it
                        {"$set": {"tags": [{"name": "sky", "score": 0.9}], "tag_names": ["sky"]}})
    bobs_post = api_upload(client, bob, photos[:1], "bob's").get_json()["id"]
    assert client.post(f"/api/v1/posts/{bobs_post}/comments", headers=bearer(alice),
                       json={"text": "lovely"}).status_code == 201
    return {"tokens": tokens, "alices_post": alices_post, "bobs_post": bobs_post}


def originals(db, post_id: str) -> list[bytes]:
    post = db.posts.find_one({"_id": ObjectId(post_id)})
    return [GridFS(db).get(photo["files"]["original"]).read() for photo in post["photos"]]


def test_api_export_is_prepared_mailed_and_given_to_its_owner_only(app, client, db, mailbox, runner, world):
    alice, bob = world["tokens"]["alice"], world["tokens"]["bob"]
    assert client.get("/api/v1/me/export", headers=bearer(alice)).get_json()["state"] == "none"
    asked = client.post("/api/v1/me/export", headers=bearer(alice))
    assert asked.status_code == 202 and asked.get_json()["state"] == "preparing"
    again = client.post("/api/v1/me/export", headers=bearer(alice))  # while preparing: the same one
    assert again.status_code == 202 and db.exports.count_documents({}) == 1
    assert db.jobs.count_documents({"kind": "export_account"}) == 1
    state = client.get("/api/v1/me/export", headers=bearer(alice)).get_json()
    assert (state["state"], state["done"], state["download_url"]) == ("preparing", 0, None)

    assert run_jobs(app, db, EXPORT_JOBS) == 1
    state = client.get("/api/v1/me/export", headers=bearer(alice)).get_json()
    assert (state["state"], state["done"], state["total"]) == ("ready", 2, 2)
    assert state["download_url"].endswith("/api/v1/me/exports/" + str(db.exports.find_one()["_id"]))

    run_jobs(app, db, ["send_mail"])
    mail = mailbox.wait_for("alice@example.com", subject="data is ready")
    link = re.search(r"(http\S+/settings/export/\S+/download)", mail.get_body(preferencelist=("plain",)).get_content()).group(1)

    api_path = state["download_url"].removeprefix("http://localhost")
    download = client.get(api_path, headers=bearer(alice))
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    profile = json.loads(archive.read("profile.json"))
    assert (profile["username"], profile["email"]) == ("alice", "alice@example.com")
    [post] = json.loads(archive.read("posts.json"))
    assert (post["id"], post["caption"], post["hashtags"], post["tags"], post["alt_text"]) == (
        world["alices_post"], "two of mine #sunset", ["sunset"], ["sky"], "a red sky")
    assert post["created_at"] and len(post["photos"]) == 2
    assert [archive.read(photo["file"]) for photo in post["photos"]] == originals(db, world["alices_post"])
    [comment] = json.loads(archive.read("comments.json"))
    assert (comment["post_id"], comment["text"]) == (world["bobs_post"], "lovely")

    # Nobody else gets it, by the API or the page; the owner's browser gets it by the mailed link.
    assert client.get(api_path, headers=bearer(bob)).status_code == 404
    assert client.get(api_path).status_code == 401
    page_path = link.removeprefix(app.config["BASE_URL"])
    bob_browser = app.test_client()
    page_login(bob_browser, "bob")
    assert bob_browser.get(page_path).status_code == 404
    alice_browser = app.test_client()
    page_login(alice_browser, "alice")
    assert alice_browser.get(page_path).data == download.data
    assert runner.invoke(args=["doctor", "--grace-minutes", "0"]).output.strip().endswith("clean")


def test_page_shows_progress_then_the_download(app, client, db, world):
    page_login(client, "alice")
    assert 'href="/settings/export"' in client.get("/settings/profile").get_data(as_text=True)
    assert "Prepare my data" in client.get("/settings/export").get_data(as_text=True)
    assert client.post("/settings/export", data={"csrf_token": csrf_from(client)}).status_code == 302
    preparing = client.get("/settings/export").get_data(as_text=True)
    assert "Preparing… 0 of ? photos" in preparing and 'http-equiv="refresh"' in preparing
    db.exports.update_one({}, {"$set": {"done": 1, "total": 2}})  # as the job counts them
    assert "Preparing… 1 of 2 photos" in client.get("/settings/export").get_data(as_text=True)
    run_jobs(app, db, EXPORT_JOBS)
    ready = client.get("/settings/export").get_data(as_text=True)
    link = re.search(r'href="(/settings/export/[0-9a-f]+/download)"', ready).group(1)
    assert zipfile.ZipFile(io.BytesIO(client.get(link).data)).read("profile.json")


def test_export_and_its_zip_are_gone_a_day_later(app, client, db, runner, world):
    files_before = db.fs.files.count_documents({}), db.fs.chunks.count_documents({})
    client.post("/api/v1/me/export", headers=bearer(world["tokens"]["alice"]))
    run_jobs(app, db, EXPORT_JOBS)
    ready = db.exports.find_one()
    assert ready["expires_at"] - ready["ready_at"] == timedelta(days=1)
    assert "expiry_ttl" in db.exports.index_information()  # the TTL removes the export itself
    assert db.fs.files.count_documents({}) == files_before[0] + 1
    expiry = db.jobs.find_one({"kind": "expire_export"})
    assert expiry["run_at"] == ready["expires_at"].replace(tzinfo=expiry["run_at"].tzinfo)
    assert run_jobs(app, db, ["expire_export"]) == 0  # not before the day is over
    db.jobs.update_one({"_id": expiry["_id"]}, {"$set": {"run_at": utc_now()}})  # the day has passed
    assert run_jobs(app, db, ["expire_export"]) == 1
    assert db.exports.count_documents({}) == 0
    assert (db.fs.files.count_documents({}), db.fs.chunks.count_documents({})) == files_before
    assert client.get(f"/api/v1/me/exports/{ready['_id']}", headers=bearer(world["tokens"]["alice"])).status_code == 404


def test_doctor_removes_a_zip_whose_export_expired_without_its_clean_up(app, client, db, runner, world):
    client.post("/api/v1/me/export", headers=bearer(world["tokens"]["alice"]))
    run_jobs(app, db, EXPORT_JOBS)
    db.exports.delete_many({})  # the TTL monitor came first, and the clean-up job never ran
    found = runner.invoke(args=["doctor", "--grace-minutes", "0"])
    assert "orphan_files: 1" in found.output
    assert runner.invoke(args=["doctor", "--repair", "--grace-minutes", "0"]).output.strip().endswith("clean")
    assert db.fs.files.count_documents({"metadata.kind": "export"}) == 0
