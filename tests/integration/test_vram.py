"""The VRAM arbiter against a real Ollama simulator; GPU numbers follow what Ollama holds."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from ai4artsed_desktop.backends.ollama import OllamaClient
from ai4artsed_desktop.backends.vram import ComfyMemory, OllamaMemory, VramArbiter
from ai4artsed_desktop.errors import InsufficientResources
from ai4artsed_desktop.system.gpu import GpuInfo, GpuProcess, GpuSnapshot
from tests.integration.conftest import OllamaSim

GIB = 2**30
TOTAL = 24 * GIB
BASE_USED = GIB // 2


class OllamaBackedGpu:
    """A GPU whose used memory is what the Ollama simulator reports as loaded (+ a base)."""

    def __init__(self, sim: OllamaSim, *, stuck_bytes: int = 0) -> None:
        self.url = sim.base_url
        self.stuck_bytes = stuck_bytes

    def snapshot(self) -> GpuSnapshot:
        with httpx.Client(trust_env=False, timeout=5) as client:
            models = client.get(self.url + "/api/ps").json()["models"]
        used = BASE_USED + self.stuck_bytes + sum(m["size_vram"] for m in models)
        procs = (
            (GpuProcess(4242, "python3 (ComfyUI)", self.stuck_bytes),) if self.stuck_bytes else ()
        )
        gpu = GpuInfo(0, "Sim GPU", "GPU-sim", TOTAL, used, TOTAL - used, processes=procs)
        return GpuSnapshot("sim", (gpu,))


async def _load(client: OllamaClient, *models: str) -> None:
    for model in models:
        await client.load(model, keep_alive="10m")


@pytest.mark.asyncio
async def test_release_unloads_ollama_and_waits_until_memory_dropped(ollama_sim: OllamaSim) -> None:
    async with OllamaClient(ollama_sim.base_url) as client:
        await _load(client, "qwen3:8b", "llama3.2:3b")
        loaded: Sequence[object] = await client.ps()
        assert len(loaded) == 2

        async def running() -> OllamaMemory | None:
            return client

        arbiter = VramArbiter(OllamaBackedGpu(ollama_sim), ollama=running, poll_interval=0.02)
        before = await arbiter.report()
        assert before.source == "nvml"
        assert {h.name for h in before.holders} == {
            "Ollama model qwen3:8b",
            "Ollama model llama3.2:3b",
        }
        after = await arbiter.release(for_="training")
        assert after.free_bytes == TOTAL - BASE_USED
        assert after.holders == ()
        assert await client.ps() == []


@pytest.mark.asyncio
async def test_ensure_free_is_a_no_op_when_enough_is_free(ollama_sim: OllamaSim) -> None:
    async with OllamaClient(ollama_sim.base_url) as client:
        await _load(client, "qwen3:8b")

        async def running() -> OllamaMemory | None:
            return client

        arbiter = VramArbiter(OllamaBackedGpu(ollama_sim), ollama=running)
        report = await arbiter.ensure_free(4 * GIB, for_="an image")
        assert [m.name for m in await client.ps()] == ["qwen3:8b"]
        assert report.free_bytes is not None
        assert report.free_bytes >= 4 * GIB


@pytest.mark.asyncio
async def test_memory_held_by_someone_else_times_out_with_a_clear_message(
    ollama_sim: OllamaSim,
) -> None:
    gpu = OllamaBackedGpu(ollama_sim, stuck_bytes=22 * GIB)
    freed: list[bool] = []

    async def free() -> None:
        freed.append(True)

    async def vram() -> tuple[int, int] | None:
        return None

    async def comfy() -> ComfyMemory | None:
        return ComfyMemory(vram=vram, free=free)

    arbiter = VramArbiter(gpu, comfy=comfy, poll_interval=0.01)
    with pytest.raises(InsufficientResources) as info:
        await arbiter.ensure_free(20 * GIB, for_="training", within=0.2)
    assert freed == [True]
    message = info.value.user_message
    assert "training" in message
    assert "python3 (ComfyUI)" in message
    assert "20.0 GB needed" in message


@pytest.mark.asyncio
async def test_without_any_gpu_release_still_unloads(ollama_sim: OllamaSim) -> None:
    class NoGpu:
        def snapshot(self) -> None:
            return None

    async with OllamaClient(ollama_sim.base_url) as client:
        await _load(client, "qwen3:8b")

        async def running() -> OllamaMemory | None:
            return client

        report = await VramArbiter(NoGpu(), ollama=running).release(for_="training")
        assert report.source == "none"
        assert report.free_bytes is None
        assert await client.ps() == []
        assert "cannot be measured" in report.describe()
