"""Posts through the API: upload, read, edit, delete, and the photo URLs."""
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from io import BytesIO

import pytest
from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import api_signup, api_upload, bearer, page_login, sample_photos, signed_up_tokens

from app import create_app
from app.config import ConfigError
from app.core.db import get_fs
from app.enrichment.models import get_describer
from app.enrichment.service import enrich_post
from app.media.images import process_upload
from app.posts.changes import note_changed
from app.posts.memory import memory
from app.posts.services import create_post


@pytest.fixture
def photos():
    return sample_photos(DATASETS_DIR, 3)


@pytest.fixture
def alice(client):
    return signed_up_tokens(client, "alice")["access_token"]


def counts(db) -> tuple[int, int, int]:
    return db.posts.count_documents({}), db.fs.files.count_documents({}), db.fs.chunks.count_documents({})


def test_upload_answers_the_post_object_and_get_returns_the_same(client, alice, photos, db):
    response = api_upload(client, alice, photos[:2], caption="Sunny day at the #Beach with #friends")
    assert response.status_code == 201, response.get_json()
    post = response.get_json()
    assert set(post) >= {"id", "status", "author", "caption", "alt_text", "tags", "hashtags", "created_at", "photos", "enrichment"}
    assert post["status"] == "published" and post["enrichment"] == "pending"
    assert post["author"]["username"] == "alice" and post["hashtags"] == ["beach", "friends"]
    assert len(post["photos"]) == 2
    photo = post["photos"][0]
    assert set(photo["urls"]) == {"original", "large", "thumb"} and photo["format"] == "JPEG"
    assert photo["width"] > 0 and photo["height"] > 0 and photo["bytes"] == photos[0].stat().st_size
    again = client.get(f"/api/v1/posts/{post['id']}").get_json()
    assert again == {**post, "liked_by_me": False, "saved_by_me": False}
    assert db.jobs.count_documents({"kind": "enrich_post", "payload.post_id": post["id"]}) == 1
    for url in photo["urls"].values():
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype.startswith("image/")
    thumb = client.get(photo["urls"]["thumb"])
    assert thumb.headers["Cache-Control"] == "private, no-cache" and thumb.headers["ETag"]  # not yet scored
    assert client.get(photo["urls"]["thumb"], headers={"If-None-Match": thumb.headers["ETag"]}).status_code == 304
    partial = client.get(photo["urls"]["original"], headers={"Range": "bytes=0-9"})
    assert partial.status_code == 206 and len(partial.data) == 10


def test_a_bad_photo_among_good_ones_stores_nothing(client, alice, photos, db):
    before = counts(db)
    response = client.post("/api/v1/posts", headers=bearer(alice), content_type="multipart/form-data", data={
        "photos": [(BytesIO(photos[0].read_bytes()), "good.jpg"), (BytesIO(b"<html>not a photo</html>"), "bad.jpg")]})
    assert response.status_code == 422
    assert "Photo 2" in response.get_json()["error"]["message"]
    assert counts(db) == before


def test_upload_needs_a_photo_and_an_account(client, alice, photos, db):
    assert client.post("/api/v1/posts", headers=bearer(alice), data={"caption": "no photo"}).status_code == 422
    anonymous = client.post("/api/v1/posts", content_type="multipart/form-data",
                            data={"photos": [(BytesIO(photos[0].read_bytes()), "a.jpg")]})
    assert anonymous.status_code == 401
    assert counts(db) == (0, 0, 0)


def test_owner_edits_caption_and_alt_text(client, alice, photos):
    post = api_upload(client, alice, photos[:1], caption="old").get_json()
    response = client.patch(f"/api/v1/posts/{post['id']}", headers=bearer(alice),
                            json={"caption": "new #words", "alt_text": "A dog runs on sand."})
    assert response.status_code == 200
    body = response.get_json()
    assert body["caption"] == "new #words" and body["hashtags"] == ["words"]
    assert body["alt_text"] == "A dog runs on sand." and body["alt_text_source"] == "author"
    assert client.patch(f"/api/v1/posts/{post['id']}", headers=bearer(alice), json={"caption": "x" * 2201}).status_code == 422


def test_another_users_post_cannot_be_edited_or_deleted(client, alice, photos, db):
    post = api_upload(client, alice, photos[:1]).get_json()
    mallory = signed_up_tokens(client, "mallory")["access_token"]
    assert client.patch(f"/api/v1/posts/{post['id']}", headers=bearer(mallory), json={"caption": "mine"}).status_code == 403
    assert client.delete(f"/api/v1/posts/{post['id']}", headers=bearer(mallory)).status_code == 403
    assert db.posts.find_one()["caption"] == ""


def test_delete_leaves_no_files_likes_comments_or_notifications(client, alice, photos, db):
    empty = counts(db)
    post = api_upload(client, alice, photos[:2]).get_json()
    bob = signed_up_tokens(client, "bob")["access_token"]
    client.put(f"/api/v1/posts/{post['id']}/like", headers=bearer(bob))
    client.post(f"/api/v1/posts/{post['id']}/comments", headers=bearer(bob), json={"text": "nice"})
    client.put(f"/api/v1/posts/{post['id']}/save", headers=bearer(bob), json={})
    assert db.notifications.count_documents({}) == 2
    assert client.delete(f"/api/v1/posts/{post['id']}", headers=bearer(alice)).status_code == 204
    assert counts(db) == empty
    for collection in ("likes", "comments", "saves", "notifications"):
        assert db[collection].count_documents({}) == 0, collection
    assert client.get(f"/api/v1/posts/{post['id']}").status_code == 404
    assert client.get(post["photos"][0]["urls"]["thumb"]).status_code == 404


