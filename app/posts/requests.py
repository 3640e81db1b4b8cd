"""Reading an upload out of a request: shared by the upload page and the API."""
from flask import current_app, request

from app.posts.services import UploadLimits


def upload_limits() -> UploadLimits:
    return UploadLimits(max_bytes=current_app.config["PHOTO_MAX_BYTES"],
                        max_pixels=current_app.config["PHOTO_MAX_PIXELS"])


def uploaded_photos() -> list[bytes]:
    return [upload.read() for upload in request.files.getlist("photos") if upload.filename or upload.content_length]
