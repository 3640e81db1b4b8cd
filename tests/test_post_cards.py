"""Post cards are kept rendered per stored revision (app/main/cards.py), and the API's posts kept
written (KeptPost in app/api/schemas.py): what one viewer was shown never reaches another, least of
all their CSRF token, and what is kept is what would be made afresh."""
import re

from conftest import DATASETS_DIR
from helpers import api_upload, bearer, page_login, sample_photos, signed_up_tokens
from pytest import fixture

from app.api import schemas
from app.core import csrf
from app.core.csrf import COOKIE_NAME
from app.main import cards


@fixture
def viewers(app, client):
    """alice's two posts, the first liked by bob; bob and carol signed in, each in their own browser."""
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("alice", "bob", "carol")}
    posts = [api_upload(client, tokens["alice"], sample_photos(DATASETS_DIR, 1), caption).get_json()["id"]
             for caption in ("by the lake", "by the sea")]
    assert client.put(f"/api/v1/posts/{posts[0]}/like", headers=bearer(tokens["bob"])).status_code == 200
    browsers = {name: app.test_client() for name in ("bob", "carol")}
    for name, browser in browsers.items():
        assert page_login(browser, name).status_code == 302
    return {"posts": posts, "browsers": browsers}


def like_forms(html: str) -> dict[str, tuple[str, str]]:
    """Post id -> (the CSRF token, the action) of its card's like form."""
    found = {}
    for post_id, card in re.findall(r'data-post-id="([0-9a-f]{24})"(.*?)</article>', html, re.S):
        token = re.search(r'name="csrf_token" value="([^"]+)"', card).group(1)
        found[post_id] = (token, re.search(r'name="action" value="(\w+)"', card).group(1))
    return found


def test_each_viewer_gets_their_own_token_and_like_state_from_kept_cards(viewers):
    first, second = viewers["posts"]
    for _ in range(2):  # rendered, then from memory
        for name, likes_first in (("bob", True), ("carol", False)):
            browser = viewers["browsers"][name]
            html = browser.get("/u/alice").get_data(as_text=True)
            own = browser.get_cookie(COOKIE_NAME).value
            assert like_forms(html) == {first: (own, "unlike" if likes_first else "like"), second: (own, "like")}
            assert csrf._PLACEHOLDER not in html
    tokens = {browser.get_cookie(COOKIE_NAME).value for browser in viewers["browsers"].values()}
    assert len(tokens) == 2


def test_a_kept_card_is_the_card_rendered_afresh(app, client, viewers, monkeypatch):
    bob = viewers["browsers"]["bob"]
    kept = bob.get("/u/alice").get_data(as_text=True)
    assert bob.get("/u/alice").get_data(as_text=True) == kept  # from memory
    monkeypatch.setattr(cards, "PresentedPost", type("Unknown", (), {}))  # no card kept: the template's own
    assert bob.get("/u/alice").get_data(as_text=True) == kept
    signed_out = client.get("/u/alice").get_data(as_text=True)
    assert 'data-testid="post-card"' in signed_out and 'data-like-form' not in signed_out


def test_the_api_writes_each_viewers_own_marks_from_kept_posts_as_it_would_afresh(client, viewers, monkeypatch):
    tokens = {name: signed_up_tokens(client, name)["access_token"] for name in ("dave", "erin")}
    client.put(f"/api/v1/posts/{viewers['posts'][0]}/like", headers=bearer(tokens["dave"]))

    def listed(name):
        return client.get("/api/v1/users/alice/posts", headers=bearer(tokens[name])).get_json()["results"]

    first = {name: listed(name) for name in tokens}
    assert [post["liked_by_me"] for post in first["dave"]] == [False, True]  # newest first
    assert [post["liked_by_me"] for post in first["erin"]] == [False, False]
    assert {name: listed(name) for name in tokens} == first  # from memory
    monkeypatch.setattr(schemas, "PresentedPost", type("Unknown", (), {}))  # nothing kept: marshmallow's own
    assert {name: listed(name) for name in tokens} == first
