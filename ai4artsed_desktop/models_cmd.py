"""``ai4artsed-desktop models list|get|verify``: the model catalogue from the command line.

Exit codes: 0 done (every file asked about is whole), 1 an error (nothing or not everything
could be fetched, a broken catalogue, an unknown name), 2 files are missing or damaged
(``verify``), 3 a licence must be accepted first (``get`` without ``--accept-licence``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .backends import launchers
from .backends.ollama import OllamaClient
from .content.loader import load_content
from .content.schema import ContentLibrary
from .errors import AppError, UserCancelled
from .models.catalogue import Catalogue, ModelFile, load_catalogue
from .models.download import Downloader, DownloadRequest, default_token
from .models.ollama_pull import pull_model
from .models.progress import Phase, TransferProgress
from .models.service import (
    ModelRoots,
    OutputModelsStatus,
    OutputState,
    download_request,
    output_status,
    requests_for,
    roots_from_settings,
)
from .models.verify import FileReport, FileState, verify_files
from .paths import AppPaths, resources_dir
from .settings import load as load_settings

EXIT_OK, EXIT_ERROR, EXIT_DAMAGED, EXIT_LICENCE = 0, 1, 2, 3


def _gb(count: int | None) -> str:
    return "?" if count is None else f"{count / 1e9:.2f} GB"


class _Context:
    def __init__(self, args: argparse.Namespace) -> None:
        paths = AppPaths.from_cli(args.data_dir)
        self.settings = load_settings(paths.settings_file).settings
        self.content: ContentLibrary = load_content(
            resources_dir() / "configs", paths.user_content_dir
        )
        self.catalogue: Catalogue = load_catalogue(Path(args.catalogue) if args.catalogue else None)
        found = roots_from_settings(self.settings)
        self.roots = ModelRoots(
            Path(args.comfyui).expanduser() if args.comfyui else found.comfyui,
            Path(args.swarmui).expanduser() if args.swarmui else found.swarmui,
        )

    def outputs(self) -> list[str]:
        return [o.id for o in self.content.sorted_outputs() if o.id in self.catalogue.outputs]

    async def status(self, output_id: str) -> OutputModelsStatus:
        return await output_status(self.catalogue, self.content.outputs[output_id], self.roots)


def _file_json(file: ModelFile, report: FileReport | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "file": file.name,
        "folder": file.folder,
        "role": file.role,
        "size": file.size,
        "approx_size": file.approx_size,
        "sha256": file.sha256,
        "verified": file.verified,
        "source": file.source,
        "licence": {
            "id": file.licence.id,
            "name": file.licence.name,
            "url": file.licence.url,
            "gated": file.licence.gated,
            "accept": file.licence.accept,
        },
        "urls": list(file.urls),
    }
    if report is not None:
        data.update(
            state=report.state.value,
            path=str(report.path) if report.path else None,
            detail=report.detail,
        )
        if report.sha256 is not None:
            data["sha256_found"] = report.sha256
    return data


def _status_json(status: OutputModelsStatus) -> dict[str, Any]:
    return {
        "output": status.output.id,
        "backend": status.entry.backend,
        "state": status.state.value,
        "reason": status.reason,
        "folder": str(status.folder) if status.folder else None,
        "files": [_file_json(r.file, r) for r in status.files],
    }


def _verified_word(file: ModelFile) -> str:
    return "verified" if file.verified else "unverified"


async def _list(ctx: _Context, as_json: bool, out: TextIO) -> int:
    statuses = [await ctx.status(i) for i in ctx.outputs()]
    if as_json:
        presets = {
            str(p.tier_gb): [
                {
                    "role": m.role,
                    "pull": m.model.name,
                    "approx_size": m.model.approx_size,
                    "licence": m.model.licence.id,
                }
                for m in ctx.catalogue.preset_models(p)
            ]
            for p in sorted(ctx.content.presets.values(), key=lambda p: p.tier_gb)
        }
        json.dump(
            {
                "catalogue": {"schema": ctx.catalogue.schema, "version": ctx.catalogue.version},
                "outputs": [_status_json(s) for s in statuses],
                "ollama_presets": presets,
            },
            out,
            ensure_ascii=False,
            indent=2,
        )
        print(file=out)
        return EXIT_OK
    print(f"Model catalogue {ctx.catalogue.version}", file=out)
    for status in statuses:
        where = f" -> {status.folder}" if status.folder else " (folder not set up)"
        print(f"\n{status.output.id} [{status.state.value}]{where}", file=out)
        if status.reason:
            print(f"  {status.reason}", file=out)
        for report in status.files:
            file = report.file
            print(
                f"  {report.state.value:<13} {file.name}  {_gb(file.approx_size)}  "
                f"{file.licence.name}  ({_verified_word(file)})",
                file=out,
            )
    print("\nOllama models per VRAM preset (ollama pull NAME):", file=out)
    for preset in sorted(ctx.content.presets.values(), key=lambda p: p.tier_gb):
        names = sorted({m.model.name for m in ctx.catalogue.preset_models(preset)})
        print(f"  {preset.tier_gb:>3} GB: {', '.join(names)}", file=out)
    return EXIT_OK


def _select_files(ctx: _Context, items: list[str]) -> list[tuple[str, ModelFile]]:
    """(backend, file) for output ids and file names; raises AppError for unknown ones."""
    chosen: list[tuple[str, ModelFile]] = []
    for item in items or ctx.outputs():
        if item in ctx.catalogue.outputs:
            entry = ctx.catalogue.outputs[item]
            chosen.extend((entry.backend, ctx.catalogue.files[n]) for n in entry.get)
            continue
        file = ctx.catalogue.file(item)
        if file is None:
            raise AppError(
                f"'{item}' is neither an output nor a file of the model catalogue. "
                "'models list' shows both."
            )
        chosen.append(("comfyui", file))
    unique: dict[tuple[str, str], tuple[str, ModelFile]] = {}
    for backend, file in chosen:
        unique.setdefault((backend, file.name), (backend, file))
    return list(unique.values())


async def _verify(ctx: _Context, args: argparse.Namespace, out: TextIO) -> int:
    reports: list[tuple[str, FileReport]] = []
    for backend, file in _select_files(ctx, args.items):
        root = ctx.roots.get(backend)
        if root is None:
            raise AppError(
                f"The {backend} folder is not set; give it with --{backend} DIR or in the settings."
            )
        local = ctx.catalogue.local_models(backend, root)
        (report,) = verify_files([file], local, full=args.full)
        reports.append((backend, report))
    bad = [r for _b, r in reports if r.state not in (FileState.ok, FileState.unverified)]
    if args.json:
        json.dump(
            [{"backend": b, **_file_json(r.file, r)} for b, r in reports],
            out,
            ensure_ascii=False,
            indent=2,
        )
        print(file=out)
    else:
        for _backend, report in reports:
            note = "" if report.file.verified else "  (catalogue entry unverified)"
            print(f"{report.state.value:<13} {report.detail}{note}", file=out)
    return EXIT_DAMAGED if bad else EXIT_OK


class _Printer:
    def __init__(self, as_json: bool, out: TextIO) -> None:
        self.as_json = as_json
        self.out = out

    def event(self, kind: str, **fields: object) -> None:
        if self.as_json:
            print(json.dumps({"event": kind, **fields}, ensure_ascii=False), file=self.out)
            self.out.flush()

    def say(self, text: str) -> None:
        if not self.as_json:
            print(text, file=self.out)
            self.out.flush()

    def progress(self, event: TransferProgress) -> None:
        if self.as_json:
            self.event(
                "progress",
                name=event.name,
                phase=event.phase.value,
                done=event.done,
                total=event.total,
                speed=round(event.speed),
                eta=None if event.eta is None else round(event.eta, 1),
            )
        elif event.phase in (Phase.downloading, Phase.verifying):
            share = f"{event.fraction * 100:5.1f}%" if event.fraction is not None else "     "
            eta = f", {event.eta:.0f} s left" if event.eta is not None else ""
            print(
                f"\r  {share} {_gb(event.done)} at {event.speed / 1e6:.1f} MB/s{eta}   ",
                end="",
                file=self.out,
            )
            self.out.flush()


async def _get(ctx: _Context, args: argparse.Namespace, out: TextIO) -> int:
    printer = _Printer(args.json, out)
    ollama = [i.split("/", 1)[1] for i in args.items if i.startswith("ollama/")]
    files = [i for i in args.items if not i.startswith("ollama/")]
    if args.preset is not None:
        preset = ctx.content.presets.get(args.preset)
        if preset is None:
            raise AppError(f"There is no {args.preset} GB preset.")
        ollama.extend(m.model.name for m in ctx.catalogue.preset_models(preset))
    requests: list[DownloadRequest] = []
    if files or not ollama:
        requests = await _plan(ctx, files)
    licences = {r.name: ctx.catalogue.files[r.name].licence for r in requests}
    ollama_licences = {
        n: ctx.catalogue.ollama[n].licence for n in ollama if n in ctx.catalogue.ollama
    }
    asking = {**licences, **ollama_licences}
    needs = {n: lic for n, lic in asking.items() if lic.accept}
    if needs and not args.accept_licence:
        for name, licence in needs.items():
            printer.say(f"{name}: {licence.name} ({licence.url})\n  {licence.note.en}")
            printer.event("licence", name=name, licence=licence.id, url=licence.url)
        printer.say("\nRead the licences above; run again with --accept-licence to accept them.")
        return EXIT_LICENCE
    token = default_token()
    for request in requests:
        printer.say(f"{request.name} -> {request.target}")
        printer.event("start", name=request.name, target=str(request.target))
        result = await Downloader(request, token=token, listener=printer.progress).run()
        printer.say(
            f"\r  done: {_gb(result.size)}, SHA-256 {result.sha256}"
            + (" (matches the published one)" if result.verified else " (no published hash)")
        )
        printer.event("done", name=request.name, sha256=result.sha256, verified=result.verified)
    if ollama:
        url = _ollama_url(ctx)
        async with OllamaClient(url) as client:
            for name in dict.fromkeys(ollama):
                printer.say(f"ollama pull {name}")
                printer.event("start", name=name, ollama=True)
                await pull_model(client, name, listener=printer.progress)
                printer.say("\r  done.")
                printer.event("done", name=name, ollama=True)
    if not requests and not ollama:
        printer.say("Every file is already here and whole.")
    return EXIT_OK


def _ollama_url(ctx: _Context) -> str:
    backend = ctx.settings.ollama
    if backend.mode == "remote" and backend.url.strip():
        return backend.url.strip().rstrip("/")
    return f"http://127.0.0.1:{launchers.port_for('ollama', backend)}"


async def _plan(ctx: _Context, items: list[str]) -> list[DownloadRequest]:
    """Download requests for the missing or damaged files of outputs (or single files)."""
    requests: list[DownloadRequest] = []
    output_ids = [i for i in items if i in ctx.catalogue.outputs] if items else ctx.outputs()
    names = [i for i in items if i not in ctx.catalogue.outputs]
    for output_id in output_ids:
        status = await ctx.status(output_id)
        if status.state is OutputState.no_folder:
            raise AppError(
                f"The {status.entry.backend} folder is not set; give it with "
                f"--{status.entry.backend} DIR or in the settings."
            )
        requests.extend(requests_for(status))
    for backend, file in _select_files(ctx, names) if names else []:
        root = ctx.roots.get(backend)
        if root is None:
            raise AppError("The ComfyUI folder is not set; give it with --comfyui DIR.")
        local = ctx.catalogue.local_models(backend, root)
        target = ctx.catalogue.target_dir(backend, file.folder, root) / file.name
        (report,) = verify_files([file], local)
        if report.state in (FileState.missing, FileState.damaged, FileState.hash_mismatch):
            requests.append(download_request(file, report.path or target))
    unique: dict[Path, DownloadRequest] = {r.target: r for r in requests}
    return list(unique.values())


def run_models(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run ``models list|get|verify``; returns the exit code."""
    try:
        ctx = _Context(args)
        if args.action == "list":
            return asyncio.run(_list(ctx, args.json, out))
        if args.action == "verify":
            return asyncio.run(_verify(ctx, args, out))
        return asyncio.run(_get(ctx, args, out))
    except UserCancelled:
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\nStopped; a partial download is kept and continues next time.", file=sys.stderr)
        return EXIT_ERROR
    except AppError as exc:
        print(exc.user_message, file=sys.stderr)
        return EXIT_ERROR


__all__ = ["run_models"]
