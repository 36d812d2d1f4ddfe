"""Deleting a run leaves nothing of it in a local ComfyUI's output folder.

The run removes ComfyUI's copies as soon as its own are saved (pipeline/comfy_cleanup), so
the run folder is the only copy and deleting the run deletes the pictures and the prompt
in their metadata everywhere. A remote ComfyUI (no local folder) keeps its files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ai4artsed_desktop.events import RunResult
from ai4artsed_desktop.pipeline.comfy_cleanup import run_prefix
from tests.integration.run_rig import RigFactory, collect


def server_copies(output_dir: Path, run_id: str) -> list[Path]:
    return sorted(p for p in output_dir.rglob(f"{run_prefix(run_id)}*") if p.is_file())


@pytest.mark.asyncio
@pytest.mark.parametrize("output_id", ["sd15", "stable_audio"])
async def test_local_comfyui_keeps_no_copy_and_deleting_the_run_leaves_nothing(
    make_rig: RigFactory, output_id: str
) -> None:
    rig = await make_rig()
    teachers = rig.comfy.output_dir / "ComfyUI_00001_.png"
    teachers.write_bytes(b"a picture made in ComfyUI itself")
    rig.services = dataclasses.replace(rig.services, comfy_output=lambda: rig.comfy.output_dir)
    session = rig.session(output_id=output_id, values={"steps": 2})
    events = await collect(session)
    result = events[-1]
    assert isinstance(result, RunResult), result
    assert result.media
    assert all(m.path.is_file() for m in result.media)
    assert server_copies(rig.comfy.output_dir, session.run_id) == []
    assert teachers.exists()
    rig.store.delete(session.run_id)
    assert not rig.store.folder(session.run_id).exists()
    assert server_copies(rig.comfy.output_dir, session.run_id) == []


@pytest.mark.asyncio
async def test_a_remote_comfyui_keeps_its_files(make_rig: RigFactory) -> None:
    rig = await make_rig()  # comfy_output None: the server's folders are not ours
    session = rig.session(values={"steps": 2})
    events = await collect(session)
    assert isinstance(events[-1], RunResult)
    assert len(server_copies(rig.comfy.output_dir, session.run_id)) == 1
