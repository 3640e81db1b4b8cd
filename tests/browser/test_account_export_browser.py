"""A person, in headless Chromium, asks for a copy of their data from settings, watches it being
prepared, and downloads the zip."""
import json
import zipfile

from playwright.sync_api import expect


def test_prepare_and_download_my_data_from_settings(live_server, page, tmp_path):
    page.goto(live_server + "/signup")
    page.get_by_label("Username").fill("fern")
    page.get_by_label("Email").fill("fern@example.com")
    page.get_by_label("Password").fill("first password 1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Your feed")).to_be_visible()

    page.goto(live_server + "/settings/profile")
    page.get_by_role("link", name="Download your data").click()
    page.get_by_role("button", name="Prepare my data").click()
    # The page refreshes itself while preparing; the background worker soon has it ready.
    download_link = page.get_by_test_id("export-state").get_by_role("link", name="Download your data")
    expect(download_link).to_be_visible(timeout=30000)
    with page.expect_download() as download:
        download_link.click()
    path = tmp_path / "data.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("profile.json"))["username"] == "fern"
        assert json.loads(archive.read("posts.json")) == []
