"""Private accounts: posts for the owner, approved followers and staff only; a follow becomes a
request the owner approves or declines."""
from io import BytesIO

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, csrf_from, page_login, sample_photos, signed_up_tokens
from pytest import fixture


@fixture
def private(client, db):
    """dana's account is private, with one post; erik is an outsider, mod a moderator."""
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("dana", "erik", "mod")}
    db.users.update_one({"username": "mod"}, {"$set": {"role": "moderator"}})
    post = api_upload(client, tokens["dana"], sample_photos(DATASETS_DIR, 1), "dana's secret #privateplace")
    assert post.status_code == 201
    response = client.put("/api/v1/me/privacy", headers=bearer(tokens["dana"]), json={"private": True})
    assert response.status_code == 200 and response.get_json() == {"private": True}
    return {"tokens": tokens, "post": post.get_json()["id"]}


def shows(client, path, token, post_id):
    response = client.get(path, headers=bearer(token) if token else {})
    return response.status_code == 200 and post_id in response.get_data(as_text=True)


LISTS = ["/api/v1/explore", "/api/v1/search?q=privateplace", "/api/v1/search?q=dana", "/api/v1/users/dana/posts"]


def test_a_private_accounts_post_is_hidden_from_outsiders_everywhere(app, client, private):
    erik, post = private["tokens"]["erik"], private["post"]
    for token in (erik, None):
        for path in LISTS:
            assert not shows(client, path, token, post), path
        assert client.get(f"/api/v1/posts/{post}", headers=bearer(token) if token else {}).status_code == 404
    assert client.get(f"/photos/{post}/0/thumb").status_code == 404
    pages = app.test_client()
    page_login(pages, "erik")
    for path in ("/explore", "/search?q=privateplace", "/u/dana"):
        assert post not in pages.get(path).get_data(as_text=True), path
    assert "This account is private" in pages.get("/u/dana").get_data(as_text=True)
    assert pages.get(f"/p/{post}").status_code == 404 and pages.get(f"/photos/{post}/0/large").status_code == 404
    # The owner and staff still see it; the profile itself stays visible.
    for token in (private["tokens"]["dana"], private["tokens"]["mod"]):
        assert client.get(f"/api/v1/posts/{post}", headers=bearer(token)).status_code == 200
        assert shows(client, "/api/v1/users/dana/posts", token, post)
    assert client.get("/api/v1/users/dana", headers=bearer(erik)).get_json()["private"] is True


def test_a_follow_becomes_a_request_the_owner_approves(client, db, private):
    dana, erik, post = private["tokens"]["dana"], private["tokens"]["erik"], private["post"]
    profile = client.put("/api/v1/users/dana/follow", headers=bearer(erik)).get_json()
    assert (profile["followed_by_me"], profile["requested_by_me"]) == (False, True)
    assert db.follows.count_documents({}) == 0
    notes = client.get("/api/v1/notifications", headers=bearer(dana)).get_json()["results"]
    assert [(note["kind"], note["actor"], note["text"]) for note in notes] == \
        [("follow_request", "erik", "asked to follow you")]
    listed = client.get("/api/v1/me/follow-requests", headers=bearer(dana)).get_json()["results"]
    assert [user["username"] for user in listed] == ["erik"]
    assert client.get(f"/api/v1/posts/{post}", headers=bearer(erik)).status_code == 404

    assert client.put("/api/v1/me/follow-requests/erik", headers=bearer(dana)).status_code == 204
    assert client.put("/api/v1/me/follow-requests/erik", headers=bearer(dana)).status_code == 404  # answered
    assert client.get("/api/v1/me/follow-requests", headers=bearer(dana)).get_json()["results"] == []
    assert client.get(f"/api/v1/posts/{post}", headers=bearer(erik)).status_code == 200
    assert shows(client, "/api/v1/feed", erik, post) and shows(client, "/api/v1/users/dana/posts", erik, post)
    assert not shows(client, "/api/v1/explore", erik, post)  # private posts stay out of lists for everyone
    # Unfollowing ends it.
    client.delete("/api/v1/users/dana/follow", headers=bearer(erik))
    assert client.get(f"/api/v1/posts/{post}", headers=bearer(erik)).status_code == 404


