"""A person, in headless Chromium: search for a photo by what it shows and open it."""
import time

from conftest import DATASETS_DIR
from helpers import api_upload, sample_photos, signed_up_tokens
from playwright.sync_api import expect


def test_search_by_description_and_open_the_result(live_server, page, app, db):
    client = app.test_client()
    token = signed_up_tokens(client, "gina")["access_token"]
    post_ids = [api_upload(client, token, [photo], f"#roll{number}").get_json()["id"]
                for number, photo in enumerate(sample_photos(DATASETS_DIR, 3))]
    deadline = time.monotonic() + 90
    while db.posts.count_documents({"enrichment": "done"}) < len(post_ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    target = client.get(f"/api/v1/posts/{post_ids[1]}").get_json()

    page.goto(live_server + "/")
    page.get_by_label("Search photos").first.fill(target["alt_text"].rstrip(".") + " #roll1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Photos for")).to_be_visible()
    first = page.get_by_test_id("post-card").first
    expect(first.locator("img")).to_have_attribute("alt", target["alt_text"])
    first.get_by_role("link", name=target["alt_text"]).click()
    expect(page).to_have_url(f"{live_server}/p/{target['id']}")
    expect(page.get_by_test_id("alt-text")).to_have_text(target["alt_text"])
