"""A person, in headless Chromium: sign up, sign out, reset the password from the caught mail,
sign in again."""


import pytest
from helpers import PASSWORD, api_login, api_signup, client_from
from playwright.sync_api import expect

NEW_PASSWORD = "a new and longer passphrase"


@pytest.fixture
def app_config(app_config):
    # Mail is caught and shown at /dev/mail, as on `make run`; a trusted proxy names other clients.
    return {**app_config, "MAIL_SERVER": "", "BASE_URL": "http://127.0.0.1:5000", "DEV_MAIL_VIEWER": True,
            "TRUSTED_PROXIES": 1}


def test_signup_logout_reset_from_caught_mail_and_login(live_server, page, app):
    app.config["BASE_URL"] = live_server
    page.goto(live_server + "/")
    page.get_by_role("link", name="Join Glimpse").first.click()
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Email").fill("dora@example.com")
    page.get_by_label("Password").fill("first password 1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()

    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("dora@example.com")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    page.get_by_role("link", name="open the caught mail").click()
    link = page.locator("a[href*='/reset/']")
    for _ in range(50):  # the mail job runs in the background; reload until it has landed
        if link.count():
            break
        page.wait_for_timeout(200)
        page.reload()
    link.first.click()

    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()

    page.get_by_label("Username or email").fill("dora@example.com")
    page.get_by_label("Password").fill("first password 1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username, email or password.")

    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()


def test_owner_signs_in_while_another_address_hammers_the_account(live_server, page, app):
    api_signup(client_from(app, "198.51.100.7"), "bob")
    attacker = client_from(app, "203.0.113.66")
    statuses = []
    while not statuses or statuses[-1] != 429:
        assert len(statuses) < 20, statuses
        statuses.append(api_login(attacker, "bob", f"guess {len(statuses)}").status_code)
    assert api_login(attacker, "bob", PASSWORD).status_code == 429

    page.goto(live_server + "/login")  # from 127.0.0.1, which has not failed
    page.get_by_label("Username or email").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()
