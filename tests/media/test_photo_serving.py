"""send_stored_file behind a small test route: headers, ranges, revalidation, streaming."""
import os
import tracemalloc

import gridfs
import pytest
from bson import ObjectId
from helpers import CommandLog, monitored_client
from photo_samples import CAMERA_MAKE, LIMITS, decoded, encoded, exif_with_gps, real_photo
from PIL import ExifTags

from app.core.db import get_fs
from app.media.images import process_upload
from app.media.serving import CACHEABLE_MAX_BYTES, CHUNKS_PER_BATCH, send_stored_file
from app.media.storage import store_photo


@pytest.fixture
def client(app):
    """The app's test client with a route that serves any GridFS file by id."""

    @app.get("/test-files/<file_id>")
    def serve_test_file(file_id):
        return send_stored_file(get_fs(), ObjectId(file_id))

    return app.test_client()


@pytest.fixture
def stored(db):
    """A photo with EXIF and GPS, processed and stored: {rendition name: (file id, bytes)}."""
    tagged = encoded(real_photo(30), "JPEG", exif=exif_with_gps("2022:08:09 10:11:12"))
    photo = process_upload(tagged, **LIMITS)
    files = store_photo(gridfs.GridFS(db), photo, post_id=ObjectId(), index=0)["files"]
    return {name: (file_id, photo.renditions[name].data) for name, file_id in files.items()}


def test_whole_file_with_caching_headers(client, stored):
    file_id, data = stored["large"]

    response = client.get(f"/test-files/{file_id}")

    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["ETag"] == f'"{file_id}-{len(data)}"'  # strong: no W/
    assert response.last_modified is not None
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_cache_control_is_private_unless_told_how_long_anyone_may_keep_it(app, db, stored):
    fs = gridfs.GridFS(db)
    file_id = stored["thumb"][0]
    with app.test_request_context():
        assert send_stored_file(fs, file_id).headers["Cache-Control"] == "private, no-cache"
        shared = send_stored_file(fs, file_id, public_seconds=300).headers["Cache-Control"]
        assert shared == "public, max-age=300, must-revalidate"


def test_every_rendition_is_served_without_exif_or_gps(client, stored):
    for file_id, _ in stored.values():
        served = client.get(f"/test-files/{file_id}").data
        assert CAMERA_MAKE.encode() not in served and b"Exif\x00" not in served
        image = decoded(served)
        assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_range_gives_exactly_those_bytes(client, stored):
    file_id, data = stored["original"]

    first = client.get(f"/test-files/{file_id}", headers={"Range": "bytes=0-99"})
    last = client.get(f"/test-files/{file_id}", headers={"Range": "bytes=-100"})

    assert first.status_code == 206
    assert first.data == data[:100]
    assert first.headers["Content-Length"] == "100"
    assert first.headers["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert last.status_code == 206
    assert last.data == data[-100:]
    assert last.headers["Content-Range"] == f"bytes {len(data) - 100}-{len(data) - 1}/{len(data)}"


def test_range_across_gridfs_chunks(client, db):
    data = os.urandom(5000)
    file_id = gridfs.GridFS(db).put(data, chunkSize=1024)

    response = client.get(f"/test-files/{file_id}", headers={"Range": "bytes=1000-3999"})

    assert response.status_code == 206
    assert response.data == data[1000:4000]


def test_unsatisfiable_range_is_416(client, stored):
    file_id, data = stored["thumb"]

    response = client.get(f"/test-files/{file_id}", headers={"Range": f"bytes={len(data)}-"})

    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"
    assert response.data == b""


def test_revalidation_answers_304(client, stored):
    file_id, _ = stored["thumb"]
    first = client.get(f"/test-files/{file_id}")

    by_etag = client.get(f"/test-files/{file_id}", headers={"If-None-Match": first.headers["ETag"]})
    by_date = client.get(f"/test-files/{file_id}", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    changed = client.get(f"/test-files/{file_id}", headers={"If-None-Match": '"something-else"'})

    assert (by_etag.status_code, by_etag.data) == (304, b"")
    assert (by_date.status_code, by_date.data) == (304, b"")
    assert changed.status_code == 200


def test_missing_file_is_404(client):
    response = client.get(f"/test-files/{ObjectId()}")

    assert response.status_code == 404
    assert "no longer available" in response.get_data(as_text=True)


def test_big_file_is_streamed_chunk_by_chunk(app, db):
    fs = gridfs.GridFS(db)
    data = os.urandom(4_000_000)
    file_id = fs.put(data)
    chunk_size = db.fs.files.find_one({"_id": file_id})["chunkSize"]

    with app.test_request_context():
        response = send_stored_file(fs, file_id)
        tracemalloc.start()
        pieces = [len(piece) for piece in response.response]
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        response.close()

    assert sum(pieces) == len(data)
    assert max(pieces) <= chunk_size and len(pieces) >= len(data) // chunk_size
    assert peak < 3 * CHUNKS_PER_BATCH * chunk_size < len(data)  # a batch of chunks, never the whole file


@pytest.fixture
def monitored(app, app_config):
    """The test's database through a client whose every command is logged, and a route serving its files."""
    log = CommandLog()
    db = monitored_client(app_config["MONGODB_URI"], log)[app_config["MONGODB_DB"]]

    @app.get("/monitored-files/<file_id>")
    def serve_monitored_file(file_id):
        return send_stored_file(gridfs.GridFS(db), ObjectId(file_id))

    yield db, log
    db.client.close()


def test_chunks_are_read_by_number_in_bounded_batches_and_never_sorted_by_the_server(app, monitored):
    db, log = monitored
    chunk_size = CACHEABLE_MAX_BYTES // 10
    data = os.urandom(10 * chunk_size + 5000)  # 11 chunks, too big for the file cache: streamed
    file_id = gridfs.GridFS(db).put(data, chunkSize=chunk_size)
    log.commands.clear()  # storing it looked at the chunks too
    client = app.test_client()

    def served(headers=None):  # read at once: the body is read from the database as it is sent
        response = client.get(f"/monitored-files/{file_id}", headers=headers)
        return response.status_code, response.data

    assert served() == (200, data)
    # From inside chunk 5 to the end, and from inside chunk 1 to inside chunk 8.
    assert served({"Range": f"bytes={5 * chunk_size + 7}-"}) == (206, data[5 * chunk_size + 7:])
    assert served({"Range": "bytes=150000-849999"}) == (206, data[150_000:850_000])
    reads = [command for command in log.sent_to("fs.chunks") if command["name"] == "find"]
    assert reads and not any("sort" in read for read in reads)
    assert [read["filter"]["n"]["$in"] for read in reads] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10],  # whole
        [5, 6, 7, 8], [9, 10],  # from chunk 5
        [1, 2, 3, 4], [5, 6, 7, 8]]  # the middle: no chunk past its last byte


def test_a_file_missing_a_chunk_is_an_error_not_short_bytes(app, monitored):
    db, _ = monitored
    file_id = gridfs.GridFS(db).put(os.urandom(900_000), chunkSize=100_000)  # read whole before answering
    db.fs.chunks.delete_one({"files_id": file_id, "n": 6})
    app.config["PROPAGATE_EXCEPTIONS"] = False

    assert app.test_client().get(f"/monitored-files/{file_id}").status_code == 500
