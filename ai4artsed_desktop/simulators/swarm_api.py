"""The SwarmUI simulator's web application: calling conventions, API routes, file serving."""

from __future__ import annotations

import asyncio
import json
import os
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .swarm_comfy import NO_BACKEND_HTML, ComfyChild
from .swarm_common import (
    VERSION_FULL,
    Knobs,
    RouteError,
    SwarmLog,
    api_error,
    invalid_session,
    json_response,
)
from .swarm_engine import Backend, Engine, SessionStore
from .swarm_models import ModelCatalog
from .swarm_params import build_request
from .swarm_ws import generate_ws

Handler = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]

PERMISSIONS = (
    "fundamental_generate_tab_access",
    "basic_image_generation",
    "fundamental_model_access",
    "view_backends_list",
    "control_model_refresh",
    "interrupt_current_session",
    "control_backends",
    "comfy_direct_calls",
)
ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>SwarmUI - Error</title></head><body>"
    "<h1>Invalid API request</h1><p>API calls must be POST requests with a JSON body.</p>"
    "</body></html>"
)
WS_ROUTES = frozenset({"generatetext2imagews"})


class SwarmServer:
    """All state of one simulator run and the aiohttp application serving it.

    Args:
        log: the console logger.
        knobs: environment knobs.
        data_dir: ``--data_dir``.
        user: ``--user_id``.
        persist: False for ``--no_persist``.
        with_comfy: False for ``--no-comfy`` (a built-in backend, no ComfyUI child).
    """

    def __init__(
        self,
        log: SwarmLog,
        knobs: Knobs,
        data_dir: Path,
        *,
        user: str = "local",
        persist: bool = True,
        with_comfy: bool = True,
    ) -> None:
        self.log = log
        self.knobs = knobs
        self.data_dir = data_dir
        self.user = user
        self.server_id = str(uuid.uuid4())
        self.sessions = SessionStore(data_dir / "Sessions" / "sessions.json" if persist else None)
        self.catalog = ModelCatalog(data_dir / "Models")
        self.catalog.seed()
        self.catalog.refresh()
        kind = "comfyui_selfstart" if with_comfy else "swarmsim_builtin"
        self.backend = Backend(type=kind, status="loading", message="Starting...")
        self.output_root = data_dir / "Output"
        self.engine = Engine(self.backend, self.output_root, user, knobs)
        self.comfy = ComfyChild(log, self.backend, data_dir, knobs) if with_comfy else None
        self.request_counter = 0
        #: Generations whose client left; they run on until done or InterruptAll.
        self.detached: set[asyncio.Future[None]] = set()
        self.stats = {"interrupted": 0, "finished_without_client": 0}
        self.routes: dict[str, Handler] = {
            "getnewsession": self.r_get_new_session,
            "generatetext2image": self.r_generate,
            "listmodels": self.r_list_models,
            "listbackends": self.r_list_backends,
            "getcurrentstatus": self.r_current_status,
            "interruptall": self.r_interrupt_all,
            "freebackendmemory": self.r_free_backend_memory,
            "listloadedmodels": self.r_list_loaded_models,
            "selectmodel": self.r_select_model,
            "triggerrefresh": self.r_trigger_refresh,
        }

    def make_app(self) -> web.Application:
        """The aiohttp application with every route of the simulator."""
        app = web.Application(client_max_size=64 * 1024**2)
        app["server"] = self
        app.router.add_route("*", "/API/{route}", self.api_entry)
        app.router.add_get("/View/{tail:.*}", self.view_file)
        app.router.add_get("/Output/{tail:.*}", self.view_file)
        app.router.add_get("/Error/BasicAPI", self.error_page)
        app.router.add_get("/", self.error_page)
        app.router.add_route("*", "/ComfyBackendDirect/{tail:.*}", self.comfy_direct)
        if self.knobs.control:
            app.router.add_post("/__fake__/expire_sessions", self.fake_expire)
            app.router.add_post("/__fake__/crash", self.fake_crash)
            app.router.add_post("/__fake__/start_backends", self.fake_start_backends)
            app.router.add_get("/__fake__/stats", self.fake_stats)
        return app

    # ------------------------------------------------------------------ conventions

    async def api_entry(self, request: web.Request) -> web.StreamResponse:
        """``/API/<route>``: enforce Swarm's calling conventions, then dispatch."""
        name = request.match_info["route"].lower()
        is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
        if request.method == "GET" and not is_ws:
            self.log.error(f"Invalid API request: GET {request.path} (API calls must be POST)")
            raise web.HTTPFound("/Error/BasicAPI")
        if name in WS_ROUTES:
            if not is_ws:
                return api_error(400, "bad_request_method", "This route is websocket-only.")
            return await generate_ws(self, request)
        handler = self.routes.get(name)
        if is_ws:
            if handler is None:
                return api_error(404, "bad_route", "Unknown API route")
            return api_error(400, "bad_request_method", "This route is HTTP-only.")
        if handler is None:
            return api_error(400, "bad_route", "Unknown API route")
        if request.method != "POST":
            return api_error(400, "bad_request_method", "API calls must be POST requests.")
        body_or_error = await self._read_body(request)
        if isinstance(body_or_error, web.Response):
            return body_or_error
        body = body_or_error
        session_id = ""
        if name != "getnewsession":
            session_id = str(body.get("session_id") or request.headers.get("X-Session-ID", ""))
            if not session_id:
                return api_error(400, "basic_api", "missing session id")
            if not self.sessions.valid(session_id):
                return invalid_session()
        return await self._dispatch(name, handler, body, session_id)

    async def _read_body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.content_type != "application/json":
            return api_error(400, "basic_api", "Wrong content type")
        if request.content_length is None or request.content_length <= 0:
            return api_error(400, "basic_api", "bad content length")
        raw = await request.read()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return api_error(400, "internal_error", "An internal error occurred")
        if not isinstance(body, dict):
            return api_error(400, "basic_api", "null input")
        return body

    async def _dispatch(
        self, name: str, handler: Handler, body: dict[str, Any], session_id: str
    ) -> web.Response:
        try:
            return json_response(await handler(body, session_id))
        except RouteError as exc:
            return json_response({"error": exc.message})
        except Exception:
            self.log.error(f"Internal error processing API route {name}:\n{traceback.format_exc()}")
            return api_error(400, "internal_error", "An internal error occurred")

    async def error_page(self, request: web.Request) -> web.Response:
        """The HTML page GET requests to the API are redirected to."""
        return web.Response(text=ERROR_PAGE, content_type="text/html")

    # ------------------------------------------------------------------ routes

    async def r_get_new_session(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Create a session."""
        return {
            "session_id": self.sessions.new(),
            "user_id": self.user,
            "output_append_user": True,
            "version": VERSION_FULL,
            "server_id": self.server_id,
            "permissions": list(PERMISSIONS),
        }

    async def r_generate(self, body: dict[str, Any], sid: str) -> dict[str, Any]:
        """Blocking text-to-image generation."""
        req = build_request(body, self.catalog, sid, self.log)

        async def ignore(*_args: Any) -> None:
            return None

        result = await self.engine.generate(req, ignore, ignore)
        return {"images": result.images}

    async def r_list_models(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Models of one subtype below a folder."""
        subtype = str(body.get("subtype") or "Stable-Diffusion")
        if subtype not in self.catalog.subtypes():
            raise RouteError(f"Invalid sub-type '{subtype}'.")
        try:
            depth = int(body.get("depth", 3))
        except (TypeError, ValueError) as exc:
            raise RouteError("Invalid value for depth.") from exc
        path = str(body.get("path") or "")
        return self.catalog.listing(subtype, path, depth, self.backend.current_model)

    async def r_list_backends(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """The one backend, keyed by its id string (none on a fresh install)."""
        if self.knobs.no_backends:
            return {}
        backend = self.backend
        idle = int(time.monotonic() - backend.last_used)
        entry: dict[str, Any] = {
            "id": 0,
            "type": backend.type,
            "status": backend.status,
            "settings": {
                "StartScript": "dlbackend/ComfyUI/main.py" if self.comfy else "",
                "ExtraArgs": "",
                "DisableInternalArgs": False,
                "AutoUpdate": False,
                "EnablePreviews": True,
                "GPU_ID": "0",
                "OverQueue": 1,
            },
            "modcount": backend.modcount,
            "features": ["comfyui", "sd3"],
            "enabled": True,
            "title": "",
            "max_usages": 1,
            "seconds_since_used": idle,
            "time_since_used": f"{idle} seconds ago",
            "can_load_models": True,
        }
        if body.get("full_data"):
            entry["current_model"] = backend.current_model
        return {"0": entry}

    async def r_current_status(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Queue counters and backend status."""
        return self.engine.status()

    async def r_interrupt_all(self, body: dict[str, Any], sid: str) -> dict[str, Any]:
        """Cancel this session's (or every session's) generations."""
        self.engine.interrupt(sid, bool(body.get("other_sessions", False)))
        return {"success": True}

    async def r_free_backend_memory(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Unload models on running backends (ComfyUI ``/free``)."""
        if not self.backend.ready.is_set():
            return {"result": False, "count": 0}
        if self.comfy is not None and not await self.comfy.free(bool(body.get("system_ram"))):
            return {"result": False, "count": 0}
        self.backend.current_model = None
        return {"result": True, "count": 1}

    async def r_list_loaded_models(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Models currently loaded on a backend."""
        loaded = self.backend.current_model
        infos = [m for m in self.catalog.models("Stable-Diffusion") if m.name == loaded]
        return {"models": [info.describe(loaded=True) for info in infos]}

    async def r_select_model(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Pre-load a model on the backend."""
        info = self.catalog.find("Stable-Diffusion", str(body.get("model") or ""))
        if info is None:
            raise RouteError("Model not found.")
        if not self.backend.ready.is_set():
            raise RouteError("No backends are available to load the model.")
        self.backend.current_model = info.name
        return {"success": True}

    async def r_trigger_refresh(self, body: dict[str, Any], _sid: str) -> dict[str, Any]:
        """Rescan the model folders."""
        self.catalog.refresh()
        return {"success": True}

    # ------------------------------------------------------------------ files, proxy, hooks

    async def view_file(self, request: web.Request) -> web.StreamResponse:
        """``GET /View/<user>/<path>``: a file from the output folder (no traversal)."""
        tail = request.match_info["tail"]
        parts = tail.split("/")
        if not tail or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            return api_error(400, "bad_path", "Invalid path.")
        if parts[0] != self.user:
            return api_error(400, "unauthorized", "You are not allowed to view that file.")
        root = self.output_root.resolve()
        path = (root / Path(*parts)).resolve()
        if not path.is_relative_to(root):
            return api_error(400, "bad_path", "Invalid path.")
        if not path.is_file():
            return web.Response(status=404, text="404, file not found.", content_type="text/plain")
        return web.FileResponse(path)

    async def comfy_direct(self, request: web.Request) -> web.StreamResponse:
        """``/ComfyBackendDirect/*``: proxied to the ComfyUI child, or 400 HTML without one."""
        if self.comfy is None:
            return web.Response(status=400, text=NO_BACKEND_HTML, content_type="text/html")
        return await self.comfy.proxy(request)

    async def fake_expire(self, request: web.Request) -> web.Response:
        """Control hook: drop every session."""
        return json_response({"expired": self.sessions.expire_all()})

    async def fake_stats(self, request: web.Request) -> web.Response:
        """Control hook: interrupt and "finished after the client left" counters."""
        return json_response(
            {**self.stats, "live_gens": self.engine.live_gens, "detached": len(self.detached)}
        )

    async def fake_start_backends(self, request: web.Request) -> web.Response:
        """Control hook: end the ``FAKE_SWARM_COMFY_DELAY_MS`` wait now."""
        self.backend.start_now.set()
        return json_response({"success": True})

    async def fake_crash(self, request: web.Request) -> web.StreamResponse:
        """Control hook: answer, then exit at once with code 1 (the child dies via PDEATHSIG)."""
        self.log.error("Fatal error (simulated crash requested through /__fake__/crash).")
        response = json_response({"crashing": True})
        await response.prepare(request)
        await response.write_eof()
        os._exit(1)
