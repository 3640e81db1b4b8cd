"""process_upload on real photos: every accepted format, orientation, metadata stripping, refusals."""
import io
from datetime import UTC, datetime

import pytest
from photo_samples import (
    CAMERA_MAKE,
    LIMITS,
    decoded,
    encoded,
    exif_with_gps,
    png_header_only,
    real_photo,
    real_photo_bytes,
    same_picture,
)
from PIL import ExifTags, Image

from app.core.errors import ValidationError
from app.media.images import HEIC_SUPPORTED, RENDITIONS, ImageRejected, process_upload


def with_transparent_corner(image: Image.Image) -> Image.Image:
    image = image.convert("RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 40, 40))
    return image


def assert_sizes(photo, width: int, height: int):
    assert (photo.width, photo.height) == (width, height)
    original = photo.renditions["original"]
    assert (original.width, original.height) == (width, height)
    for name, long_side in RENDITIONS.items():
        rendition = photo.renditions[name]
        expected_long_side = min(long_side, max(width, height))  # never enlarged
        assert max(rendition.width, rendition.height) == expected_long_side
        assert (rendition.width > rendition.height) == (width > height)
    for rendition in photo.renditions.values():
        assert decoded(rendition.data).size == (rendition.width, rendition.height)


def test_real_jpeg_gives_original_large_and_thumb():
    source = real_photo()
    photo = process_upload(real_photo_bytes(), **LIMITS)

    assert photo.format == "JPEG"
    assert photo.bytes == len(real_photo_bytes())
    assert set(photo.renditions) == {"original", "large", "thumb"}
    assert_sizes(photo, *source.size)
    for name, rendition in photo.renditions.items():
        assert rendition.name == name
        assert rendition.content_type == "image/jpeg"
        assert decoded(rendition.data).format == "JPEG"
        assert same_picture(source, decoded(rendition.data))


def test_big_jpeg_is_shrunk_for_large_and_thumb():
    big = real_photo().resize((4000, 3000))
    photo = process_upload(encoded(big, "JPEG", quality=92), **LIMITS)

    assert_sizes(photo, 4000, 3000)
    assert (photo.renditions["large"].width, photo.renditions["large"].height) == (1080, 810)
    assert (photo.renditions["thumb"].width, photo.renditions["thumb"].height) == (320, 240)
    assert same_picture(big, decoded(photo.renditions["thumb"].data))


def test_png_without_alpha_keeps_a_png_original_and_makes_jpeg_renditions():
    source = real_photo(1)
    photo = process_upload(encoded(source, "PNG"), **LIMITS)

    assert photo.format == "PNG"
    original = decoded(photo.renditions["original"].data)
    assert (original.format, original.mode) == ("PNG", "RGB")
    assert original.tobytes() == source.tobytes()  # lossless all the way
    assert photo.renditions["thumb"].content_type == "image/jpeg"


def test_png_with_alpha_keeps_transparency_in_every_rendition():
    photo = process_upload(encoded(with_transparent_corner(real_photo(2)), "PNG"), **LIMITS)

    assert photo.renditions["original"].content_type == "image/png"
    for name in RENDITIONS:
        assert photo.renditions[name].content_type == "image/webp"
    for rendition in photo.renditions.values():
        image = decoded(rendition.data)
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0
        assert image.getpixel((image.width - 1, image.height - 1))[3] == 255


def test_alpha_channel_with_nothing_see_through_is_dropped():
    photo = process_upload(encoded(real_photo(2).convert("RGBA"), "PNG"), **LIMITS)

    assert decoded(photo.renditions["original"].data).mode == "RGB"
    assert photo.renditions["large"].content_type == "image/jpeg"


def test_webp_keeps_a_webp_original():
    source = real_photo(3)
    photo = process_upload(encoded(source, "WEBP", quality=90), **LIMITS)

    assert photo.format == "WEBP"
    assert photo.renditions["original"].content_type == "image/webp"
    assert decoded(photo.renditions["original"].data).format == "WEBP"
    assert photo.renditions["thumb"].content_type == "image/jpeg"
    assert_sizes(photo, *source.size)


@pytest.mark.skipif(not HEIC_SUPPORTED, reason="HEIC is not tested: pillow-heif is missing")
def test_heic_becomes_jpeg_renditions():
    source = real_photo(4)
    photo = process_upload(encoded(source, "HEIF", quality=90), **LIMITS)

    assert photo.format == "HEIC"
    assert {rendition.content_type for rendition in photo.renditions.values()} == {"image/jpeg"}
    assert_sizes(photo, *source.size)
    assert same_picture(source, decoded(photo.renditions["original"].data))


def test_mpo_from_a_phone_camera_is_a_jpeg_and_keeps_its_first_picture():
    first, second = real_photo(5), real_photo(6).resize(real_photo(5).size)
    photo = process_upload(encoded(first, "MPO", save_all=True, append_images=[second]), **LIMITS)

    assert photo.format == "JPEG"
    assert same_picture(first, decoded(photo.renditions["original"].data))


@pytest.mark.parametrize("format", ["PNG", "WEBP"])
def test_animated_image_keeps_its_first_frame(format):
    first, second = real_photo(7), real_photo(8).resize(real_photo(7).size)
    animation = encoded(first, format, save_all=True, append_images=[second], duration=100, lossless=True)
    photo = process_upload(animation, **LIMITS)

    original = decoded(photo.renditions["original"].data)
    assert getattr(original, "n_frames", 1) == 1
    assert same_picture(first, original)
    assert not same_picture(second, original)


def sixteen_bit_grey(image: Image.Image) -> Image.Image:
    """As scanners and some editors write PNGs."""
    return image.convert("L").point(lambda value: value * 256, "I").convert("I;16")


@pytest.mark.parametrize(("convert", "format", "in_colour"), [
    (lambda image: image.convert("L"), "PNG", False),
    (lambda image: image.convert("LA"), "PNG", False),
    (lambda image: image.convert("P"), "PNG", True),
    (lambda image: image.convert("CMYK"), "JPEG", True),
    (sixteen_bit_grey, "PNG", False),
], ids=["grey", "grey+alpha", "palette", "cmyk", "16-bit grey"])
def test_other_pixel_modes_become_rgb_that_looks_the_same(convert, format, in_colour):
    source = real_photo(9)
    photo = process_upload(encoded(convert(source), format), **LIMITS)

    thumb = decoded(photo.renditions["thumb"].data)
    assert thumb.mode == "RGB"
    assert same_picture(source if in_colour else source.convert("L"), thumb)


def test_exif_orientation_is_applied_to_every_rendition():
    upright = real_photo(10)
    # What a camera held sideways stores: pixels turned a quarter left, orientation 6 to undo it.
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    photo = process_upload(encoded(sideways, "JPEG", quality=95, exif=exif), **LIMITS)

    assert (photo.width, photo.height) == upright.size != sideways.size
    for rendition in photo.renditions.values():
        image = decoded(rendition.data)
        assert same_picture(upright, image)
        assert not same_picture(upright.transpose(Image.Transpose.ROTATE_180), image)
        assert image.getexif().get(ExifTags.Base.Orientation) is None


def test_all_metadata_is_stripped_and_only_the_colour_profile_kept():
    source_bytes = real_photo_bytes(11)
    with Image.open(io.BytesIO(source_bytes)) as source:
        icc_profile = source.info["icc_profile"]
        tagged = encoded(source, "JPEG", quality=95, exif=exif_with_gps("2021:06:15 14:30:05"),
                         icc_profile=icc_profile, comment=b"shot at home",
                         xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret place</x:xmpmeta>')
    assert CAMERA_MAKE.encode() in tagged and b"secret place" in tagged  # the test really tags it

    photo = process_upload(tagged, **LIMITS)

    assert photo.taken_at == datetime(2021, 6, 15, 14, 30, 5, tzinfo=UTC)
    for rendition in photo.renditions.values():
        image = decoded(rendition.data)
        assert not image.getexif()
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "xmp", "comment"} & set(image.info)
        for trace in (b"Exif\x00", CAMERA_MAKE.encode(), b"secret place", b"shot at home", b"xmpmeta"):
            assert trace not in rendition.data
        assert image.info["icc_profile"] == icc_profile


@pytest.mark.parametrize("format", ["PNG", "WEBP"])
def test_exif_is_stripped_from_png_and_webp_too(format):
    tagged = encoded(real_photo(12), format, exif=exif_with_gps("2020:01:02 03:04:05"))
    assert CAMERA_MAKE.encode() in tagged

    photo = process_upload(tagged, **LIMITS)

    assert photo.taken_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    for rendition in photo.renditions.values():
        assert CAMERA_MAKE.encode() not in rendition.data
        assert not decoded(rendition.data).getexif()


@pytest.mark.parametrize(("exif", "taken_at"), [
    (exif_with_gps("2021:06:15 14:30:05", offset="+02:00"), datetime(2021, 6, 15, 12, 30, 5, tzinfo=UTC)),
    (exif_with_gps("0000:00:00 00:00:00"), None),
    (Image.Exif(), None),
    # A time offset stored as bytes, not text: the time is read as UTC rather than failing the upload.
    (exif_with_gps("2021:06:15 14:30:05", offset=b"+02:00"), datetime(2021, 6, 15, 14, 30, 5, tzinfo=UTC)),
])
def test_taken_at_is_in_utc_and_absent_when_unknown(exif, taken_at):
    photo = process_upload(encoded(real_photo(13), "JPEG", exif=exif), **LIMITS)

    assert photo.taken_at == taken_at


def half_of(data: bytes) -> bytes:
    return data[:len(data) // 2]


def jpeg_bytes() -> bytes:
    return real_photo_bytes(14)


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(("make_upload", "limits", "reason"), [
    pytest.param(lambda: b"", {}, "The file is empty.", id="empty"),
    pytest.param(jpeg_bytes, {"max_bytes": 10_000}, "the limit is 10 KB", id="too many bytes"),
    pytest.param(lambda: b"just some words, not a picture\n" * 20, {}, "not an image", id="text"),
    pytest.param(lambda: HTML, {}, "not an image", id="html"),
    pytest.param(lambda: SVG, {}, "not an image", id="svg"),
    pytest.param(lambda: HTML + jpeg_bytes(), {}, "not an image", id="html then jpeg"),
    pytest.param(lambda: jpeg_bytes() + HTML, {}, "hides HTML or script", id="jpeg then html"),
    pytest.param(lambda: encoded(real_photo(14), "JPEG", comment=b"<script>alert(1)</script>"), {},
                 "hides HTML or script", id="script in jpeg comment"),
    pytest.param(lambda: half_of(jpeg_bytes()), {}, "truncated", id="half a jpeg"),
    pytest.param(lambda: jpeg_bytes()[:300], {}, "truncated", id="jpeg header only"),
    pytest.param(lambda: encoded(real_photo(14), "PNG")[:5000], {}, "truncated", id="cut png"),
    pytest.param(lambda: half_of(encoded(real_photo(14), "WEBP")), {}, "truncated", id="half a webp"),
    pytest.param(lambda: png_header_only(30_000, 30_000), {}, "far too many pixels", id="bomb past pillow's limit"),
    pytest.param(lambda: png_header_only(9_000, 9_000), {}, "9000x9000 pixels; the limit is 50,000,000 pixels",
                 id="bomb past our limit"),
    pytest.param(jpeg_bytes, {"max_pixels": 10_000}, "pixels; the limit is 10,000 pixels",
                 id="real photo past our limit"),
    pytest.param(lambda: encoded(real_photo(14), "GIF", save_all=True, append_images=[real_photo(15)]), {},
                 "GIF images are not supported", id="animated gif"),
    pytest.param(lambda: encoded(real_photo(14), "BMP"), {}, "BMP images are not supported", id="bmp"),
    pytest.param(lambda: encoded(real_photo(14), "TIFF"), {}, "TIFF images are not supported", id="tiff"),
    pytest.param(lambda: encoded(real_photo(14), "AVIF"), {}, "AVIF images are not supported", id="avif"),
])
def test_refused_uploads_say_why(make_upload, limits, reason):
    with pytest.raises(ImageRejected) as refused:
        process_upload(make_upload(), **{**LIMITS, **limits})

    assert reason in refused.value.message
    assert isinstance(refused.value, ValidationError) and refused.value.status == 422


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pillows_pixel_limit_holds_even_when_ours_is_higher():
    with pytest.raises(ImageRejected, match=f"the limit is {Image.MAX_IMAGE_PIXELS:,} pixels"):
        process_upload(png_header_only(10_000, 10_000), max_bytes=LIMITS["max_bytes"], max_pixels=10**9)


@pytest.mark.skipif(not HEIC_SUPPORTED, reason="HEIC is not tested: pillow-heif is missing")
@pytest.mark.parametrize("cut", [lambda heic: heic[:300], half_of], ids=["header only", "half"])
def test_truncated_heic_is_refused_as_damaged(cut):
    with pytest.raises(ImageRejected, match=r"damaged or incomplete \(truncated\)"):
        process_upload(cut(encoded(real_photo(17), "HEIF")), **LIMITS)


def test_format_comes_from_the_bytes_not_the_file_name(tmp_path):
    disguised_png = tmp_path / "holiday.jpg"
    disguised_png.write_bytes(encoded(real_photo(16), "PNG"))
    disguised_page = tmp_path / "holiday2.jpg"
    disguised_page.write_bytes(HTML)

    assert process_upload(disguised_png.read_bytes(), **LIMITS).format == "PNG"
    with pytest.raises(ImageRejected, match="not an image"):
        process_upload(disguised_page.read_bytes(), **LIMITS)
