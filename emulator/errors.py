"""Telegram-style API errors raised by Bot API handlers, and user-side emulator errors."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API failure rendered as ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        """Return the Bot API error body."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> ApiError:
    """400 ``Bad Request: <text>``."""
    return ApiError(400, f"Bad Request: {text}")


def forbidden(text: str) -> ApiError:
    """403 ``Forbidden: <text>``."""
    return ApiError(403, f"Forbidden: {text}")


def unauthorized() -> ApiError:
    """401 returned for unknown bot tokens."""
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    """404 returned for unknown methods."""
    return ApiError(404, "Not Found")


def conflict(text: str) -> ApiError:
    """409 ``Conflict: <text>``."""
    return ApiError(409, f"Conflict: {text}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 with ``parameters.retry_after`` like Telegram's flood control."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        parameters={"retry_after": retry_after},
    )


class EntityParseError(ValueError):
    """Raised by the HTML/Markdown parsers; becomes ``can't parse entities: ...``."""


class EmulatorError(RuntimeError):
    """Misuse of the simulated-user API (unknown user, non-member posting, ...)."""


class EmulatorTimeout(TimeoutError):
    """A ``wait_for_*`` helper did not see the expected event in time."""