def test_the_owner_declines_and_a_requester_withdraws(client, db, private):
    dana, erik, mod = private["tokens"]["dana"], private["tokens"]["erik"], private["tokens"]["mod"]
    client.put("/api/v1/users/dana/follow", headers=bearer(erik))
    client.put("/api/v1/users/dana/follow", headers=bearer(mod))
    assert client.delete("/api/v1/me/follow-requests/erik", headers=bearer(dana)).status_code == 204
    assert client.get(f"/api/v1/posts/{private['post']}", headers=bearer(erik)).status_code == 404
    assert client.delete("/api/v1/users/dana/follow", headers=bearer(mod)).get_json()["requested_by_me"] is False
    assert db.follow_requests.count_documents({}) == 0 and db.follows.count_documents({}) == 0
    assert client.get("/api/v1/notifications", headers=bearer(dana)).get_json()["results"] == []
    assert client.put("/api/v1/me/privacy", headers=bearer(dana), json={"private": "maybe"}).status_code == 422


def test_going_public_approves_pending_requests_and_returns_posts_to_explore(runner, client, db, private):
    dana, erik, post = private["tokens"]["dana"], private["tokens"]["erik"], private["post"]
    client.put("/api/v1/users/dana/follow", headers=bearer(erik))
    assert "authors_out_of_step: 0" in runner.invoke(args=["doctor", "--grace-minutes", "0"]).output
    client.put("/api/v1/me/privacy", headers=bearer(dana), json={"private": False})
    assert db.follows.count_documents({}) == 1 and db.follow_requests.count_documents({}) == 0
    assert shows(client, "/api/v1/explore", None, post)
    assert db.posts.find_one({"_id": ObjectId(post)})["author_private"] is False


def test_anonymous_posts_are_unaffected(client, db, private):
    shared = client.post("/api/v1/anonymous/posts", content_type="multipart/form-data",
                         data={"photos": [(BytesIO(sample_photos(DATASETS_DIR, 1)[0].read_bytes()), "a.jpg")],
                               "caption": "anon"})
    anonymous = shared.get_json()["post"]["id"]
    db.posts.update_one({"_id": ObjectId(anonymous)}, {"$set": {"status": "published"}})
    assert shows(client, "/api/v1/explore", None, anonymous)
    assert client.get(f"/api/v1/posts/{anonymous}").status_code == 200


def test_privacy_settings_page_switches_and_answers_requests(app, client, db, private):
    client.put("/api/v1/users/dana/follow", headers=bearer(private["tokens"]["erik"]))
    pages = app.test_client()
    page_login(pages, "dana")
    assert "/settings/privacy" in pages.get("/settings/profile").get_data(as_text=True)
    listing = pages.get("/settings/privacy").get_data(as_text=True)
    assert "Approve @erik" in listing and "checked" in listing
    assert pages.post("/settings/follow-requests/erik/approve", data={"csrf_token": csrf_from(pages)}).status_code == 302
    assert db.follows.count_documents({}) == 1
    assert pages.post("/settings/privacy", data={"csrf_token": csrf_from(pages)}).status_code == 302  # unchecked
    assert db.users.find_one({"username": "dana"})["private"] is False
    erik_pages = app.test_client()
    page_login(erik_pages, "erik")
    client.put("/api/v1/me/privacy", headers=bearer(private["tokens"]["dana"]), json={"private": True})
    client.delete("/api/v1/users/dana/follow", headers=bearer(private["tokens"]["erik"]))
    assert erik_pages.post("/u/dana/follow", data={"csrf_token": csrf_from(erik_pages)}).status_code == 302
    assert "Requested" in erik_pages.get("/u/dana").get_data(as_text=True)
