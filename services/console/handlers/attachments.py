"""Photos and receipts of a unit's reply: checked and reduced on the server before dispatch stores them.

A phone's camera gives 3–12 MB photos; the reply needs a readable picture, not the sensor's full size, over a
field connection: images are turned upright (EXIF), reduced to at most MAX_SIDE pixels on their long side and
saved as JPEG. PDF receipts are kept as they are. The type is read from the content, never from the name.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.console.clients import Apis
from shared.storage import check_attachment

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # what a phone may send (before reduction)
MAX_STORED_BYTES = 5 * 1024 * 1024  # dispatch's default limit per stored file
MAX_FILES = 10  # dispatch's default attachments per reply
MAX_SIDE = 1600
JPEG_QUALITY = 82
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# Pillow refuses to open a picture of more pixels than this (a decompression bomb)
Image.MAX_IMAGE_PIXELS = 60_000_000


@dataclass(frozen=True)
class Prepared:
    filename: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Refused:
    """Why a file cannot be attached: a msgid with its values, shown beside the field."""

    message: str
    values: dict[str, str]


def _sniff(data: bytes) -> str | None:
    for media in (*IMAGE_TYPES, "application/pdf"):
        if check_attachment(data, media, MAX_UPLOAD_BYTES) is None:
            return media
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def reduce_image(data: bytes) -> bytes:
    """Upright, at most MAX_SIDE on the long side, JPEG; ValueError when the bytes are not a readable image."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(str(error)) from error
    return out.getvalue()


def prepare(filename: str, data: bytes) -> Prepared | Refused:
    """One uploaded file, ready for dispatch, or why not (type, size, unreadable)."""
    name = (filename or "attachment").rsplit("/", 1)[-1][:200]
    if not data:
        return Refused("%(name)s is empty", {"name": name})
    if len(data) > MAX_UPLOAD_BYTES:
        return Refused(
            "%(name)s is %(size)s MB; at most %(limit)s MB",
            {"name": name, "size": _megabytes(len(data)), "limit": _megabytes(MAX_UPLOAD_BYTES)},
        )
    media = _sniff(data)
    if media is None:
        return Refused("%(name)s is not a photo (JPEG, PNG, WebP) or a PDF", {"name": name})
    if media in IMAGE_TYPES:
        try:
            data = reduce_image(data)
        except ValueError:
            return Refused("%(name)s cannot be read as a picture", {"name": name})
        media = "image/jpeg"
        name = name.rsplit(".", 1)[0] + ".jpg"
    if len(data) > MAX_STORED_BYTES:
        return Refused(
            "%(name)s is %(size)s MB; at most %(limit)s MB",
            {"name": name, "size": _megabytes(len(data)), "limit": _megabytes(MAX_STORED_BYTES)},
        )
    return Prepared(name, media, data)


async def upload(apis: Apis, token: str, ticket_id: str, files: list[Prepared]) -> list[str]:
    """Store each file with dispatch for the coming reply; their attachment ids."""
    ids = []
    for item in files:
        body = {
            "filename": item.filename,
            "media_type": item.media_type,
            "content_base64": base64.b64encode(item.data).decode(),
        }
        stored = await apis.call("dispatch", "POST", f"/api/v1/tickets/{ticket_id}/attachments", token, json=body)
        ids.append(str(stored["attachment_id"]))
    return ids
