"""Reading an upload out of a request: shared by the upload page and the API."""
from flask import current_app, request
from werkzeug.datastructures import FileStorage

from app.posts.services import UploadLimits


def upload_limits() -> UploadLimits:
    return UploadLimits(max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                        max_pixels=current_app.config["PHOTO_MAX_PIXELS"])


def photo_bytes(files: list[FileStorage]) -> list[bytes]:
    """The bytes of each file; a form's empty file input sends a part with no name and no bytes."""
    return [upload.read() for upload in files if upload.filename or upload.content_length]


def uploaded_photos() -> list[bytes]:
    return photo_bytes(request.files.getlist("photos"))
