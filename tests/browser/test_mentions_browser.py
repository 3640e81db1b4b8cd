"""A person, in headless Chromium: mention someone in a comment; they find the notification and the
mention links to their profile."""
from conftest import DATASETS_DIR
from helpers import PASSWORD, api_upload, sample_photos, signed_up_tokens
from playwright.sync_api import expect


def sign_in(page, live_server, username):
    page.goto(live_server + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()


def test_a_comment_mention_links_to_the_profile_and_notifies(live_server, page, app):
    client = app.test_client()
    alice = signed_up_tokens(client, "alice")["access_token"]
    signed_up_tokens(client, "bob")
    signed_up_tokens(client, "carol")
    post = api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "Sunset").get_json()

    sign_in(page, live_server, "bob")
    page.goto(f"{live_server}/p/{post['id']}")
    page.get_by_label("Add a comment").fill("Look, @carol <3")
    page.get_by_role("button", name="Comment").click()
    comment = page.get_by_test_id("comment")
    expect(comment).to_contain_text("Look, @carol <3")
    expect(comment.locator("a[data-mention]")).to_have_attribute("href", "/u/carol")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, "carol")
    page.goto(f"{live_server}/notifications")
    expect(page.get_by_test_id("notification").first).to_contain_text("bob")
    expect(page.get_by_test_id("notification").first).to_contain_text("mentioned you")
    page.goto(f"{live_server}/p/{post['id']}")
    page.get_by_test_id("comment").locator("a[data-mention]").click()
    expect(page).to_have_url(f"{live_server}/u/carol")
