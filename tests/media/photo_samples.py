"""Real photos for the media tests, and the files the tests make from them."""
import io
import struct
import zlib
from pathlib import Path

from conftest import DATASETS_DIR
from PIL import ExifTags, Image, ImageChops, ImageStat

PHOTOS_DIR = DATASETS_DIR / "photos"
LIMITS = {"max_bytes": 20_000_000, "max_pixels": 50_000_000}
CAMERA_MAKE = "GlimpseTestCam"


def photo_paths() -> list[Path]:
    return sorted(PHOTOS_DIR.glob("*.jpg"))


def real_photo_bytes(number: int = 0) -> bytes:
    return photo_paths()[number].read_bytes()


def real_photo(number: int = 0) -> Image.Image:
    with Image.open(io.BytesIO(real_photo_bytes(number))) as image:
        return image.convert("RGB")


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def exif_with_gps(taken: str, offset: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MAKE
    exif[ExifTags.Base.Model] = "Z 1"
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """A few dozen bytes whose PNG header claims width x height pixels: a decompression bomb's shape."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def same_picture(first: Image.Image, second: Image.Image) -> bool:
    """Alike when seen small, i.e. up to lossy re-encoding and resizing (two different photos
    differ by 30 and more)."""
    return mean_difference(first, second) < 10


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute difference per channel value of the two seen at 64x64, 0 (same) to 255."""
    first, second = (image.convert("RGB").resize((64, 64), Image.Resampling.BOX) for image in (first, second))
    channel_means = ImageStat.Stat(ImageChops.difference(first, second)).mean
    return sum(channel_means) / len(channel_means)
