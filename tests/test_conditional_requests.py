"""Pages and API answers carry a weak ETag; asked again with it, an unchanged answer is a 304
without a body, and any change (a new post, a like) is a new answer at once (app/core/conditional.py)."""
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, page_login, sample_photos, signed_up_tokens


def revalidated(client, path, etag, **headers):
    return client.get(path, headers={"If-None-Match": etag, **headers})


def test_an_api_list_is_answered_304_until_it_changes(client):
    alice = signed_up_tokens(client, "alice")["access_token"]
    bob = bearer(signed_up_tokens(client, "bob")["access_token"])
    assert api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "by the lake").status_code == 201
    first = client.get("/api/v1/explore", headers=bob)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"') and first.headers["Cache-Control"] == "private, no-cache"
    unchanged = revalidated(client, "/api/v1/explore", etag, **bob)
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == etag
    post_id = first.get_json()["results"][0]["id"]
    assert client.put(f"/api/v1/posts/{post_id}/like", headers=bob).status_code == 200
    changed = revalidated(client, "/api/v1/explore", etag, **bob)
    assert changed.status_code == 200 and changed.get_json()["results"][0]["like_count"] == 1
    assert changed.headers["ETag"] != etag


def test_the_tag_is_the_askers_answer_not_the_addresss(client):
    """One address answers each asker for themselves: another's tag never earns a 304."""
    alice = bearer(signed_up_tokens(client, "alice")["access_token"])
    bob = bearer(signed_up_tokens(client, "bob")["access_token"])
    alices = client.get("/api/v1/me", headers=alice).headers["ETag"]
    assert revalidated(client, "/api/v1/me", alices, **bob).status_code == 200
    assert revalidated(client, "/api/v1/me", alices, **alice).status_code == 304


def test_a_signed_out_page_is_answered_304_until_it_changes(client):
    alice = signed_up_tokens(client, "alice")["access_token"]
    etag = client.get("/u/alice").headers["ETag"]
    assert revalidated(client, "/u/alice", etag).status_code == 304
    assert api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "a new photo").status_code == 201
    changed = revalidated(client, "/u/alice", etag)
    assert changed.status_code == 200 and "a new photo" in changed.get_data(as_text=True)


def test_writes_errors_and_a_signed_in_browsers_pages_are_never_304(app, client):
    signed_up_tokens(client, "alice")
    etag = client.get("/login").headers["ETag"]
    assert client.post("/login", data={}, headers={"If-None-Match": etag}).status_code != 304
    missing = client.get("/u/nobody")
    assert missing.status_code == 404 and "ETag" not in missing.headers
    assert revalidated(client, "/u/nobody", "*").status_code == 404
    pages = app.test_client()
    assert page_login(pages, "alice").status_code == 302
    assert revalidated(pages, "/u/alice", etag).status_code == 200
    assert revalidated(pages, "/u/alice", "*").status_code == 200
