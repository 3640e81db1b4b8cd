"""Small helpers the tests share."""
import re
from io import BytesIO

import pytest

PASSWORD = "correct horse battery"


def api_signup(client, username="alice", email=None, password=PASSWORD):
    return client.post("/api/v1/auth/signup", json={
        "username": username, "email": email or f"{username}@example.com", "password": password})


def api_login(client, login="alice", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"login": login, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def signed_up_tokens(client, username="alice") -> dict:
    assert api_signup(client, username).status_code == 201
    response = api_login(client, username)
    assert response.status_code == 200
    return response.get_json()


def csrf_from(client) -> str:
    """Visit a page, as a browser would, and return the CSRF token its forms carry."""
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def page_login(client, login="alice", password=PASSWORD):
    return client.post("/login", data={"login": login, "password": password, "csrf_token": csrf_from(client)})


def reset_link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"(http\S+/reset/\S+)", body).group(1)


def sample_photos(datasets_dir, count: int = 1) -> list:
    photos = sorted((datasets_dir / "photos").glob("*.jpg"))[:count]
    if len(photos) < count:
        pytest.skip(f"real photos are needed in {datasets_dir / 'photos'} (../shared/datasets/photos)")
    return photos


def api_upload(client, token: str, paths: list, caption: str = ""):
    files = [(BytesIO(path.read_bytes()), path.name) for path in paths]
    return client.post("/api/v1/posts", headers=bearer(token), content_type="multipart/form-data",
                       data={"photos": files, "caption": caption})
