"""Each web worker remembers shareable posts' photo files, posts open to everyone, and whom each
viewer blocked or was blocked by (app/posts/memory.py), until it hears of a change: a deletion, a
hide or a block made anywhere reaches every worker of a real server within about a second,
although PHOTO_LOOKUP_SECONDS and POST_LOOKUP_SECONDS let them remember for minutes; what a viewer
writes themself shows to them at once."""
import json
import urllib.error
import urllib.request

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import (
    api_upload,
    bearer,
    free_port,
    page_login,
    sample_photos,
    signed_up_tokens,
    start_server,
    stop_server,
    wait_until,
)
from pytest import fixture

from app.core.statuses import PostStatus
from app.posts.revisions import change_post

ASKED = 12  # new connections each, spread by the kernel over the server's two workers


def answers(url: str, cookie: str | None = None, token: str | None = None) -> list[tuple[int, str]]:
    """(status, body) of ASKED requests, each on a new connection."""
    headers = {"Cookie": f"access_token_cookie={cookie}"} if cookie else bearer(token) if token else {}
    found = []
    for _ in range(ASKED):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
                found.append((response.status, response.read().decode(errors="replace")))
        except urllib.error.HTTPError as error:
            found.append((error.code, ""))
    return found


def statuses(url: str, cookie: str | None = None, token: str | None = None) -> set[int]:
    return {status for status, _ in answers(url, cookie, token)}


@fixture
def served(app_config, client, db, tmp_path):
    """alice's scored public post, bob signed in (his session cookie), and a real server remembering
    the photo in both workers."""
    alice = signed_up_tokens(client, "alice")["access_token"]
    bob_token = signed_up_tokens(client, "bob")["access_token"]
    response = api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "at the lake")
    assert response.status_code == 201
    post = response.get_json()
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"enrichment": "done", "nsfw": 0.01}})  # as if scored
    assert page_login(client, "bob").status_code == 302
    port = free_port()
    server = start_server(app_config, port, log_path=tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}{post['photos'][0]['urls']['thumb']}"
    page, api = f"http://127.0.0.1:{port}/p/{post['id']}", f"http://127.0.0.1:{port}/api/v1/posts/{post['id']}"
    bob = client.get_cookie("access_token_cookie").value
    for asked in ((url,), (url, bob), (page,), (page, bob), (api,), (api, None, bob_token)):
        assert statuses(*asked) == {200}
    yield {"alice": alice, "post": post, "url": url, "page": page, "api": api, "bob": bob, "bob_token": bob_token}
    stop_server(server, timeout=10)


def test_a_deleted_posts_photo_leaves_every_worker_within_a_second(client, served):
    assert client.delete(f"/api/v1/posts/{served['post']['id']}", headers=bearer(served["alice"])).status_code == 204
    wait_until(lambda: statuses(served["url"]) == {404}, timeout=3)


def test_a_hidden_posts_photo_leaves_every_worker_within_a_second(db, served):
    change_post(db, {"_id": ObjectId(served["post"]["id"])}, {"$set": {"status": PostStatus.HIDDEN}})
    wait_until(lambda: statuses(served["url"]) == {404}, timeout=3)


def test_a_block_takes_the_photo_from_the_blocked_in_every_worker_within_a_second(client, served):
    assert client.put("/api/v1/users/bob/block", headers=bearer(served["alice"])).status_code == 200
    wait_until(lambda: statuses(served["url"], served["bob"]) == {404}, timeout=3)
    assert statuses(served["url"]) == {200}
    assert client.delete("/api/v1/users/bob/block", headers=bearer(served["alice"])).status_code == 200
    wait_until(lambda: statuses(served["url"], served["bob"]) == {200}, timeout=3)


def test_a_hidden_or_deleted_post_leaves_every_workers_post_page_within_a_second(client, db, served):
    change_post(db, {"_id": ObjectId(served["post"]["id"])}, {"$set": {"status": PostStatus.HIDDEN}})
    wait_until(lambda: statuses(served["page"]) == statuses(served["api"]) == {404}, timeout=3)
    change_post(db, {"_id": ObjectId(served["post"]["id"])}, {"$set": {"status": PostStatus.PUBLISHED}})
    wait_until(lambda: statuses(served["page"]) == statuses(served["api"]) == {200}, timeout=3)
    assert client.delete(f"/api/v1/posts/{served['post']['id']}", headers=bearer(served["alice"])).status_code == 204
    wait_until(lambda: statuses(served["page"], served["bob"]) == statuses(served["api"]) == {404}, timeout=3)


def test_a_block_hides_the_post_page_from_the_blocked_at_once(client, served):
    assert client.put("/api/v1/users/bob/block", headers=bearer(served["alice"])).status_code == 200
    assert statuses(served["page"], served["bob"]) == statuses(served["api"], None, served["bob_token"]) == {404}
    assert statuses(served["page"]) == {200}


def test_what_a_viewer_writes_shows_to_them_at_once_in_every_worker(client, served):
    """Their like and comment are counted and shown on their very next request, whichever worker
    answers, though others may see the remembered post for up to a second more."""
    post_id = served["post"]["id"]
    bob = bearer(served["bob_token"])
    assert client.put(f"/api/v1/posts/{post_id}/like", headers=bob).status_code == 200
    assert {json.loads(body)["like_count"] for _, body in answers(served["api"], token=served["bob_token"])} == {1}
    assert client.post(f"/api/v1/posts/{post_id}/comments", json={"text": "lovely light"}, headers=bob).status_code == 201
    pages = answers(served["page"], served["bob"])
    assert all(status == 200 and "1 like<" in body and "lovely light" in body for status, body in pages)
