"""Photos a customer sends with a self-service request (issue 21 part 3): how many, which kinds, how large.

Pure: the bytes are judged by their first bytes (magic numbers), never by the name or the type the browser
declares. The console checks them before anything is sent, intake again before anything is stored; a refusal
names the photo and why, and nothing of the request is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.storage import check_attachment

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# a request body carrying the most photos as base64 JSON (4/3 of the bytes) with room for the rest of the form
PHOTOS_BODY_BYTES = MAX_PHOTOS * MAX_PHOTO_BYTES * 4 // 3 + 256 * 1024


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    max_photos: int = MAX_PHOTOS
    max_bytes: int = MAX_PHOTO_BYTES


@dataclass(frozen=True, slots=True)
class Photo:
    """An accepted photo: its (cleaned) name, the type its content shows, the bytes."""

    filename: str
    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PhotoProblem:
    """Why the photos are refused: which one (its index, None for the set), a kind and the facts of the message."""

    index: int | None
    kind: str  # too_many, empty, too_large, not_a_photo
    filename: str = ""
    size_bytes: int = 0
    limit: int = 0


def photo_type(data: bytes) -> str | None:
    """The image type the content is (JPEG, PNG, WebP by its magic bytes), or None."""
    for media in PHOTO_TYPES:
        if check_attachment(data, media, len(data) or 1) is None:
            return media
    return None


def clean_name(filename: str, index: int) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>{}')[:120]
    return name or f"photo-{index + 1}"


def check_photos(
    files: Sequence[tuple[str, bytes]], limits: PhotoLimits = PhotoLimits()
) -> tuple[list[Photo], list[PhotoProblem]]:
    """The photos to store, or every problem (then store none of them)."""
    if len(files) > limits.max_photos:
        return [], [PhotoProblem(None, "too_many", limit=limits.max_photos)]
    accepted: list[Photo] = []
    problems: list[PhotoProblem] = []
    for index, (filename, data) in enumerate(files):
        name = clean_name(filename, index)
        if not data:
            problems.append(PhotoProblem(index, "empty", name))
            continue
        if len(data) > limits.max_bytes:
            problems.append(PhotoProblem(index, "too_large", name, len(data), limits.max_bytes))
            continue
        media = photo_type(data)
        if media is None:
            problems.append(PhotoProblem(index, "not_a_photo", name))
            continue
        accepted.append(Photo(name, media, data))
    return ([] if problems else accepted), problems


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def describe(problem: PhotoProblem) -> str:
    """The refusal in English (the API's field message; the console shows its own catalog's words)."""
    if problem.kind == "too_many":
        return f"at most {problem.limit} photos"
    if problem.kind == "empty":
        return f"{problem.filename} is empty"
    if problem.kind == "too_large":
        return f"{problem.filename} is {megabytes(problem.size_bytes)} MB; at most {megabytes(problem.limit)} MB"
    return f"{problem.filename} is not a photo (JPEG, PNG or WebP)"
