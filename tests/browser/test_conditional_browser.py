"""A signed-out visitor's browser keeps a page and asks again with its ETag: reloaded unchanged, the
server answers 304 and the page shows the same; once something changed, the new page."""
import logging
import re

from conftest import DATASETS_DIR
from helpers import api_upload, sample_photos, signed_up_tokens, wait_until


def server_answers(caplog, path: str) -> list[int]:
    """The statuses the live server's request log shows for GET `path`, in order."""
    pattern = re.compile(rf"GET {re.escape(path)} HTTP/1\.1\S*\" (\d+) ")
    return [int(found.group(1)) for record in caplog.records if (found := pattern.search(record.getMessage()))]


def enriched(db, count: int) -> None:
    """Wait for the workers to write alt text and tags: a page that gains them has changed, and
    rightly answers 200 rather than 304."""
    wait_until(lambda: db.posts.count_documents({"enrichment": "done"}) == count, timeout=90, interval=0.2)


def test_a_reloaded_page_is_revalidated_and_shows_what_changed(live_server, page, client, db, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    alice = signed_up_tokens(client, "alice")["access_token"]
    assert api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "by the lake").status_code == 201
    enriched(db, 1)
    first = page.goto(f"{live_server}/u/alice")
    assert first.status == 200 and first.headers["etag"].startswith('W/"') and "by the lake" in page.content()
    answers = []
    page.on("response", lambda response: answers.append(response) if response.url.endswith("/u/alice") else None)
    page.reload()
    assert answers and answers[-1].request.header_value("if-none-match") == first.headers["etag"]
    # Chromium hands the page its kept copy after a 304, reported as the 200 it was: the server's log tells.
    assert server_answers(caplog, "/u/alice") == [200, 304] and "by the lake" in page.content()
    assert api_upload(client, alice, sample_photos(DATASETS_DIR, 1), "by the sea").status_code == 201
    page.reload()
    assert server_answers(caplog, "/u/alice") == [200, 304, 200] and "by the sea" in page.content()
