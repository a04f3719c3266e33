"""aiohttp application: Bot API endpoint, file downloads, fault application and static files."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.core import Dropped, EmulatorCore
from emulator.errors import ApiError, not_found, unauthorized
from emulator.faults import Fault
from emulator.methods import METHODS, Call
from emulator.models import BotAccount
from emulator.params import read_params

EMU_KEY = web.AppKey("emulator", EmulatorCore)
WEB_DIR = Path(__file__).with_name("web")
MAX_BODY = 64 * 1024 * 1024


def dumps(data: Any) -> str:
    """Compact JSON like Telegram's, keeping non-ASCII text readable."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def api_response(body: dict[str, Any], status: int = 200) -> web.Response:
    """A JSON response with Telegram's envelope."""
    return web.json_response(body, status=status, dumps=dumps)


def drop_connection(request: web.Request) -> web.Response:
    """Close the TCP connection without writing a response."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=499)


async def apply_fault(
    request: web.Request, emu: EmulatorCore, bot: BotAccount | None, method: str, fault: Fault
) -> web.Response:
    """Turn a fault rule into a failure the client can observe."""
    if fault.kind == "error":
        body = fault.error_body()
        emu.log_call(bot, method, {}, status=fault.status, body=body, fault="error")
        if fault.raw_body is not None:
            return web.Response(text=fault.raw_body, status=fault.status, content_type="text/html")
        return api_response(body, fault.status)
    if fault.kind == "retry_after":
        body = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {fault.retry_after}",
            "parameters": {"retry_after": fault.retry_after},
        }
        emu.log_call(bot, method, {}, status=429, body=body, fault="retry_after")
        return api_response(body, 429)
    emu.log_call(bot, method, {}, status=0, body=None, fault=fault.kind)
    if fault.kind == "timeout":
        await emu.hold(fault.hold)
    return drop_connection(request)


async def bot_api(request: web.Request) -> web.Response:
    """``/bot<token>/<method>``: any HTTP verb, any body encoding."""
    emu = request.app[EMU_KEY]
    if not emu.accepting:
        return drop_connection(request)
    name = request.match_info["method"]
    bot = emu.bot_by_token(request.match_info["token"])
    if bot is None:
        error = unauthorized()
        emu.log_call(None, name, {}, status=error.code, body=error.to_json())
        return api_response(error.to_json(), error.code)
    key = name.lower()
    handler = METHODS.get(key)
    if handler is None:
        error = not_found()
        emu.log_call(bot, name, {}, status=error.code, body=error.to_json())
        return api_response(error.to_json(), error.code)
    fault = emu.faults.take(key)
    if fault is not None and not fault.apply:
        return await apply_fault(request, emu, bot, name, fault)
    try:
        params = await read_params(request)
    except ApiError as error:
        emu.log_call(bot, name, {}, status=error.code, body=error.to_json())
        return api_response(error.to_json(), error.code)
    except web.HTTPRequestEntityTooLarge:
        body = {"ok": False, "error_code": 413, "description": "Request Entity Too Large"}
        emu.log_call(bot, name, {}, status=413, body=body)
        return api_response(body, 413)
    try:
        result = handler(Call(emu, bot, params, key))
        if inspect.isawaitable(result):
            result = await result
        body: dict[str, Any] = {"ok": True, "result": result}
        status = 200
    except ApiError as error:
        body, status = error.to_json(), error.code
    except Dropped:
        emu.log_call(bot, name, params.redacted(), status=0, body=None, fault="stopped")
        return drop_connection(request)
    emu.log_call(bot, name, params.redacted(), status=status, body=body)
    if fault is not None:
        return await apply_fault(request, emu, bot, name, fault)
    return api_response(body, status)


async def download(request: web.Request) -> web.StreamResponse:
    """``/file/bot<token>/<file_path>``: the stored bytes."""
    emu = request.app[EMU_KEY]
    if not emu.accepting:
        return drop_connection(request)
    bot = emu.bot_by_token(request.match_info["token"])
    if bot is None:
        return api_response(unauthorized().to_json(), 401)
    fault = emu.faults.take("file")
    if fault is not None:
        return await apply_fault(request, emu, bot, "file", fault)
    stored = emu.files.by_path.get(request.match_info["path"])
    if stored is None or stored.content is None:
        return api_response(not_found().to_json(), 404)
    return web.Response(
        body=stored.content, content_type=stored.mime_type or "application/octet-stream"
    )


async def index(request: web.Request) -> web.StreamResponse:
    """The playground page."""
    return web.FileResponse(WEB_DIR / "index.html")


def build_app(emu: EmulatorCore) -> web.Application:
    """Wire every route of the emulator into one application."""
    from emulator import control  # local import: control depends on the full Emulator

    app = web.Application(client_max_size=MAX_BODY)
    app[EMU_KEY] = emu
    app.router.add_route("*", "/bot{token}/{method:[^/]*}", bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", download)
    app.router.add_get("/", index)
    app.router.add_static("/web/", WEB_DIR, show_index=False)
    control.setup(app)
    return app
