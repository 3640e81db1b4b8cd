"""The API's contract: its OpenAPI document, the page that shows it, and how bad requests are told."""
import re
from pathlib import PurePosixPath

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
