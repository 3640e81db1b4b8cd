"""A person, in headless Chromium: search for a photo by what it shows and open it."""
import time

from conftest import DATASETS_DIR
from helpers import api_upload, sample_photos, signed_up_tokens
from playwright.sync_api import expect


def described_posts(client, db, username: str, count: int, hashtag: str) -> list[str]:
    """Ids of `count` photos posted by a new user, once the models have described them all."""
    token = signed_up_tokens(client, username)["access_token"]
    post_ids = [api_upload(client, token, [photo], f"#{hashtag}{number}").get_json()["id"]
                for number, photo in enumerate(sample_photos(DATASETS_DIR, count))]
    deadline = time.monotonic() + 90
    while db.posts.count_documents({"enrichment": "done"}) < len(post_ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return post_ids


def test_search_by_description_and_open_the_result(live_server, page, app, db):
    client = app.test_client()
    post_ids = described_posts(client, db, "gina", 3, "roll")
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
    # Similar photos arrive after the page, in place of the link that shows them without JavaScript.
    similar = page.get_by_test_id("similar").locator("img")
    expect(similar).to_have_count(len(post_ids) - 1)
    expect(page.get_by_role("link", name="See similar photos")).to_have_count(0)


def test_similar_photos_without_javascript_are_a_link_away(live_server, browser, app, db):
    post_ids = described_posts(app.test_client(), db, "hana", 2, "set")
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server}/p/{post_ids[0]}")
    page.get_by_role("link", name="See similar photos").click()
    expect(page).to_have_url(f"{live_server}/p/{post_ids[0]}/similar")
    expect(page.get_by_test_id("similar").locator(f'a[href="/p/{post_ids[1]}"]')).to_have_count(1)
    page.context.close()
