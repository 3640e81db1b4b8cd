"""Each web worker remembers shareable posts' photo files, and whom each viewer blocked or was
blocked by (app/posts/photo_files.py), until it hears of a change: a deletion or a block made
anywhere takes the photo back from every worker of a real server within about a second, although
PHOTO_LOOKUP_SECONDS lets them remember for a minute."""
import urllib.error
import urllib.request

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, free_port, page_login, sample_photos, signed_up_tokens, start_server, wait_until
from pytest import fixture

from app.core.statuses import PostStatus
from app.posts.revisions import change_post

ASKED = 12  # new connections each, spread by the kernel over the server's two workers


def statuses(url: str, cookie: str | None = None) -> set[int]:
    answers = set()
    for _ in range(ASKED):
        request = urllib.request.Request(url, headers={"Cookie": f"access_token_cookie={cookie}"} if cookie else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.add(response.status)
        except urllib.error.HTTPError as error:
            answers.add(error.code)
    return answers


@fixture
def served(app_config, client, db, tmp_path):
    """alice's scored public post, bob signed in (his session cookie), and a real server remembering
    the photo in both workers."""
    alice = signed_up_tokens(client, "alice")["access_token"]
    signed_up_tokens(client, "bob")
    response = api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "at the lake")
    assert response.status_code == 201
    post = response.get_json()
    db.posts.update_one({"_id": ObjectId(post["id"])}, {"$set": {"enrichment": "done", "nsfw": 0.01}})  # as if scored
    assert page_login(client, "bob").status_code == 302
    port = free_port()
    server = start_server(app_config, port, log_path=tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}{post['photos'][0]['urls']['thumb']}"
    bob = client.get_cookie("access_token_cookie").value
    assert statuses(url) == {200} and statuses(url, bob) == {200}
    yield {"alice": alice, "post": post, "url": url, "bob": bob}
    server.terminate()
    server.wait(10)


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
