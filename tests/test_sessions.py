"""Cookies for pages, bearer tokens for the API, and CSRF on everything a cookie can do."""
import re

from helpers import PASSWORD, api_signup, bearer, csrf_from, page_login, signed_up_tokens


def signed_in_as(html: str) -> str | None:
    """The username the page's navigation shows as signed in, if any."""
    match = re.search(r'data-testid="nav-profile">@(\w+)<', html)
    return match.group(1) if match else None


def test_page_signup_sets_httponly_cookie_and_signs_in(client, db):
    token = csrf_from(client)
    response = client.post("/signup", data={"username": "alice", "email": "alice@example.com",
                                            "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    cookie = next(header for header in response.headers.getlist("Set-Cookie") if header.startswith("access_token_cookie="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/").get_data(as_text=True)
    assert signed_in_as(home) == "alice"
    assert db.users.count_documents({}) == 1


def test_page_signup_shows_inline_errors_and_keeps_input(client, db):
    response = client.post("/signup", data={"username": "x", "email": "kept@example.com", "password": "1",
                                            "csrf_token": csrf_from(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html and "3 to 30 letters" in html and 'value="kept@example.com"' in html
    assert db.users.count_documents({}) == 0


def test_post_without_csrf_token_is_refused(client, db):
    response = client.post("/signup", data={"username": "alice", "email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert db.users.count_documents({}) == 0
    api_signup(client.application.test_client(), "bob")  # as an API client, without cookies
    assert page_login(client, "bob").status_code == 302
    # Signed in by cookie: sign-out without the token is refused and the session survives.
    assert client.post("/logout").status_code == 403
    assert signed_in_as(client.get("/").get_data(as_text=True)) == "bob"


def test_forged_csrf_token_is_refused(client):
    client.get("/login")
    client.set_cookie("glimpse_csrf", "forged.0123456789abcdef")
    response = client.post("/login", data={"login": "a", "password": "b", "csrf_token": "forged.0123456789abcdef"})
    assert response.status_code == 403


def test_cookie_requests_to_the_api_need_csrf_but_bearer_requests_do_not(client):
    tokens = signed_up_tokens(client, "alice")
    # A bearer client with no cookies posts without CSRF.
    fresh = client.application.test_client()
    assert fresh.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code == 204
    # A browser (cookies) posting to the API without the header is refused.
    page_login(client, "alice")
    assert client.post("/api/v1/auth/password/forgot", json={"email": "alice@example.com"}).status_code == 403


def test_bearer_token_does_not_sign_in_a_page(client):
    tokens = signed_up_tokens(client, "alice")
    html = client.get("/", headers=bearer(tokens["access_token"])).get_data(as_text=True)
    assert signed_in_as(html) is None and "Join Glimpse" in html


def test_page_login_by_email_and_logout_revokes_the_cookie(client):
    api_signup(client, "alice")
    response = page_login(client, "Alice@Example.com")
    assert response.status_code == 302
    stolen = client.get_cookie("access_token_cookie").value
    assert client.post("/logout", data={"csrf_token": csrf_from(client)}).status_code == 302
    assert signed_in_as(client.get("/").get_data(as_text=True)) is None
    # The old cookie value, replayed, no longer works.
    client.set_cookie("access_token_cookie", stolen)
    assert signed_in_as(client.get("/").get_data(as_text=True)) is None
    assert client.get("/api/v1/me").status_code == 401


def test_page_login_with_wrong_password_says_so(client):
    api_signup(client, "alice")
    response = page_login(client, "alice", "wrong password")
    assert response.status_code == 401
    assert "Wrong username, email or password." in response.get_data(as_text=True)


def test_login_next_only_redirects_within_the_site(client):
    api_signup(client, "alice")
    for target, expected in [("/u/alice", "/u/alice"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/"), ("/\\evil.example", "/")]:
        client.delete_cookie("access_token_cookie")
        response = client.post(f"/login?next={target}", data={"login": "alice", "password": PASSWORD,
                                                               "csrf_token": csrf_from(client)})
        assert response.headers["Location"] == expected, target


def test_profile_page(client):
    api_signup(client, "alice")
    assert "@alice" in client.get("/u/alice").get_data(as_text=True)
    assert client.get("/u/nobody").status_code == 404


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
