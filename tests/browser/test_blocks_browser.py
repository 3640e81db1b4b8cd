"""A person, in headless Chromium, blocks another from their profile page; the blocked one then
finds the blocker's profile and post not there, and the blocker unblocks from settings."""
from conftest import DATASETS_DIR
from helpers import api_upload, bearer, sample_photos, signed_up_tokens
from playwright.sync_api import expect
from test_posts_browser import sign_in


def test_block_from_the_profile_page_and_the_blocked_user_gets_not_found(live_server, page, browser, app):
    client = app.test_client()
    gina = signed_up_tokens(client, "gina")["access_token"]
    hugo = signed_up_tokens(client, "hugo")["access_token"]
    post = api_upload(client, gina, sample_photos(DATASETS_DIR, 1), "gina's garden").get_json()
    client.put("/api/v1/users/gina/follow", headers=bearer(hugo))

    sign_in(page, live_server, "gina")
    page.goto(live_server + "/u/hugo")
    page.get_by_role("button", name="Block").click()
    expect(page.get_by_text("Blocked @hugo.")).to_be_visible()
    expect(page.get_by_role("button", name="Unblock")).to_be_visible()
    expect(page.get_by_role("button", name="Follow")).to_have_count(0)

    hugos = browser.new_context().new_page()
    sign_in(hugos, live_server, "hugo")
    hugos.goto(live_server + "/u/gina")
    expect(hugos.get_by_text("404")).to_be_visible()
    expect(hugos.get_by_role("link", name="Go home")).to_be_visible()
    hugos.goto(live_server + f"/p/{post['id']}")
    expect(hugos.get_by_text("404")).to_be_visible()
    hugos.context.close()

    page.goto(live_server + "/settings/profile")
    page.get_by_role("link", name="Blocked and muted accounts").click()
    page.get_by_role("button", name="Unblock @hugo").click()
    expect(page.get_by_text("Unblocked @hugo.")).to_be_visible()
    expect(page.get_by_text("You have blocked nobody.")).to_be_visible()
