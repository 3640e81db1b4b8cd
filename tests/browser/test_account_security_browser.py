"""A person with two browsers, in headless Chromium: changing the password in one signs the other
out, and so does signing it out from the list of signed-in devices."""
from helpers import PASSWORD, api_signup
from playwright.sync_api import expect

NEW_PASSWORD = "a new and longer passphrase"


def sign_in(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("Username or email").fill("dora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()


def expect_signed_out_on_next_load(page):
    page.reload()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    expect(page.get_by_test_id("nav-profile")).to_have_count(0)


def test_changing_the_password_in_one_browser_signs_the_other_out(live_server, page, other_page, client, mailbox):
    api_signup(client, "dora")
    sign_in(page, live_server)
    sign_in(other_page, live_server)

    page.get_by_test_id("nav-profile").click()
    page.get_by_role("link", name="Edit profile").click()
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed. Every other device is signed out.")).to_be_visible()

    expect_signed_out_on_next_load(other_page)
    page.reload()
    expect(page.get_by_test_id("nav-profile")).to_be_visible()
    assert "/forgot" in mailbox.wait_for("dora@example.com", subject="password was changed").get_body(preferencelist=("plain",)).get_content()


def test_signing_the_other_browser_out_from_the_devices_page(live_server, page, other_page, client):
    api_signup(client, "dora")
    sign_in(other_page, live_server)
    sign_in(page, live_server)

    page.goto(live_server + "/settings/profile")
    page.get_by_role("link", name="Signed-in devices").click()
    devices = page.get_by_test_id("session")
    expect(devices).to_have_count(2)
    expect(devices.filter(has_text="This device")).to_contain_text("Chrome on Linux")
    devices.filter(has_not_text="This device").get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("That device is signed out.")).to_be_visible()
    expect(devices).to_have_count(1)

    expect_signed_out_on_next_load(other_page)
    page.reload()
    expect(page.get_by_test_id("nav-profile")).to_be_visible()
