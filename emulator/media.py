"""File store and Bot API media objects (PhotoSize, Document, Voice, ...)."""

from __future__ import annotations

import itertools
import mimetypes
import struct
import zlib
from typing import Any

from emulator.errors import bad_request
from emulator.models import JSON, StoredFile
from emulator.params import Upload

# kind -> (file_path folder, default extension, default mime type)
KINDS: dict[str, tuple[str, str, str]] = {
    "photo": ("photos", "jpg", "image/jpeg"),
    "document": ("documents", "bin", "application/octet-stream"),
    "voice": ("voice", "oga", "audio/ogg"),
    "video": ("videos", "mp4", "video/mp4"),
    "sticker": ("stickers", "webp", "image/webp"),
    "audio": ("music", "mp3", "audio/mpeg"),
    "animation": ("animations", "mp4", "video/mp4"),
    "video_note": ("video_notes", "mp4", "video/mp4"),
}
PHOTO_SIZES = (90, 320, 800, 1280)
MAX_DOWNLOAD = 20 * 1024 * 1024


def tiny_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (64, 128, 255)) -> bytes:
    """A small valid PNG, handy as a default photo."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes | None) -> tuple[int, int] | None:
    """Width/height of PNG, GIF or JPEG bytes, if recognizable."""
    if not data:
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return None


class FileStore:
    """Files by id and by download path."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(
        self,
        kind: str,
        content: bytes | None,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        """Store bytes (or a URL reference) and mint file_id/file_unique_id/file_path."""
        n = next(self._counter)
        folder, ext, default_mime = KINDS.get(kind, KINDS["document"])
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1].lower() or ext
        stored = StoredFile(
            file_id=f"EmuF{kind[:2].upper()}{n:08d}AAQ",
            file_unique_id=f"EmuU{n:08d}",
            kind=kind,
            content=content,
            file_path=f"{folder}/file_{n}.{ext}",
            mime_type=mime_type or default_mime,
            file_name=file_name,
            url=url,
        )
        self.by_id[stored.file_id] = stored
        self.by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """Look a file up by file_id."""
        return self.by_id.get(file_id)

    def resolve(self, source: Upload | str, kind: str) -> StoredFile:
        """Turn a send* file argument (upload, file_id or URL) into a stored file."""
        if isinstance(source, Upload):
            mime = source.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(source.filename)[0] or mime
            return self.add(kind, source.data, mime_type=mime, file_name=source.filename)
        text = source.strip()
        if text.startswith(("http://", "https://")):
            name = text.rsplit("/", 1)[-1].split("?", 1)[0] or None
            return self.add(kind, None, url=text, file_name=name)
        stored = self.by_id.get(text)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored


def photo_sizes(store: FileStore, original: StoredFile) -> list[JSON]:
    """PhotoSize list for a photo: scaled-down variants plus the original size."""
    width, height = image_size(original.content) or (800, 600)
    sizes: list[JSON] = []
    for limit in PHOTO_SIZES:
        if max(width, height) <= limit:
            break
        scale = limit / max(width, height)
        variant = store.add("photo", original.content, mime_type=original.mime_type)
        sizes.append(_size(variant, round(width * scale), round(height * scale)))
    sizes.append(_size(original, width, height))
    return sizes


def _size(stored: StoredFile, width: int, height: int) -> JSON:
    data: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": max(width, 1),
        "height": max(height, 1),
    }
    if stored.size is not None:
        data["file_size"] = stored.size
    return data


def media_object(kind: str, stored: StoredFile, extra: dict[str, Any] | None = None) -> JSON:
    """The Bot API object for a non-photo media kind (Document, Voice, Video, ...)."""
    extra = extra or {}
    data: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    duration = int(extra.get("duration") or 1)
    dims = image_size(stored.content)
    width = int(extra.get("width") or (dims[0] if dims else 640))
    height = int(extra.get("height") or (dims[1] if dims else 480))
    if kind == "document":
        if stored.file_name:
            data["file_name"] = stored.file_name
    elif kind == "voice":
        data["duration"] = duration
    elif kind in ("video", "animation"):
        data.update(width=width, height=height, duration=duration)
        if stored.file_name:
            data["file_name"] = stored.file_name
    elif kind == "audio":
        data["duration"] = duration
        for key in ("performer", "title"):
            if extra.get(key):
                data[key] = extra[key]
        if stored.file_name:
            data["file_name"] = stored.file_name
    elif kind == "sticker":
        data.update(
            type="regular",
            width=int(extra.get("width") or 512),
            height=int(extra.get("height") or 512),
            is_animated=False,
            is_video=False,
        )
        if extra.get("emoji"):
            data["emoji"] = extra["emoji"]
        return _with_size(data, stored)
    elif kind == "video_note":
        data.update(length=width, duration=duration)
        return _with_size(data, stored)
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    return _with_size(data, stored)


def _with_size(data: JSON, stored: StoredFile) -> JSON:
    if stored.size is not None:
        data["file_size"] = stored.size
    return data
