"""@username mentions: linked to the profile (the rest of the text stays escaped), listed by the
API, and notified once the post is published for good, never to the mentioner, at most ten a text."""
import pytest
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, sample_photos, signed_up_tokens, wait_until

from app.posts.mentions import MAX_MENTIONS


@pytest.fixture
def photo():
    return sample_photos(DATASETS_DIR, 1)


def mentions_of(client, token) -> list[dict]:
    rows = client.get("/api/v1/notifications", headers=bearer(token)).get_json()["results"]
    return [row for row in rows if row["kind"] == "mention"]


def test_a_caption_links_its_mentions_safely_and_tells_them_once_the_post_is_checked(client, db, workers, photo):
    alice = signed_up_tokens(client, "alice")["access_token"]
    bob = signed_up_tokens(client, "bob")["access_token"]
    carol = signed_up_tokens(client, "Carol")["access_token"]
    caption = "<b>Hi</b> @bob, @carol, @nobody, @alice and mail@example.com <script>@bob</script>"
    post = api_upload(client, alice, photo, caption).get_json()
    assert post["mentions"] == ["bob", "Carol", "alice"]  # linked, each as its owner spells it

    wait_until(lambda: client.get(f"/api/v1/posts/{post['id']}").get_json()["enrichment"] == "done", timeout=120)
    told = wait_until(lambda: mentions_of(client, bob))
    assert [(row["actor"], row["post_id"], row["text"]) for row in told] == [("alice", post["id"], "mentioned you")]
    assert len(mentions_of(client, carol)) == 1
    assert mentions_of(client, alice) == []  # not for mentioning oneself
    assert db.notifications.count_documents({"kind": "mention"}) == 2

    html = client.get(f"/p/{post['id']}").get_data(as_text=True)
    assert '<a href="/u/bob"' in html and '<a href="/u/Carol"' in html
    assert "&lt;b&gt;Hi&lt;/b&gt;" in html and "&lt;script&gt;" in html and "<script>@bob" not in html
    assert "@nobody" in html and '<a href="/u/nobody"' not in html and '<a href="/u/example"' not in html


def test_a_held_post_tells_its_mentions_only_when_approved(app, client, db, workers, photo):
    app.config["NSFW_HOLD_THRESHOLD"] = -1.0  # every post is held for review once checked
    alice = signed_up_tokens(client, "alice")["access_token"]
    bob = signed_up_tokens(client, "bob")["access_token"]
    moderator = signed_up_tokens(client, "mod")["access_token"]
    db.users.update_one({"username": "mod"}, {"$set": {"role": "moderator"}})
    post = api_upload(client, alice, photo, "Look @bob").get_json()
    wait_until(lambda: db.posts.find_one({"status": "held"}), timeout=120)
    assert db.notifications.count_documents({"kind": "mention"}) == 0

    approved = client.post(f"/api/v1/moderation/posts/{post['id']}/approve", headers=bearer(moderator), json={})
    assert approved.status_code == 200
    assert [row["actor"] for row in mentions_of(client, bob)] == ["alice"]


def test_comment_mentions_are_listed_and_told_at_most_ten(app, client, db, photo):
    app.config["RATELIMIT_ENABLED"] = False  # more sign-ups than one address may make in an hour
    alice = signed_up_tokens(client, "alice")["access_token"]
    bob = signed_up_tokens(client, "bob")["access_token"]
    names = [f"user{number:02d}" for number in range(MAX_MENTIONS + 2)]
    for name in names:
        signed_up_tokens(client, name)
    post = api_upload(client, alice, photo).get_json()
    text = "@alice @bob " + " ".join(f"@{name}" for name in names)
    comment = client.post(f"/api/v1/posts/{post['id']}/comments", headers=bearer(bob), json={"text": text})
    assert comment.status_code == 201
    assert comment.get_json()["mentions"] == ["alice", "bob", *names[:MAX_MENTIONS - 2]]
    listed = client.get(f"/api/v1/posts/{post['id']}/comments").get_json()["results"][0]
    assert listed["mentions"] == comment.get_json()["mentions"]
    # The post's author hears of the comment once (not again as a mention); the commenter not at all.
    assert db.notifications.count_documents({"kind": "mention"}) == MAX_MENTIONS - 2
    assert [row["kind"] for row in client.get("/api/v1/notifications", headers=bearer(alice)).get_json()["results"]] == ["comment"]
    assert mentions_of(client, bob) == []
    html = client.get(f"/p/{post['id']}").get_data(as_text=True)
    assert f'<a href="/u/{names[MAX_MENTIONS - 3]}"' in html and f'<a href="/u/{names[MAX_MENTIONS - 2]}"' not in html


def test_an_edited_caption_links_its_new_mentions(client, photo):
    alice = signed_up_tokens(client, "alice")["access_token"]
    signed_up_tokens(client, "bob")
    post = api_upload(client, alice, photo, "Plain").get_json()
    assert post["mentions"] == []
    edited = client.patch(f"/api/v1/posts/{post['id']}", headers=bearer(alice), json={"caption": "Now with @BOB"})
    assert edited.get_json()["mentions"] == ["bob"]


def test_mentions_cross_no_block_and_reach_only_those_a_private_post_is_for(app, client, photo):
    app.config["RATELIMIT_ENABLED"] = False
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol", "dave")}
    post = api_upload(client, tokens["alice"], photo).get_json()

    def comment(author: str, text: str) -> None:
        response = client.post(f"/api/v1/posts/{post['id']}/comments", headers=bearer(tokens[author]), json={"text": text})
        assert response.status_code == 201

    assert client.put("/api/v1/users/bob/block", headers=bearer(tokens["carol"])).status_code == 200
    comment("bob", "@carol @dave look")
    assert mentions_of(client, tokens["carol"]) == []  # carol blocked bob
    assert len(mentions_of(client, tokens["dave"])) == 1
    comment("carol", "@bob see")  # nor the other way round
    assert mentions_of(client, tokens["bob"]) == []

    assert client.put("/api/v1/me/privacy", headers=bearer(tokens["alice"]), json={"private": True}).status_code == 200
    comment("alice", "@dave you too")  # dave does not follow alice: the post is not for him
    assert len(mentions_of(client, tokens["dave"])) == 1
    assert client.put("/api/v1/users/alice/follow", headers=bearer(tokens["dave"])).status_code == 200
    assert client.put("/api/v1/me/follow-requests/dave", headers=bearer(tokens["alice"])).status_code in (200, 204)
    comment("alice", "@dave now you see it")
    assert len(mentions_of(client, tokens["dave"])) == 2
