"""The customer's photos of a self-service request: kind by content, count and size limits, every refusal named."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shared.policy.photos import MAX_PHOTO_BYTES, PhotoLimits, check_photos, clean_name, describe, photo_type


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(("kind", "media"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_each_photo_kind_is_read_from_its_content(kind: str, media: str) -> None:
    accepted, problems = check_photos([("whatever.txt", _image(kind))])
    assert problems == []
    assert [(p.filename, p.media_type) for p in accepted] == [("whatever.txt", media)]


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7 not a photo",
        b"GIF89a" + b"\0" * 20,
        b"RIFF\0\0\0\0WAVEfmt ",  # a RIFF file that is not WebP
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_a_file_named_like_a_photo_that_is_not_one_is_refused(data: bytes) -> None:
    accepted, problems = check_photos([("leak.jpg", data)])
    assert accepted == []
    assert [(p.index, p.kind, p.filename) for p in problems] == [(0, "not_a_photo", "leak.jpg")]
    assert describe(problems[0]) == "leak.jpg is not a photo (JPEG, PNG or WebP)"


def test_a_photo_over_five_megabytes_is_refused_with_its_size() -> None:
    big = b"\xff\xd8\xff" + b"\0" * MAX_PHOTO_BYTES
    accepted, problems = check_photos([("big.jpg", big)])
    assert accepted == []
    assert problems[0].kind == "too_large"
    assert describe(problems[0]) == "big.jpg is 5.0 MB; at most 5.0 MB"
    exactly = b"\xff\xd8\xff" + b"\0" * (MAX_PHOTO_BYTES - 3)
    assert check_photos([("ok.jpg", exactly)])[1] == []


def test_more_than_three_photos_are_refused_as_a_set() -> None:
    jpeg = _image("JPEG")
    accepted, problems = check_photos([(f"{i}.jpg", jpeg) for i in range(4)])
    assert accepted == []
    assert [(p.index, p.kind) for p in problems] == [(None, "too_many")]
    assert describe(problems[0]) == "at most 3 photos"
    assert len(check_photos([(f"{i}.jpg", jpeg) for i in range(3)])[0]) == 3


def test_one_bad_photo_refuses_them_all_and_names_only_it() -> None:
    jpeg = _image("JPEG")
    accepted, problems = check_photos([("a.jpg", jpeg), ("b.png", b""), ("c.jpg", jpeg)])
    assert accepted == []  # nothing is stored on a refusal
    assert [(p.index, p.kind, p.filename) for p in problems] == [(1, "empty", "b.png")]


def test_limits_are_configurable() -> None:
    jpeg = _image("JPEG")
    assert check_photos([("a.jpg", jpeg)], PhotoLimits(max_photos=1, max_bytes=10))[1][0].kind == "too_large"


def test_a_name_keeps_no_path_and_nothing_that_breaks_a_page() -> None:
    assert clean_name("C:\\Users\\me\\IMG_01.jpg", 0) == "IMG_01.jpg"
    assert clean_name('../"<x>{y}.png', 0) == "xy.png"
    assert clean_name("", 2) == "photo-3"
    assert photo_type(b"") is None
