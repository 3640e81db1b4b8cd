"""A developer, in headless Chromium: the interactive API reference renders every operation from
files this server sends, with nothing refused by the Content-Security-Policy."""
from playwright.sync_api import expect


def test_the_api_reference_page_lists_the_operations_under_the_csp(live_server, page, app):
    requested, problems = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(live_server + "/api/v1/docs")
    signup = page.locator(".opblock", has_text="/auth/signup")
    expect(signup).to_be_visible()
    documented = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    operations = sum(len([method for method in item if method != "parameters"]) for item in documented.values())
    expect(page.locator(".opblock")).to_have_count(operations)

    signup.locator(".opblock-summary").click()  # opens: the fields of the request body show
    expect(signup.get_by_text("username").first).to_be_visible()
    assert problems == []
    assert requested and all(url.startswith(live_server) for url in requested), requested
