"""A person, in headless Chromium, deletes their account from settings: signed out on the home
page, and the account no longer signs in."""
from helpers import wait_until
from playwright.sync_api import expect

PASSWORD = "first password 1"


def test_delete_account_from_settings_then_sign_in_fails(live_server, page, db):
    page.goto(live_server + "/signup")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Email").fill("erin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()

    page.get_by_test_id("nav-profile").click()
    page.get_by_role("link", name="Edit profile").click()
    page.get_by_role("link", name="Delete account").click()
    expect(page.get_by_role("heading", name="Delete your account")).to_be_visible()
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_label("Type your username to confirm").fill("erin")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not your current password.")

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account is being deleted.")).to_be_visible()
    assert page.url.rstrip("/") == live_server
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Join Glimpse")).to_be_visible()

    wait_until(lambda: db.users.count_documents({"username": "erin"}) == 0)  # the job has run
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username or email").fill("erin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username, email or password.")
