"""A moderator, in headless Chromium, works the review queue with the keyboard alone."""
from io import BytesIO

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import api_signup, sample_photos
from playwright.sync_api import expect


def test_moderator_approves_and_rejects_with_the_keyboard(live_server, page, app, db):
    client = app.test_client()
    shared = []
    for number, photo in enumerate(sample_photos(DATASETS_DIR, 2)):
        response = client.post("/api/v1/anonymous/posts", content_type="multipart/form-data",
                               data={"photos": [(BytesIO(photo.read_bytes()), "p.jpg")], "caption": f"shared {number}"})
        shared.append(response.get_json()["post"]["id"])
    api_signup(client, "moddy")
    db.users.update_one({"username": "moddy"}, {"$set": {"role": "moderator"}})

    page.goto(live_server + "/login")
    page.get_by_label("Username or email").fill("moddy")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Moderation").click()
    items = page.get_by_test_id("queue-item")
    expect(items).to_have_count(2)
    expect(items.first).to_be_focused()
    expect(items.first).to_contain_text("shared 0")

    page.keyboard.press("a")  # approve the first
    expect(page.get_by_text("Approved.")).to_be_visible()
    expect(items).to_have_count(1)
    expect(items.first).to_be_focused()
    page.keyboard.press("r")  # reject the next: type the reason, Enter
    page.keyboard.type("Blurry duplicate")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Rejected.")).to_be_visible()
    expect(page.get_by_text("Nothing to review.")).to_be_visible()

    assert db.posts.find_one({"_id": ObjectId(shared[0])})["status"] == "published"
    rejected = db.posts.find_one({"_id": ObjectId(shared[1])})
    assert rejected["status"] == "rejected" and rejected["review_reason"] == "Blurry duplicate"
