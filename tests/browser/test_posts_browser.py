"""A person, in headless Chromium: drop two photos on the upload page, see them in the feed,
like the post and comment on it."""
import base64

from conftest import DATASETS_DIR
from helpers import api_signup, open_upload_page, sample_photos
from playwright.sync_api import expect

DROP_FILES = """([dropzone, files]) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: "image/jpeg" }));
  }
  for (const type of ["dragenter", "dragover", "drop"]) {
    dropzone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }
}"""


def sign_in(page, live_server, username):
    page.goto(live_server + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()


def test_drop_two_photos_see_them_in_the_feed_like_and_comment(live_server, page, app):
    photos = sample_photos(DATASETS_DIR, 2)
    api_signup(app.test_client(), "fiona")
    sign_in(page, live_server, "fiona")

    open_upload_page(page, live_server)
    files = [{"name": path.name, "data": base64.b64encode(path.read_bytes()).decode()} for path in photos]
    page.evaluate(DROP_FILES, [page.locator("[data-dropzone]").element_handle(), files])
    expect(page.get_by_test_id("upload-file")).to_have_count(2)
    page.get_by_label("Caption").fill("Two from the weekend #park")
    page.get_by_role("button", name="Share").click()

    expect(page.get_by_role("paragraph").filter(has_text="Two from the weekend #park")).to_be_visible()
    expect(page.locator("figure img")).to_have_count(2)
    page.get_by_role("link", name="Glimpse").click()
    card = page.get_by_test_id("post-card").first
    expect(card).to_contain_text("Two from the weekend")
    expect(card).to_contain_text("2 photos")
    assert card.locator("img").last.evaluate("(img) => img.complete && img.naturalWidth > 0")

    card.get_by_test_id("like-button").click()
    expect(card.get_by_text("1 like", exact=True)).to_be_visible()
    expect(card.get_by_test_id("like-button")).to_have_attribute("aria-pressed", "true")

    card.get_by_role("link", name="0 comments").click()
    page.get_by_label("Add a comment").fill("Great light!")
    page.get_by_role("button", name="Comment").click()
    expect(page.get_by_test_id("comment")).to_contain_text("Great light!")
    page.reload()
    expect(page.get_by_text("1 like", exact=True)).to_be_visible()
