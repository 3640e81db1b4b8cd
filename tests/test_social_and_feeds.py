"""Follows, likes, comments, saves, notifications, and the feeds' order and cursors."""
from io import BytesIO

import pytest
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, sample_photos, signed_up_tokens


@pytest.fixture
def photo():
    return sample_photos(DATASETS_DIR, 1)


@pytest.fixture
def users(client):
    return {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol")}


def post_as(client, token, photo, caption=""):
    response = api_upload(client, token, photo, caption)
    assert response.status_code == 201
    return response.get_json()["id"]


def all_pages(client, url, token=None, limit=2):
    ids, cursor, pages = [], None, 0
    while True:
        response = client.get(url, query_string={"limit": limit, **({"cursor": cursor} if cursor else {})},
                              headers=bearer(token) if token else {})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        ids += [post["id"] for post in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


def test_home_feed_is_people_followed_plus_self_newest_first_with_cursors(client, users, photo):
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    own = [post_as(client, alice, photo, "a1")]
    bobs = [post_as(client, bob, photo, f"b{number}") for number in range(3)]
    post_as(client, carol, photo, "not followed")
    own.append(post_as(client, alice, photo, "a2"))
    assert client.put("/api/v1/users/bob/follow", headers=bearer(alice)).status_code == 200
    ids, pages = all_pages(client, "/api/v1/feed", alice)
    assert ids == [own[1], *reversed(bobs), own[0]]
    assert pages == 3 and len(set(ids)) == len(ids)
    assert client.get("/api/v1/feed", query_string={"cursor": "garbage"}, headers=bearer(alice)).status_code == 422
    assert client.get("/api/v1/feed").status_code == 401


def test_explore_ranks_liked_posts_higher_and_pages_without_gaps(client, users, photo):
    older = post_as(client, users["alice"], photo, "older but loved")
    newer = [post_as(client, users["bob"], photo, f"new {number}") for number in range(3)]
    for token in (users["bob"], users["carol"]):
        client.put(f"/api/v1/posts/{older}/like", headers=bearer(token))
    ids, _ = all_pages(client, "/api/v1/explore")
    assert ids[0] == older and sorted(ids) == sorted([older, *newer])


def test_follow_like_comment_notify_round_trip(client, users, photo):
    alice, bob = users["alice"], users["bob"]
    post_id = post_as(client, alice, photo)
    profile = client.put("/api/v1/users/alice/follow", headers=bearer(bob)).get_json()
    assert profile["follower_count"] == 1 and profile["followed_by_me"] is True
    assert client.put("/api/v1/users/bob/follow", headers=bearer(bob)).status_code == 422
    liked = client.put(f"/api/v1/posts/{post_id}/like", headers=bearer(bob)).get_json()
    assert liked["like_count"] == 1 and liked["liked_by_me"] is True
    assert client.put(f"/api/v1/posts/{post_id}/like", headers=bearer(bob)).get_json()["like_count"] == 1  # idempotent
    comment = client.post(f"/api/v1/posts/{post_id}/comments", headers=bearer(bob), json={"text": "Lovely light"})
    assert comment.status_code == 201
    listed = client.get(f"/api/v1/posts/{post_id}/comments").get_json()["results"]
    assert [item["text"] for item in listed] == ["Lovely light"] and listed[0]["author"]["username"] == "bob"
    assert client.get("/api/v1/me", headers=bearer(alice)).get_json()["unread_notifications"] == 3
    inbox = client.get("/api/v1/notifications", headers=bearer(alice)).get_json()
    assert [item["kind"] for item in inbox["results"]] == ["comment", "like", "follow"]
    assert all(item["actor"] == "bob" for item in inbox["results"])
    assert client.post("/api/v1/notifications/read", headers=bearer(alice)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(alice)).get_json()["unread_notifications"] == 0
    unliked = client.delete(f"/api/v1/posts/{post_id}/like", headers=bearer(bob)).get_json()
    assert unliked["like_count"] == 0
    followers = client.get("/api/v1/users/alice/followers").get_json()["results"]
    assert [user["username"] for user in followers] == ["bob"]
    assert client.delete("/api/v1/users/alice/follow", headers=bearer(bob)).get_json()["follower_count"] == 0


def test_comment_deletion_by_author_owner_or_moderator_only(client, users, photo, db):
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    post_id = post_as(client, alice, photo)
    comment_ids = [client.post(f"/api/v1/posts/{post_id}/comments", headers=bearer(bob), json={"text": f"c{n}"}).get_json()["id"]
                   for n in range(3)]
    assert client.delete(f"/api/v1/comments/{comment_ids[0]}", headers=bearer(carol)).status_code == 403
    assert client.delete(f"/api/v1/comments/{comment_ids[0]}", headers=bearer(bob)).status_code == 204
    assert client.delete(f"/api/v1/comments/{comment_ids[1]}", headers=bearer(alice)).status_code == 204
    db.users.update_one({"username": "carol"}, {"$set": {"role": "moderator"}})
    assert client.delete(f"/api/v1/comments/{comment_ids[2]}", headers=bearer(carol)).status_code == 204
    assert client.get(f"/api/v1/posts/{post_id}").get_json()["comment_count"] == 0
    assert client.post(f"/api/v1/posts/{post_id}/comments", headers=bearer(bob), json={"text": " "}).status_code == 422


def test_saved_collections(client, users, photo):
    alice = users["alice"]
    first, second = post_as(client, users["bob"], photo), post_as(client, users["bob"], photo)
    client.put(f"/api/v1/posts/{first}/save", headers=bearer(alice), json={})
    client.put(f"/api/v1/posts/{second}/save", headers=bearer(alice), json={"collection": "Trips"})
    assert client.get(f"/api/v1/posts/{first}", headers=bearer(alice)).get_json()["saved_by_me"] is True
    collections = client.get("/api/v1/me/collections", headers=bearer(alice)).get_json()["results"]
    assert collections == [{"name": "Saved", "count": 1}, {"name": "Trips", "count": 1}]
    trips = client.get("/api/v1/me/collections/Trips", headers=bearer(alice)).get_json()["results"]
    assert [post["id"] for post in trips] == [second]
    client.delete(f"/api/v1/posts/{first}/save", headers=bearer(alice))
    assert client.get("/api/v1/me/collections/Saved", headers=bearer(alice)).get_json()["results"] == []


def test_profile_bio_avatar_and_posts(client, users, photo):
    alice = users["alice"]
    assert client.patch("/api/v1/me", headers=bearer(alice), json={"bio": "I take photos"}).status_code == 200
    older = post_as(client, alice, photo)
    assert client.get(f"/api/v1/posts/{older}").get_json()["author"]["avatar_url"] is None

    def set_avatar():
        response = client.put("/api/v1/me/avatar", headers=bearer(alice), content_type="multipart/form-data",
                              data={"photos": [(BytesIO(photo[0].read_bytes()), "me.jpg")]})
        assert response.status_code == 200
        return response.get_json()["avatar_url"]

    avatar = set_avatar()
    assert client.get(avatar).status_code == 200
    newer = post_as(client, alice, photo)
    profile = client.get("/api/v1/users/alice").get_json()
    assert profile["bio"] == "I take photos" and profile["avatar_url"] == avatar
    posts = client.get("/api/v1/users/alice/posts").get_json()["results"]
    assert [(post["id"], post["author"]["avatar_url"]) for post in posts] == [(newer, avatar), (older, avatar)]
    replaced = set_avatar()
    assert client.get(avatar).status_code == 404
    assert {post["author"]["avatar_url"] for post in client.get("/api/v1/feed", headers=bearer(alice)).get_json()["results"]} \
        == {replaced}
