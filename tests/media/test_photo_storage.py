"""store_photo and delete_post_files against the real GridFS of the test database."""
import gridfs
import pytest
from bson import ObjectId
from photo_samples import LIMITS, real_photo_bytes
from pymongo.errors import ConnectionFailure

from app.media.images import process_upload
from app.media.storage import delete_post_files, store_photo


class PutFailsOnce(gridfs.GridFS):
    """GridFS whose Nth put dies after writing one chunk, as when the connection drops mid-file."""

    def __init__(self, db, failing_put: int):
        super().__init__(db)
        self.db = db
        self.failing_put = failing_put
        self.puts = 0

    def put(self, data, **kwargs):
        self.puts += 1
        if self.puts == self.failing_put:
            self.db.fs.chunks.insert_one({"files_id": kwargs["_id"], "n": 0, "data": data[:1024]})
            raise ConnectionFailure("connection closed mid-file")
        return super().put(data, **kwargs)


def gridfs_counts(db) -> tuple[int, int]:
    return db.fs.files.count_documents({}), db.fs.chunks.count_documents({})


@pytest.fixture
def photo():
    return process_upload(real_photo_bytes(20), **LIMITS)


def test_store_photo_puts_every_rendition_and_describes_it(db, photo):
    fs = gridfs.GridFS(db)
    post_id = ObjectId()

    stored = store_photo(fs, photo, post_id=post_id, index=2)

    assert stored == {
        "index": 2, "files": stored["files"], "width": photo.width, "height": photo.height,
        "format": "JPEG", "bytes": photo.bytes, "taken_at": None,
        "content_types": {"original": "image/jpeg", "large": "image/jpeg", "thumb": "image/jpeg"},
    }
    assert set(stored["files"]) == {"original", "large", "thumb"}
    for name, file_id in stored["files"].items():
        grid_out = fs.get(file_id)
        assert grid_out.read() == photo.renditions[name].data
        assert db.fs.files.find_one({"_id": file_id})["contentType"] == "image/jpeg"
        assert grid_out.metadata == {"post_id": post_id, "index": 2, "rendition": name}


def test_delete_post_files_leaves_gridfs_exactly_as_before(db, photo):
    fs = gridfs.GridFS(db)
    other_post = store_photo(fs, photo, post_id=ObjectId(), index=0)
    before = gridfs_counts(db)
    post_id = ObjectId()
    store_photo(fs, photo, post_id=post_id, index=0)
    store_photo(fs, photo, post_id=post_id, index=1)
    assert gridfs_counts(db)[0] == before[0] + 6

    assert delete_post_files(db, post_id) == 6

    assert gridfs_counts(db) == before
    assert fs.get(other_post["files"]["thumb"]).read() == photo.renditions["thumb"].data
    assert delete_post_files(db, post_id) == 0


@pytest.mark.parametrize("failing_put", [1, 2, 3])
def test_a_failed_put_leaves_no_files_and_no_chunks(db, photo, failing_put):
    gridfs.GridFS(db).put(b"someone else's file")  # there is other data, and it stays
    before = gridfs_counts(db)
    fs = PutFailsOnce(db, failing_put)

    with pytest.raises(ConnectionFailure, match="mid-file"):
        store_photo(fs, photo, post_id=ObjectId(), index=0)

    assert fs.puts == failing_put
    assert gridfs_counts(db) == before
