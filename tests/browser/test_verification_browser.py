"""A person, in headless Chromium: sign up, meet the "verify your address" banner, send the link
again, open it from the real mail, then post."""
import re

from conftest import DATASETS_DIR
from helpers import open_upload_page, sample_photos
from playwright.sync_api import expect


def test_sign_up_verify_from_the_mailed_link_then_post(live_server, page, app, mailbox):
    app.config["BASE_URL"] = live_server
    photo = sample_photos(DATASETS_DIR, 1)[0]
    page.goto(live_server + "/signup")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Email").fill("vera@example.com")
    page.get_by_label("Password").fill("first password 1")
    page.get_by_role("button", name="Create account").click()
    banner = page.get_by_test_id("verify-banner")
    expect(banner).to_contain_text("Verify your email address to post")
    expect(banner).to_contain_text("vera@example.com")

    choose_photo(page, live_server, photo)
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("alert")).to_contain_text("Verify your email address first")

    banner.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("A new link is on its way to vera@example.com")).to_be_visible()
    mailbox.wait_for("vera@example.com", subject="Confirm your email address")
    body = mailbox.messages[-1].get_body(preferencelist=("plain",)).get_content()
    page.goto(re.search(r"(http\S+/verify/\S+)", body).group(1))
    expect(page.get_by_role("heading", name="Address verified")).to_be_visible()

    page.get_by_role("link", name="Go to Glimpse").click()
    expect(page.get_by_test_id("verify-banner")).to_have_count(0)
    choose_photo(page, live_server, photo)
    page.get_by_label("Caption").fill("Verified at last")
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("paragraph").filter(has_text="Verified at last")).to_be_visible()


def choose_photo(page, live_server, photo):
    """Opens the upload page and chooses a photo, which the page lists."""
    open_upload_page(page, live_server)
    page.locator("input[type=file]").set_input_files(str(photo))
    expect(page.get_by_test_id("upload-file")).to_have_count(1)
