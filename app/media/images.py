"""Turn an uploaded file into clean, upright renditions: pure functions, no Flask, no database.

Uploads are untrusted bytes. The format is decided from the bytes, the pixel count is checked from
the header before anything is decoded, and every output is re-encoded from pixels so that no
metadata (EXIF with GPS, XMP, comments) and nothing smuggled into the file survives.
"""
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import cast

from PIL import ExifTags, Image, ImageOps

from app.core.errors import ValidationError

try:
    import pillow_heif
except ImportError:  # HEIC is accepted only where the optional decoder is installed
    pillow_heif = None  # type: ignore[assignment]  # then HEIC is not supported
else:
    pillow_heif.register_heif_opener()

HEIC_SUPPORTED = pillow_heif is not None

RENDITIONS = {"thumb": 320, "large": 1080}  # long side in px; "original" keeps full resolution
ORIGINAL_QUALITY = 90
RENDITION_QUALITY = 85
# resize() first box-shrinks by a whole factor while the picture stays this many times the target,
# then finishes with LANCZOS. Measured 4000x3000 -> 1080: 58 ms instead of 143 ms for pure
# LANCZOS, differing by 0.2/255 per pixel on average (2.0, Pillow's thumbnail default, still 140 ms).
REDUCING_GAP = 1.5

# Pillow's format name -> the name we report. MPO is a JPEG with extra pictures (phone cameras).
_ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
if HEIC_SUPPORTED:
    _ACCEPTED_FORMATS["HEIF"] = "HEIC"
# Only these decoders ever look at an upload (JPEG's opener also returns MPO).
_DECODERS = sorted(set(_ACCEPTED_FORMATS) - {"MPO"})
_ACCEPTED_NAMES = "JPEG, PNG, WebP or HEIC" if HEIC_SUPPORTED else "JPEG, PNG or WebP"

# Only to word a refusal well: signatures of images people try; those we do accept are listed for
# files that carry the signature but are too broken for the decoder to recognise.
_SIGNATURES = [
    (re.compile(rb"GIF8[79]a"), "GIF"),
    (re.compile(rb"BM.{4}\x00{4}", re.DOTALL), "BMP"),
    (re.compile(rb"II\*\x00|MM\x00\*"), "TIFF"),
    (re.compile(rb".{4}ftypavi[fs]", re.DOTALL), "AVIF"),
    (re.compile(rb".{4}ftyp(?:heic|heix|mif1)", re.DOTALL), "HEIC"),
]
# A file that decodes as an image yet carries a web page or script is a polyglot, made to be
# sniffed as HTML somewhere; no camera or editor writes these tags into a photo.
_MARKUP = re.compile(rb"<(?:!doctype|html|head|body|script|svg|iframe|\?php)", re.IGNORECASE)

_DAMAGED = "The image is damaged or incomplete (truncated) and cannot be read."
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class ImageRejected(ValidationError):
    """The upload is not a photo we accept; the message tells the user why."""


@dataclass(frozen=True)
class Rendition:
    name: str
    data: bytes
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedPhoto:
    renditions: dict[str, Rendition]  # "original", "large", "thumb"
    format: str  # of the upload: "JPEG" | "PNG" | "WEBP" | "HEIC"
    width: int  # after EXIF orientation
    height: int
    bytes: int  # size of the upload
    taken_at: datetime | None  # EXIF DateTimeOriginal, in UTC


