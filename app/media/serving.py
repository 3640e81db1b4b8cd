"""Send a GridFS file as an HTTP response: streamed, cacheable, conditional and range-aware."""
import threading
from collections import OrderedDict
from collections.abc import Generator
from typing import Self

import gridfs
from bson import ObjectId
from flask import Response, current_app, request
from gridfs.errors import CorruptGridFile
from pymongo.collection import Collection
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.db import Document
from app.core.errors import NotFoundError

# Files only some may see, or that may yet be taken back without anyone acting (a photo not yet
# scored): no shared cache keeps them, and browsers revalidate each use (a cheap 304).
PRIVATE_CACHE_CONTROL = "private, no-cache"
# GridOut's own reads fetch up to 16 MB of chunks per round trip, i.e. a whole photo in memory per
# response; a few chunks at a time (~1 MB at the default 255 kB chunk size) keeps that bounded.
CHUNKS_PER_BATCH = 4
# Files up to this size (thumbnails, large renditions) are kept in memory after their first read.
CACHEABLE_MAX_BYTES = 1 << 20


class _FileCache:
    """Recently served small files, by id, within a byte budget. Stored files never change, so a
    cached copy is never stale; callers check visibility before asking for a file. A cached file
    costs no database round trip."""

    def __init__(self) -> None:
        self._entries: OrderedDict[ObjectId, tuple[dict, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, file_id: ObjectId) -> tuple[dict, bytes] | None:
        with self._lock:
            entry = self._entries.get(file_id)
            if entry is not None:
                self._entries.move_to_end(file_id)
            return entry

    def put(self, file_id: ObjectId, stored: dict, data: bytes, budget: int) -> None:
        with self._lock:
            if file_id in self._entries or len(data) > budget:
                return
            self._entries[file_id] = (stored, data)
            self._bytes += len(data)
            while self._bytes > budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= len(evicted)


_cache = _FileCache()


def shared_cache_control(seconds: int) -> str:
    """Anyone's cache may keep the file for `seconds`, then must ask again: a file taken back
    (a post hidden or deleted) leaves every cache within that time."""
    return f"public, max-age={seconds}, must-revalidate"


def send_stored_file(fs: gridfs.GridFS, file_id: ObjectId, *, public_seconds: int = 0) -> WerkzeugResponse:
    """Answer the current request with the file. With `public_seconds`, browsers and shared caches
    may keep it that long; without, only the browser, revalidating with the ETag every time."""
    # The files document is read as stored (GridOut's contentType property is deprecated); an
    # unrun cursor of the bucket is the public way to its "<name>.files" collection.
    stored: Document | None
    body: _SeekableBody
    cached = _cache.get(file_id)
    if cached is not None:
        stored, body = cached[0], _BytesStream(cached[1])
    else:
        files = fs.find().collection
        stored = files.find_one({"_id": file_id})
        if stored is None:
            raise NotFoundError("This photo is no longer available.")
        chunks = files.database[files.name.removesuffix("files") + "chunks"]
        body = _ChunkStream(chunks, file_id, stored["chunkSize"], stored["length"])
        if stored["length"] <= CACHEABLE_MAX_BYTES:
            data = b"".join(body)
            _cache.put(file_id, stored, data, current_app.config["IMAGE_CACHE_MB"] << 20)
            body = _BytesStream(data)
    length = stored["length"]
    # Built by hand because werkzeug's send_file cannot size a file object that is not a real file
    # or BytesIO: it would send no Content-Length and ignore Range.
    response = Response(body, mimetype=stored.get("contentType") or "application/octet-stream",
                        direct_passthrough=True)
    response.content_length = length
    response.last_modified = stored["uploadDate"]
    # Strong: a stored file's bytes never change, so its id and length name them exactly.
    response.set_etag(f"{file_id}-{length}")
    response.headers["Cache-Control"] = shared_cache_control(public_seconds) if public_seconds > 0 else PRIVATE_CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    try:
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=length)
    except RequestedRangeNotSatisfiable:
        return Response(status=416, headers={
            "Content-Range": f"bytes */{length}", "Accept-Ranges": "bytes",
            "X-Content-Type-Options": "nosniff"})


class _SeekableBody:
    """A response body werkzeug's Range support can seek before the first piece is read."""

    _position = 0
    _pieces: Generator[bytes] | None = None

    def seekable(self) -> bool:
        return True

    def seek(self, position: int) -> None:
        self._position = position

    def tell(self) -> int:
        return self._position

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> bytes:
        if self._pieces is None:
            self._pieces = self._pieces_from(self._position)
        return next(self._pieces)

    def _pieces_from(self, position: int) -> Generator[bytes]:
        raise NotImplementedError

    def close(self) -> None:  # the server calls this when the response ends, even if cut short
        if self._pieces is not None:
            self._pieces.close()


class _BytesStream(_SeekableBody):
    """Bytes already in memory (a cached file)."""

    def __init__(self, data: bytes):
        self._data = data

    def _pieces_from(self, position: int) -> Generator[bytes]:
        yield self._data[position:]


class _ChunkStream(_SeekableBody):
    """A stored file's bytes, one GridFS chunk per piece, starting at the chunk holding the
    first byte asked for.

    Chunks are asked for by number, CHUNKS_PER_BATCH at a time (`n: {$in: [...]}`), and put in
    order here: a query sorted by `n` made the embedded server read every chunk of every file
    (35-48 ms of its CPU for a thumbnail, against 2.5 ms by number), and by number each batch is
    an exact lookup of the `files_id, n` index on any MongoDB."""

    def __init__(self, chunks: Collection[Document], file_id: ObjectId, chunk_size: int, length: int):
        self._chunks = chunks
        self._file_id = file_id
        self._chunk_size = chunk_size
        self._chunk_count = (length + chunk_size - 1) // chunk_size

    def _pieces_from(self, position: int) -> Generator[bytes]:
        first_chunk, skip = divmod(position, self._chunk_size)
        for batch_start in range(first_chunk, self._chunk_count, CHUNKS_PER_BATCH):
            numbers = range(batch_start, min(batch_start + CHUNKS_PER_BATCH, self._chunk_count))
            batch = {chunk["n"]: chunk["data"] for chunk in self._chunks.find(
                {"files_id": self._file_id, "n": {"$in": list(numbers)}}, {"data": True, "n": True})}
            for number in numbers:
                if number not in batch:
                    raise CorruptGridFile(f"file {self._file_id} has no chunk {number}")
                yield batch[number][skip:]
                skip = 0
            del batch  # before the next batch arrives: one batch in memory at a time
