"""The same features through the server-rendered pages (forms work without JavaScript)."""
import re
from io import BytesIO

import pytest
from conftest import DATASETS_DIR
from helpers import api_signup, api_upload, bearer, csrf_from, page_login, sample_photos, signed_up_tokens


@pytest.fixture
def photo():
    return sample_photos(DATASETS_DIR, 1)[0]


@pytest.fixture
def browser_client(client):
    """A client that signs in like a browser (cookies + CSRF) as alice."""
    api_signup(client.application.test_client(), "alice")
    assert page_login(client, "alice").status_code == 302
    return client


def form(client, **fields):
    return {"csrf_token": csrf_from(client), **fields}


def test_upload_form_creates_a_post_and_shows_it(browser_client, photo, db):
    client = browser_client
    response = client.post("/upload", content_type="multipart/form-data",
                           data=form(client, caption="Harbour at dusk #sea", photos=[(BytesIO(photo.read_bytes()), "harbour.jpg")]))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Harbour at dusk" in page and "#sea" in page and "describing…" in page
    assert "Photo by @alice" in page  # alt text until the description is written
    assert "Harbour at dusk" in client.get("/").get_data(as_text=True)


def test_upload_form_with_a_non_image_shows_the_error_and_stores_nothing(browser_client, db):
    client = browser_client
    response = client.post("/upload", content_type="multipart/form-data",
                           data=form(client, caption="kept", photos=[(BytesIO(b"GIF89a not really"), "x.gif")]))
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True) and "kept" in response.get_data(as_text=True)
    assert db.posts.count_documents({}) == 0 and db.fs.files.count_documents({}) == 0


def test_pages_that_need_an_account_send_visitors_to_sign_in(client):
    for path in ("/upload", "/notifications", "/saved", "/settings/profile"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_like_comment_follow_and_notifications_by_form(browser_client, photo):
    client = browser_client
    bob = signed_up_tokens(client.application.test_client(), "bob")["access_token"]
    post_id = api_upload(client.application.test_client(), bob, [photo], "bob's photo").get_json()["id"]
    assert client.post("/u/bob/follow", data=form(client)).status_code == 302
    assert "bob&#39;s photo" in client.get("/").get_data(as_text=True)
    client.post(f"/p/{post_id}/like", data=form(client, action="like"))
    client.post(f"/p/{post_id}/comments", data=form(client, text="What a view"))
    detail = client.get(f"/p/{post_id}").get_data(as_text=True)
    assert "1 like" in detail and "What a view" in detail and 'aria-pressed="true"' in detail
    bob_client = client.application.test_client()
    page_login(bob_client, "bob")
    assert 'data-testid="unread-count">3<' in bob_client.get("/").get_data(as_text=True)
    inbox = bob_client.get("/notifications").get_data(as_text=True)
    assert "started following you" in inbox and "liked your post" in inbox and "commented on your post" in inbox
    assert "unread-count" not in bob_client.get("/").get_data(as_text=True)


def test_feed_fragment_for_infinite_scroll(browser_client, photo):
    client = browser_client
    token = signed_up_tokens(client.application.test_client(), "carol")["access_token"]
    for number in range(14):
        api_upload(client.application.test_client(), token, [photo], f"photo {number}")
    first = client.get("/explore").get_data(as_text=True)
    assert first.count('data-testid="post-card"') == 12
    cursor = re.search(r'data-next-page href="\?cursor=([^"]+)"', first).group(1)
    fragment = client.get(f"/explore?cursor={cursor}&fragment=1").get_data(as_text=True)
    assert fragment.count('data-testid="post-card"') == 2 and "<html" not in fragment and "data-next-page" not in fragment


def test_profile_page_lists_posts_and_settings_change_the_bio(browser_client, photo):
    client = browser_client
    token = signed_up_tokens(client.application.test_client(), "dave")["access_token"]
    api_upload(client.application.test_client(), token, [photo], "dave's first")
    assert "dave&#39;s first" in client.get("/u/dave").get_data(as_text=True)
    response = client.post("/settings/profile", content_type="multipart/form-data", data=form(client, bio="Night owl"))
    assert response.status_code == 302
    assert "Night owl" in client.get("/u/alice").get_data(as_text=True)


def test_a_new_avatar_from_settings_shows_on_the_authors_earlier_posts(browser_client, photo, db):
    client = browser_client
    response = client.post("/upload", content_type="multipart/form-data",
                           data=form(client, caption="Before the avatar", photos=[(BytesIO(photo.read_bytes()), "a.jpg")]))
    assert response.status_code == 302
    response = client.post("/settings/profile", content_type="multipart/form-data",
                           data=form(client, bio="", photos=[(BytesIO(photo.read_bytes()), "me.jpg")]))
    assert response.status_code == 302
    avatar_id = db.users.find_one({"username": "alice"})["avatar_file_id"]
    for page in ("/", "/u/alice"):
        assert f'src="/avatars/{avatar_id}"' in client.get(page).get_data(as_text=True)


def test_owner_deletes_post_from_its_page(browser_client, photo, db):
    client = browser_client
    token = client.post("/api/v1/auth/login", json={"login": "alice", "password": "correct horse battery"},
                        headers={"X-CSRF-Token": csrf_from(client)}).get_json()["access_token"]
    post_id = api_upload(client.application.test_client(), token, [photo]).get_json()["id"]
    api_signup(client.application.test_client(), "erin")
    other = client.application.test_client()
    page_login(other, "erin")
    assert other.post(f"/p/{post_id}/delete", data=form(other)).status_code == 403
    deleted = client.post(f"/p/{post_id}/delete", data=form(client))
    assert deleted.status_code == 302, deleted.get_data(as_text=True)[-600:]
    assert db.posts.count_documents({}) == 0 and db.fs.files.count_documents({}) == 0
    assert client.get(f"/p/{post_id}").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
