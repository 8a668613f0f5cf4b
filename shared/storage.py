"""Attachment storage (dispatch replies, knowledge articles): the interface, a local-directory default, file checks."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.errors import DomainError, Invalid, TooLarge, UnsupportedMediaType


class AttachmentStorage(Protocol):
    """Where attachment bytes live (never in the database); an S3-compatible store fits the same three calls."""

    async def put(self, key: str, data: bytes, media_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


class LocalDirectoryStorage:
    """Files under one directory, one file per key (keys are generated, never taken from a client)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key {key!r} leaves the storage directory")
        return path

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".part")
            partial.write_bytes(data)
            partial.replace(path)  # a reader never sees half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


# The first bytes of each accepted file type: a declared type must match the content.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}
ALLOWED_MEDIA_TYPES: tuple[str, ...] = tuple(_SIGNATURES)


@dataclass(frozen=True)
class AttachmentProblem:
    """Why a file was refused: the kind of refusal (its HTTP status, shared/http/errors.py), the field, a message."""

    kind: type[DomainError]
    field: str
    message: str


def check_attachment(data: bytes, media_type: str, max_bytes: int) -> AttachmentProblem | None:
    """None when the file may be stored: an accepted type, content matching it, within the size limit."""
    media = media_type.split(";", 1)[0].strip().lower()
    if media not in _SIGNATURES:
        accepted = ", ".join(ALLOWED_MEDIA_TYPES)
        return AttachmentProblem(
            UnsupportedMediaType, "media_type", f"{media_type!r} is not accepted; send one of {accepted}"
        )
    if len(data) > max_bytes:
        return AttachmentProblem(TooLarge, "content_base64", f"the file is {len(data)} bytes; the limit is {max_bytes}")
    if not data:
        return AttachmentProblem(Invalid, "content_base64", "the file is empty")
    if not any(data.startswith(sig) for sig in _SIGNATURES[media]) or (media == "image/webp" and data[8:12] != b"WEBP"):
        return AttachmentProblem(UnsupportedMediaType, "content_base64", f"the content is not a {media} file")
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
