"""The API's contract: its OpenAPI document, the page that shows it, and how bad requests are told."""
import re
from io import BytesIO
from pathlib import PurePosixPath

from bson import ObjectId
from conftest import DATASETS_DIR
from helpers import PASSWORD, api_login, api_signup, api_upload, bearer, sample_photos, signed_up_tokens

from app.api.schemas import MessageSchema, PrivateUserSchema, TokensSchema
from app.core.statuses import PostStatus, UserStatus

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_the_api_reference_page_and_its_files_come_from_this_server(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script>" not in html  # the CSP allows no inline script
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {PurePosixPath(source).suffix for source in sources} == set(CONTENT_TYPES)
    for source in sources:
        assert source.startswith("/static/"), source  # nothing from another host
        asset = client.get(source)
        assert asset.status_code == 200 and asset.mimetype == CONTENT_TYPES[PurePosixPath(source).suffix], source
    document = client.get(re.search(r'data-spec-url="([^"]+)"', html).group(1))
    assert document.status_code == 200 and document.get_json()["paths"]


def test_bad_fields_in_a_json_body_are_named_and_change_nothing(client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    post_id = api_upload(client, token, sample_photos(DATASETS_DIR, 1), "before").get_json()["id"]
    path = f"/api/v1/posts/{post_id}"
    cases = [
        ({"caption": 5}, {"caption"}),  # a number for text
        ({"remove_tags": "dog"}, {"remove_tags"}),  # text for a list
        ({"remove_tags": ["dog", 3]}, {"remove_tags.1"}),  # one bad item in a list
        ({"captoin": "after"}, {"captoin"}),  # unknown (misspelt) fields are refused, not ignored
        ({"caption": None}, {"caption"}),
    ]
    for body, named in cases:
        response = client.patch(path, json=body, headers=bearer(token))
        assert response.status_code == 422, body
        error = response.get_json()["error"]
        assert error["code"] == "validation_error" and set(error["fields"]) == named, (body, error)
        assert all(error["fields"].values()) and error["message"]
    for body in ([{"caption": "after"}], "after", 5):  # JSON, but not an object
        response = client.patch(path, json=body, headers=bearer(token))
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error", body
    not_json = client.patch(path, data="caption=after", headers=bearer(token))
    assert not_json.status_code == 422 and "JSON" in not_json.get_json()["error"]["message"]
    assert db.posts.find_one()["caption"] == "before"


def test_a_missing_required_field_and_bad_query_values_are_named(client):
    token = signed_up_tokens(client, "alice")["access_token"]
    post_id = api_upload(client, token, sample_photos(DATASETS_DIR, 1)).get_json()["id"]
    missing = client.post(f"/api/v1/posts/{post_id}/comments", json={}, headers=bearer(token))
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {"text"}
    bad_limit = client.get("/api/v1/explore", query_string={"limit": "many"})
    assert bad_limit.status_code == 422 and set(bad_limit.get_json()["error"]["fields"]) == {"limit"}
    # Unknown query parameters are ignored: links and caches add their own.
    assert client.get("/api/v1/explore", query_string={"utm_source": "mail"}).status_code == 200


def test_a_text_field_in_place_of_a_photo_is_refused(client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    response = client.post("/api/v1/posts", data={"photos": "not a file", "caption": "x"}, headers=bearer(token))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"photos.0"}
    assert db.posts.count_documents({}) == 0


def test_a_field_the_route_does_not_take_is_refused_not_ignored(client, db):
    token = signed_up_tokens(client, "alice")["access_token"]
    response = client.patch("/api/v1/me", json={"bio": "hello", "role": "admin"}, headers=bearer(token))
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"role": "Unknown field."}
    assert db.users.find_one({"username": "alice"}, {"bio": 1, "role": 1, "_id": 0}) == {"bio": "", "role": "user"}


def test_a_reason_that_is_not_text_is_refused_and_decides_nothing(client, db):
    api_signup(client, "mod")
    db.users.update_one({"username": "mod"}, {"$set": {"role": "moderator"}})
    token = api_login(client, "mod").get_json()["access_token"]
    photo = sample_photos(DATASETS_DIR, 1)[0]
    shared = client.post("/api/v1/anonymous/posts", content_type="multipart/form-data",
                         data={"photos": [(BytesIO(photo.read_bytes()), "a.jpg")]}).get_json()
    post_id = shared["post"]["id"]
    response = client.post(f"/api/v1/moderation/posts/{post_id}/approve", json={"reason": ["looks fine"]},
                           headers=bearer(token))
    assert response.status_code == 422 and set(response.get_json()["error"]["fields"]) == {"reason"}
    assert db.posts.find_one({"_id": ObjectId(post_id)})["status"] == "pending"
    assert client.post(f"/api/v1/moderation/posts/{post_id}/approve", headers=bearer(token)).status_code == 200


def test_signup_refuses_a_field_it_does_not_take_and_creates_nothing(client, db):
    response = client.post("/api/v1/auth/signup", json={"username": "mallory", "email": "mallory@example.com",
                                                          "password": PASSWORD, "role": "admin"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"role": "Unknown field."}
    assert db.users.count_documents({}) == 0
    wrong_types = client.post("/api/v1/auth/login", json={"login": ["mallory"], "password": 12345678})
    assert wrong_types.status_code == 422 and set(wrong_types.get_json()["error"]["fields"]) == {"login", "password"}


def test_account_answers_match_their_documented_schemas(client):
    assert PrivateUserSchema().validate(api_signup(client, "alice").get_json()) == {}
    tokens = api_login(client, "alice").get_json()
    assert TokensSchema().validate(tokens) == {}
    refreshed = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert TokensSchema().validate(refreshed.get_json()) == {}
    forgot = client.post("/api/v1/auth/password/forgot", json={"email": "alice@example.com"})
    assert forgot.status_code == 202 and MessageSchema().validate(forgot.get_json()) == {}


def documented_operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation, item.get("parameters", []) + operation.get("parameters", [])


def test_every_api_route_is_in_the_openapi_document_and_nothing_else(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1") and spec["servers"] == [{"url": "/api/v1"}]
    documented = {(path, method): parameters for path, method, _, parameters in documented_operations(spec)}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
            assert (path, method.lower()) in documented, f"{method} {path} is missing from openapi.json"
            for choices, name in re.findall(r"<any\(([^)]*)\):(\w+)>", rule.rule):  # /<any(a, b):name>/
                parameter = next(p for p in documented[path, method.lower()] if p["name"] == name)
                assert parameter["schema"]["enum"] == [choice.strip() for choice in choices.split(",")]
    assert set(documented) == routes  # and nothing documented that the app does not answer


def test_routes_that_need_a_token_say_so_in_the_document(client):
    """Without a token, exactly the operations documented as needing one answer 401."""
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, method, operation, parameters in documented_operations(spec):
        values = {p["name"]: p["schema"].get("enum", ["x"])[0] for p in parameters if p["in"] == "path"}
        response = client.open("/api/v1" + path.format(**values), method=method.upper())
        needs_token = "security" in operation and {} not in operation["security"]
        assert (response.status_code == 401) == needs_token, (method, path, response.status_code)
        assert "401" in operation["responses"] or not needs_token, (method, path)


def test_the_document_lists_every_post_and_account_status(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Post"]["properties"]["status"]["enum"] == [status.value for status in PostStatus]
    assert schemas["Account"]["properties"]["status"]["enum"] == [status.value for status in UserStatus]
    error = schemas["Error"]
    assert error["required"] == ["error"] and error["properties"]["error"]["$ref"] == "#/components/schemas/ErrorBody"
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "fields"}
