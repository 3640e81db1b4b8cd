"""Photo renditions in GridFS, stored all-or-nothing and found again by their post.

Every file carries its contentType and metadata {"post_id", "index", "rendition"}.
"""
import gridfs
from bson import ObjectId

from app.core.db import MongoDatabase
from app.media.images import ProcessedPhoto


def store_photo(fs: gridfs.GridFS, photo: ProcessedPhoto, *, post_id: ObjectId, index: int) -> dict:
    """Put every rendition of one photo in GridFS; return the photo's sub-document for the post."""
    # Ids are chosen before each put, so a put that dies after writing some chunks is cleaned too.
    file_ids = {name: ObjectId() for name in photo.renditions}
    try:
        for name, rendition in photo.renditions.items():
            fs.put(rendition.data, _id=file_ids[name], content_type=rendition.content_type,
                   metadata={"post_id": post_id, "index": index, "rendition": name})
    except BaseException as error:
        try:
            for file_id in file_ids.values():
                fs.delete(file_id)
        except Exception:
            error.add_note(f"Cleanup failed too: delete_post_files(db, {post_id!r}) removes what is left.")
        raise
    return {
        "index": index,
        "files": file_ids,
        "width": photo.width,
        "height": photo.height,
        "format": photo.format,
        "bytes": photo.bytes,
        "taken_at": photo.taken_at,
        "content_types": {name: rendition.content_type for name, rendition in photo.renditions.items()},
    }


def delete_post_files(db: MongoDatabase, post_id: ObjectId) -> int:
    """Remove every GridFS file of a post, chunks included; return how many files there were."""
    return delete_files(db, {"metadata.post_id": post_id})


def delete_files(db: MongoDatabase, which: dict) -> int:
    """Remove the GridFS files that `which` (a query on fs.files) picks, chunks included; return how
    many files there were."""
    file_ids = [file["_id"] for file in db.fs.files.find(which, {"_id": 1})]
    if file_ids:
        # Chunks first: if this stops halfway, the files documents still lead a retry to the chunks.
        db.fs.chunks.delete_many({"files_id": {"$in": file_ids}})
        db.fs.files.delete_many({"_id": {"$in": file_ids}})
    return len(file_ids)
