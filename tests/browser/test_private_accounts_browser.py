"""A person, in headless Chromium, makes their account private; another asks to follow from the
profile page, is approved from the settings page, and then sees the post."""
from conftest import DATASETS_DIR
from helpers import api_upload, sample_photos, signed_up_tokens
from playwright.sync_api import expect
from test_posts_browser import sign_in


def test_go_private_request_approve_and_then_see_the_post(live_server, page, browser, app):
    client = app.test_client()
    ines = signed_up_tokens(client, "ines")["access_token"]
    signed_up_tokens(client, "jon")
    api_upload(client, ines, sample_photos(DATASETS_DIR, 1), "ines in the attic")

    sign_in(page, live_server, "ines")
    page.goto(live_server + "/settings/profile")
    page.get_by_role("link", name="Private account and follow requests").click()
    page.get_by_label("Private account").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your account is now private.")).to_be_visible()

    jons = browser.new_context().new_page()
    sign_in(jons, live_server, "jon")
    jons.goto(live_server + "/u/ines")
    expect(jons.get_by_text("This account is private")).to_be_visible()
    jons.get_by_role("button", name="Follow").click()
    expect(jons.get_by_role("button", name="Requested")).to_be_visible()

    page.reload()
    page.get_by_role("button", name="Approve @jon").click()
    expect(page.get_by_text("Approved @jon.")).to_be_visible()

    jons.goto(live_server + "/u/ines")
    expect(jons.get_by_text("ines in the attic")).to_be_visible()
    jons.context.close()
