"""HTTP routes of the ComfyUI simulator (protocols.md §2.2-§2.11), each also under ``/api``."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psutil
from aiohttp import web
from aiohttp.typedefs import Middleware

from .comfy_executor import Executor, QueueItem
from .comfy_faults import Faults
from .comfy_files import upload_image, view_file
from .comfy_hub import SERVER_FEATURES, Hub
from .comfy_registry import FOLDERS, Folders, object_info
from .comfy_settings import FRONTEND_VERSION, VERSION, log
from .comfy_validation import validate_prompt
from .hostile import cut_off, endless_body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MODEL_FOLDER_NAMES = (
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models",
    "clip_vision", "style_models", "embeddings", "diffusers", "vae_approx", "controlnet",
    "gligen", "upscale_models", "latent_upscale_models", "custom_nodes", "hypernetworks",
    "photomaker", "classifiers", "model_patches", "audio_encoders",
)  # fmt: skip


@dataclass
class ServerState:
    """Everything the routes need."""

    folders: Folders
    executor: Executor
    hub: Hub
    faults: Faults
    argv: list[str]
    crash: Callable[[], None]
    number: int = 0


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@web.middleware
async def origin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Anti-CSRF as in ComfyUI: Origin host differing from Host on loopback gives 403."""
    origin, host = request.headers.get("Origin"), request.headers.get("Host")
    if origin and host:
        host_domain: str | None = host.lower()
        parsed = urllib.parse.urlparse(origin)
        origin_domain: str | None = parsed.netloc.lower()
        host_parsed = urllib.parse.urlsplit("//" + host.lower())
        loopback = _is_loopback(host_parsed.hostname)
        if parsed.port is None:
            host_domain = host_parsed.hostname
        if host_parsed.port is None:
            origin_domain = parsed.hostname
        if loopback and host_domain and origin_domain and host_domain != origin_domain:
            log(f"WARNING: request with non matching host and origin {host_domain} != "
                f"{origin_domain}, returning 403")  # fmt: skip
            return web.Response(status=403)
    return await handler(request)