def test_a_published_posts_photos_are_remembered_a_moment_a_held_ones_never(app, client, alice, photos, db):
    app.config["PHOTO_LOOKUP_SECONDS"] = 1
    post = api_upload(client, alice, photos[:1]).get_json()
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"enrichment": "done", "nsfw": 0.01}})  # as if scored
    url = post["photos"][0]["urls"]["thumb"]
    served = client.get(url)
    assert served.status_code == 200 and served.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"status": "held"}})
    assert client.get(url).status_code == 200  # this process still remembers the post as published
    time.sleep(1.2)
    assert client.get(url).status_code == 404
    # Staff still see it, every time from the post itself, and no shared cache may keep it.
    moderator = app.test_client()
    api_signup(moderator, "mod")
    db.users.update_one({"username": "mod"}, {"$set": {"role": "moderator"}})
    page_login(moderator, "mod")
    held = moderator.get(url)
    assert held.status_code == 200 and held.headers["Cache-Control"] == "private, no-cache"
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"status": "rejected"}})
    assert moderator.get(url).status_code == 404


def test_a_remembered_photo_is_served_while_another_request_reads_the_change_notes(app, client, alice, photos, db):
    app.config["PHOTO_LOOKUP_SECONDS"] = 60
    post = api_upload(client, alice, photos[:1]).get_json()
    key = ObjectId(post["id"])
    db.posts.update_one({"_id": key}, {"$set": {"enrichment": "done", "nsfw": 0.01}})  # as if scored
    url = post["photos"][0]["urls"]["thumb"]
    assert client.get(url).status_code == 200
    with ThreadPoolExecutor(1) as other_request:
        memory._lock.acquire()  # as a request reading the notes holds it, for its round trip
        try:
            assert other_request.submit(lambda: app.test_client().get(url).status_code).result(timeout=5) == 200
            # A write of this process's own is waited for: the next answer must not predate it.
            db.posts.update_one({"_id": key}, {"$set": {"status": "held"}})
            note_changed(db, [key])
            answer = other_request.submit(lambda: app.test_client().get(url).status_code)
            with pytest.raises(FutureTimeout):
                answer.result(timeout=0.5)
        finally:
            memory._lock.release()
        assert answer.result(timeout=5) == 404


def test_shared_caches_keep_only_scored_published_photos_and_only_minutes(app, client, alice, photos, db):
    post = api_upload(client, alice, photos[:1]).get_json()
    url = post["photos"][0]["urls"]["large"]
    # Not yet scored: the NSFW model may still hold it back, so no shared cache may keep it.
    assert client.get(url).headers["Cache-Control"] == "private, no-cache"
    with app.app_context():
        enrich_post(db, get_fs(), get_describer(), post["id"], nsfw_hold_threshold=app.config["NSFW_HOLD_THRESHOLD"])
    scored = client.get(url)
    assert scored.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert client.get(url, headers={"If-None-Match": scored.headers["ETag"]}).status_code == 304
    # Scored high but not yet held (the moment between the two): private again.
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"nsfw": 0.99}})
    assert client.get(url).headers["Cache-Control"] == "private, no-cache"
    # Avatars: anyone's cache, for as briefly.
    avatar = client.put("/api/v1/me/avatar", headers=bearer(alice), content_type="multipart/form-data",
                        data={"photos": [(BytesIO(photos[1].read_bytes()), "me.jpg")]}).get_json()["avatar_url"]
    assert client.get(avatar).headers["Cache-Control"] == "public, max-age=300, must-revalidate"


def test_the_photo_lookup_may_not_outlast_what_caches_keep(app_config):
    with pytest.raises(ConfigError, match="PHOTO_LOOKUP_SECONDS"):
        create_app({**app_config, "PHOTO_LOOKUP_SECONDS": 301})


def test_unknown_and_malformed_post_ids_are_404(client):
    assert client.get("/api/v1/posts/000000000000000000000000").status_code == 404
    assert client.get("/api/v1/posts/not-an-id").status_code == 404
    assert client.get("/photos/not-an-id/0/thumb").status_code == 404


def test_renditions_served_from_memory_are_identical_ranged_and_gone_with_their_post(client, alice, photos, db):
    post = api_upload(client, alice, photos[:1]).get_json()
    url = post["photos"][0]["urls"]["large"]
    first, second = client.get(url), client.get(url)  # the second comes from the in-process cache
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    stored = db.fs.files.find_one({"metadata.post_id": ObjectId(post["id"]), "metadata.rendition": "large"})
    assert len(second.data) == stored["length"]
    ranged = client.get(url, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.data == first.data[100:200]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    client.delete(f"/api/v1/posts/{post['id']}", headers=bearer(alice))
    assert client.get(url).status_code == 404


def test_a_post_stored_while_its_author_changes_avatar_shows_the_new_one(app, client, alice, photos, db):
    # set_avatar writes the user, then the author's posts: a post stored in between, from the user
    # as read before, must not keep the old avatar (its file is deleted next).
    author = db.users.find_one({"username": "alice"})
    new_avatar = ObjectId()
    db.users.update_one({"_id": author["_id"]}, {"$set": {"avatar_file_id": new_avatar}})
    with app.app_context():
        photo = process_upload(photos[0].read_bytes(), max_bytes=25 << 20, max_pixels=50_000_000)
        post = create_post(db, get_fs(), author=author, photos=[photo], caption="In between")
    assert post["author_avatar_file_id"] == new_avatar
    assert db.posts.find_one({"_id": post["_id"]})["author_avatar_file_id"] == new_avatar
