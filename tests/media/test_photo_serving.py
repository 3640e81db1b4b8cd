"""send_stored_file behind a small test route: headers, ranges, revalidation, streaming."""
import os
import tracemalloc

import gridfs
import pytest
from bson import ObjectId
from photo_samples import CAMERA_MAKE, LIMITS, decoded, encoded, exif_with_gps, real_photo
from PIL import ExifTags

from app.core.db import get_fs
from app.media.images import process_upload
from app.media.serving import CHUNKS_PER_BATCH, send_stored_file
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