def process_upload(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedPhoto:
    """Check an upload and make its renditions; raises ImageRejected with the reason."""
    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > max_bytes:
        raise ImageRejected(f"The file is {_file_size(len(data))}; the limit is {_file_size(max_bytes)}.")
    image = _open_header(data, max_pixels)
    if _MARKUP.search(data):
        raise ImageRejected("The file hides HTML or script inside the image, so it is refused.")
    _decode(image)
    taken_at = _taken_at(image.getexif())
    ImageOps.exif_transpose(image, in_place=True)
    upright, icc_profile = _clean_pixels(image)
    has_alpha = upright.mode == "RGBA"
    upload_format = _ACCEPTED_FORMATS[cast(str, image.format)]  # opened with formats=_DECODERS: one of them

    renditions = {"original": _rendition(
        "original", upright, _original_format(upload_format, has_alpha), ORIGINAL_QUALITY, icc_profile)}
    # Largest first, each resized from the one before: the full image is only shrunk once.
    source = upright
    for name, long_side in sorted(RENDITIONS.items(), key=lambda item: -item[1]):
        source = _fit(source, long_side)
        renditions[name] = _rendition(
            name, source, "WEBP" if has_alpha else "JPEG", RENDITION_QUALITY, icc_profile)

    return ProcessedPhoto(renditions=renditions, format=upload_format, width=upright.width,
                          height=upright.height, bytes=len(data), taken_at=taken_at)


def _file_size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{size / 1000:.0f} KB"


def _open_header(data: bytes, max_pixels: int) -> Image.Image:
    """Identify the format and size from the header alone; nothing is decoded yet."""
    try:
        image = Image.open(io.BytesIO(data), formats=_DECODERS)
    except Image.DecompressionBombError:
        raise ImageRejected("The image has far too many pixels to be a photo.") from None
    except Image.UnidentifiedImageError:
        raise ImageRejected(_unidentified_reason(data)) from None
    except Exception:  # any other failure of a decoder on untrusted bytes
        raise ImageRejected(_DAMAGED) from None
    # Pillow's own limit only warns below twice its value, so it is applied here too; checking it
    # ourselves avoids flipping the process-wide warnings filter while other threads decode.
    pixel_limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if image.width * image.height > pixel_limit:
        raise ImageRejected(
            f"The image is {image.width}x{image.height} pixels; the limit is {pixel_limit:,} pixels.")
    return image


def _unidentified_reason(data: bytes) -> str:
    for signature, name in _SIGNATURES:
        if signature.match(data):
            if name in _ACCEPTED_FORMATS.values():
                return _DAMAGED
            return f"{name} images are not supported; upload a {_ACCEPTED_NAMES} photo."
    return f"The file is not an image; upload a {_ACCEPTED_NAMES} photo."


def _decode(image: Image.Image) -> None:
    """Decode every pixel now, so a truncated or corrupt file is refused rather than half-shown."""
    try:
        image.load()
    except Exception:  # any failure of a decoder on untrusted bytes
        raise ImageRejected(_DAMAGED) from None


def _taken_at(exif: Image.Exif) -> datetime | None:
    details = exif.get_ifd(ExifTags.IFD.Exif)
    original = details.get(ExifTags.Base.DateTimeOriginal)
    if not isinstance(original, str):
        return None
    try:
        taken = datetime.strptime(original.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:  # cameras write "0000:00:00 00:00:00" and worse when the clock is unset
        return None
    return taken.replace(tzinfo=_utc_offset(details.get(ExifTags.Base.OffsetTimeOriginal))).astimezone(UTC)


def _utc_offset(offset: object) -> tzinfo:
    """The zone of OffsetTimeOriginal ("+02:00"); UTC when absent or unreadable."""
    if not isinstance(offset, str):  # absent, or not text as the standard says
        return UTC
    try:
        return datetime.strptime(offset.strip("\x00 "), "%z").tzinfo or UTC
    except ValueError:
        return UTC


def _clean_pixels(image: Image.Image) -> tuple[Image.Image, bytes | None]:
    """RGB, or RGBA when some pixel is see-through, with no metadata; and the ICC profile to keep."""
    icc_profile = image.info.get("icc_profile")
    if image.mode == "I;16":  # 16-bit grey: plain conversion would clip it to white
        image = image.point(lambda value: value / 256, "L")
    if image.has_transparency_data:
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema()[0] == 255:  # an alpha channel with nothing see-through
            image = image.convert("RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    # A grey or CMYK profile would describe the pixels wrongly once they are RGB.
    if icc_profile and icc_profile[16:20] != b"RGB ":
        icc_profile = None
    # Encoders fall back to image.info for some fields (JPEG comments, PNG chunks): empty it.
    image.info = {}
    return image, icc_profile


def _original_format(upload_format: str, has_alpha: bool) -> str:
    if upload_format in ("PNG", "WEBP"):
        return upload_format
    return "WEBP" if has_alpha else "JPEG"


def _fit(image: Image.Image, long_side: int) -> Image.Image:
    """Shrink so the long side is `long_side`; never enlarge."""
    scale = long_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def _rendition(name: str, image: Image.Image, format: str, quality: int,
               icc_profile: bytes | None) -> Rendition:
    buffer = io.BytesIO()
    options: dict[str, bytes | int] = {"icc_profile": icc_profile} if icc_profile else {}
    if format != "PNG":  # PNG is lossless: no quality setting
        options["quality"] = quality
    image.save(buffer, format, **options)
    return Rendition(name=name, data=buffer.getvalue(), content_type=_CONTENT_TYPES[format],
                     width=image.width, height=image.height)