def fault_guard(faults: Faults) -> Middleware:
    """Middleware firing armed ``http500`` / ``malformed`` faults."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix("/api") or "/"
        if faults.enabled and not path.startswith(("/__fake__", "/ws")):
            if faults.take("http500", path=path) is not None:
                text = "500 Internal Server Error\n\nServer got itself in trouble"
                return web.Response(status=500, text=text)
            if faults.take("malformed", path=path) is not None:
                return web.Response(text='{"prompt_id": "', content_type="application/json")
            if faults.take("huge", path=path) is not None:
                return await endless_body(request)
            if faults.take("truncated", path=path) is not None:
                answer = await handler(request)
                if isinstance(answer, web.Response) and isinstance(answer.body, bytes):
                    kind = answer.content_type
                    return await cut_off(request, answer.body, content_type=kind)
                return answer
        return await handler(request)

    return guard


def _stats(state: ServerState) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    settings = state.executor.settings
    return {
        "system": {
            "os": os.name,
            "ram_total": memory.total,
            "ram_free": memory.available,
            "comfyui_version": VERSION,
            "required_frontend_version": FRONTEND_VERSION,
            "installed_templates_version": "0.1.94",
            "required_templates_version": "0.1.94",
            "python_version": sys.version,
            "pytorch_version": "2.8.0+cu128",
            "embedded_python": False,
            "argv": state.argv,
        },
        "devices": [
            {
                "name": "cuda:0 ComfyUI simulator (no GPU used) : cudaMallocAsync",
                "type": "cuda",
                "index": 0,
                "vram_total": settings.vram_mb * 1024 * 1024,
                "vram_free": state.executor.vram_free(),
                "torch_vram_total": sum(state.executor.loaded.values()) * 1024 * 1024,
                "torch_vram_free": 0,
            }
        ],
    }


def _history(executor: Executor, query: Any) -> dict[str, Any]:
    max_items = int(query["max_items"]) if "max_items" in query else None
    offset = int(query["offset"]) if "offset" in query else -1
    if offset < 0 and max_items is not None:
        offset = len(executor.history) - max_items
    out: dict[str, Any] = {}
    for index, (key, entry) in enumerate(executor.history.items()):
        if index >= offset:
            out[key] = entry
            if max_items is not None and len(out) >= max_items:
                break
    return out


class _Routes:
    """Route handlers bound to one :class:`ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.s = state

    async def index(self, request: web.Request) -> web.Response:
        body = "<!DOCTYPE html><html><body><h1>ComfyUI simulator</h1></body></html>"
        return web.Response(text=body, content_type="text/html")

    async def system_stats(self, request: web.Request) -> web.Response:
        return web.json_response(_stats(self.s))

    async def object_info(self, request: web.Request) -> web.Response:
        name = request.match_info.get("node_class")
        return web.json_response(object_info(self.s.folders, name))

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response(list(MODEL_FOLDER_NAMES))

    async def model_folder(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in MODEL_FOLDER_NAMES:
            return web.Response(status=404)
        return web.json_response(self.s.folders.model_files(folder) if folder in FOLDERS else [])

    async def embeddings(self, request: web.Request) -> web.Response:
        names = self.s.folders.model_files("embeddings")
        return web.json_response([os.path.splitext(n)[0] for n in names])

    async def features(self, request: web.Request) -> web.Response:
        return web.json_response(
            {**SERVER_FEATURES, "extension": {"manager": {"supports_v4": True}}}
        )

    async def extensions(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def get_prompt(self, request: web.Request) -> web.Response:
        remaining = self.s.executor.queue_remaining()
        return web.json_response({"exec_info": {"queue_remaining": remaining}})

    async def post_prompt(self, request: web.Request) -> web.Response:
        log("got prompt")
        body = await request.json()  # not JSON: aiohttp answers 500 with a text body
        if not isinstance(body, dict):
            raise web.HTTPInternalServerError()
        if "number" in body:
            number: float = float(body["number"])
        else:
            number = -self.s.number if body.get("front") else self.s.number
            self.s.number += 1
        if "prompt" not in body:
            error = {"type": "no_prompt", "message": "No prompt provided",
                     "details": "No prompt provided", "extra_info": {}}  # fmt: skip
            return web.json_response({"error": error, "node_errors": {}}, status=400)
        prompt = body["prompt"]
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        if not isinstance(prompt, dict):
            prompt = {}
        targets = body.get("partial_execution_targets")
        result = validate_prompt(
            prompt, self.s.folders, targets if isinstance(targets, list) else None
        )
        raw_extra = body.get("extra_data")
        extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
        if "client_id" in body:
            extra["client_id"] = body["client_id"]
        if result.error is not None:
            log(f"invalid prompt: {result.error}")
            return web.json_response(
                {"error": result.error, "node_errors": result.node_errors}, status=400
            )
        self.s.executor.put(QueueItem(number, prompt_id, prompt, extra, result.outputs))
        answer = {"prompt_id": prompt_id, "number": number, "node_errors": result.node_errors}
        return web.json_response(answer)

    async def get_queue(self, request: web.Request) -> web.Response:
        ex = self.s.executor
        running = [ex.running.as_list()] if ex.running is not None else []
        pending = [entry[2].as_list() for entry in ex.pending]
        return web.json_response({"queue_running": running, "queue_pending": pending})

    async def post_queue(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clear"):
            self.s.executor.delete_pending(None)
        if "delete" in body:
            self.s.executor.delete_pending([str(x) for x in body["delete"]])
        return web.Response(status=200)

    async def interrupt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {}
        prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
        self.s.executor.interrupt(str(prompt_id) if prompt_id else None)
        return web.Response(status=200)

    async def get_history(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info.get("prompt_id")
        history = self.s.executor.history
        if prompt_id is None:
            return web.json_response(_history(self.s.executor, request.rel_url.query))
        entry = history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry is not None else {})

    async def post_history(self, request: web.Request) -> web.Response:
        body = await request.json()
        history = self.s.executor.history
        if body.get("clear"):
            history.clear()
        for prompt_id in body.get("delete", []):
            history.pop(str(prompt_id), None)
        return web.Response(status=200)

    async def free(self, request: web.Request) -> web.Response:
        body = await request.json()  # an empty body raises: 500, exactly like ComfyUI
        self.s.executor.request_free(
            bool(body.get("unload_models", False)), bool(body.get("free_memory", False))
        )
        return web.Response(status=200)

    async def view(self, request: web.Request) -> web.StreamResponse:
        return view_file(self.s.folders, request.rel_url.query)

    async def upload(self, request: web.Request) -> web.Response:
        return await upload_image(self.s.folders, request)

    async def fake_fault(self, request: web.Request) -> web.Response:
        try:
            fault = self.s.faults.arm(await request.json())
        except (ValueError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"armed": fault.__dict__})

    async def fake_clear(self, request: web.Request) -> web.Response:
        self.s.faults.clear()
        return web.json_response({"armed": []})

    async def fake_crash(self, request: web.Request) -> web.Response:
        self.s.crash()
        return web.Response(status=200)


def build_app(state: ServerState) -> web.Application:
    """The aiohttp application with every route, also under ``/api``."""
    app = web.Application(
        middlewares=[origin_guard, fault_guard(state.faults)], client_max_size=100 * 1024 * 1024
    )
    r = _Routes(state)
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/ws", state.hub.handle),
        ("GET", "/system_stats", r.system_stats),
        ("GET", "/object_info", r.object_info),
        ("GET", "/object_info/{node_class}", r.object_info),
        ("GET", "/models", r.models),
        ("GET", "/models/{folder}", r.model_folder),
        ("GET", "/embeddings", r.embeddings),
        ("GET", "/features", r.features),
        ("GET", "/extensions", r.extensions),
        ("GET", "/prompt", r.get_prompt),
        ("POST", "/prompt", r.post_prompt),
        ("GET", "/queue", r.get_queue),
        ("POST", "/queue", r.post_queue),
        ("POST", "/interrupt", r.interrupt),
        ("GET", "/history", r.get_history),
        ("GET", "/history/{prompt_id}", r.get_history),
        ("POST", "/history", r.post_history),
        ("POST", "/free", r.free),
        ("GET", "/view", r.view),
        ("POST", "/upload/image", r.upload),
    ]
    for method, path, handler in table:
        app.router.add_route(method, path, handler)
        app.router.add_route(method, "/api" + path, handler)
    app.router.add_route("GET", "/", r.index)
    if state.faults.enabled:
        app.router.add_route("POST", "/__fake__/fault", r.fake_fault)
        app.router.add_route("POST", "/__fake__/clear", r.fake_clear)
        app.router.add_route("POST", "/__fake__/crash", r.fake_crash)
    return app
