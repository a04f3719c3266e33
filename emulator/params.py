"""Typed access to Bot API call parameters from JSON, form, multipart or query-string input."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.errors import bad_request

_TRUE = {"true", "1", "yes", "on"}
# ASCII digits only ("²".isdigit() is true, int("²") is not), at most int64's 19 digits + 1
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_FALSE = {"false", "0", "no", "off", ""}


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str | None
    data: bytes


class Params:
    """Call parameters; form values arrive as strings and are coerced on access."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        """True if the parameter was sent (as a value or a file part)."""
        return (name in self.values and self.values[name] is not None) or name in self.uploads

    def raw(self, name: str) -> Any:
        """The value as received (None if absent)."""
        return self.values.get(name)

    def get_str(self, name: str, *, missing: str | None = None) -> str | None:
        """String parameter; ``missing`` is the error text when it is required."""
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def get_int(self, name: str, *, missing: str | None = None) -> int | None:
        """Integer parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not _INTEGER.fullmatch(text):
                try:
                    as_float = float(text)
                except ValueError:
                    raise bad_request(f"invalid {name} specified") from None
                if not math.isfinite(as_float):
                    raise bad_request(f"invalid {name} specified")
                text = str(int(as_float))
            number = int(text)
        if not INT64_MIN <= number <= INT64_MAX:  # Telegram's integers are 64-bit at most
            raise bad_request(f"invalid {name} specified")
        return number

    def get_float(self, name: str, *, missing: str | None = None) -> float | None:
        """Float parameter."""
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        """Boolean parameter (``true``/``false``/``1``/``0``)."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return default

    def get_json(self, name: str, *, invalid: str | None = None) -> Any:
        """A JSON-serialized parameter (reply_markup, entities, media, ...)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(invalid or f"can't parse {name} JSON object") from None

    def chat_id(self, name: str = "chat_id", *, required: bool = True) -> int | str | None:
        """A chat identifier: integer id or ``@username``."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise bad_request("chat not found")
        if isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise bad_request("chat not found")
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        if not _INTEGER.fullmatch(text) or not INT64_MIN <= int(text) <= INT64_MAX:
            raise bad_request("chat not found")
        return int(text)

    def file(self, name: str) -> Upload | str | None:
        """A file argument: uploaded part, ``attach://`` reference resolved, or a string."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.values.get(name)
        if value is None or value == "":
            return None
        text = str(value)
        return self.attachment(text)

    def attachment(self, text: str) -> Upload | str:
        """Resolve ``attach://<part>`` to the uploaded part, else return the string."""
        if text.startswith("attach://"):
            part = text.removeprefix("attach://")
            if part not in self.uploads:
                raise bad_request(f"file attach://{part} not found")  # approximate text
            return self.uploads[part]
        return text

    def redacted(self) -> dict[str, Any]:
        """Parameters for the event log, with uploads summarized instead of bytes."""

        def summary(upload: Upload) -> dict[str, Any]:
            return {
                "upload": upload.filename,
                "size": len(upload.data),
                "content_type": upload.content_type,
            }

        out = dict(self.values)
        referenced: set[str] = set()
        for key, value in self.values.items():
            if isinstance(value, str) and value.startswith("attach://"):
                part = value.removeprefix("attach://")
                if part in self.uploads:
                    out[key] = summary(self.uploads[part])
                    referenced.add(part)
        for key, upload in self.uploads.items():
            if key not in referenced:
                out[key] = summary(upload)
        return out


async def read_params(request: web.Request) -> Params:
    """Collect parameters from the query string and the body, whatever its encoding."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON encoded request") from None
            if isinstance(body, dict):
                values.update(body)
        elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = Upload(
                        filename=value.filename or key,
                        content_type=value.content_type,
                        data=value.file.read(),
                    )
                else:
                    values[key] = value
        else:
            raw = await request.read()
            if raw.strip().startswith(b"{"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                if isinstance(body, dict):
                    values.update(body)
    return Params(values, uploads)
