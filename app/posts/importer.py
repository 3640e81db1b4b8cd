"""Bulk import: a whole folder of photos becomes posts (the album use case)."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import gridfs

from app.core.db import MongoDatabase
from app.core.errors import ValidationError
from app.posts.services import UploadLimits, publish_photos

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


@dataclass
class ImportReport:
    imported: int = 0
    refused: dict[str, str] = field(default_factory=dict)


def photo_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES)


def import_photos(db: MongoDatabase, fs: gridfs.GridFS, *, author: dict, paths: Iterable[Path], limits: UploadLimits,
                  caption_for: Callable[[Path], str] = lambda path: "",
                  on_each: Callable[[Path], None] = lambda path: None) -> ImportReport:
    """One post per file; a file that is not an acceptable photo is reported, not fatal."""
    report = ImportReport()
    for path in paths:
        try:
            publish_photos(db, fs, author=author, uploads=[path.read_bytes()], caption=caption_for(path), limits=limits)
            report.imported += 1
        except ValidationError as error:
            report.refused[path.name] = error.message
        on_each(path)
    return report
