"""LoRA injection on random valid API graphs, also with two model sources (base + refiner).

The result must stay a valid graph: every link points at an existing node *and* at an
output that node has, there is no cycle, and every former consumer of each model and CLIP
output now reads the end of that source's LoRA chain. Complements the single-source
property test in tests/unit/pipeline/test_lora.py, whose graph generator is reused here.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.content.workflows import check_graph
from ai4artsed_desktop.pipeline.lora import InjectionResult, LoraSpec, inject_loras
from ai4artsed_desktop.pipeline.workflow import iter_links
from tests.unit.pipeline.test_lora import api_graphs

FUZZ = settings(max_examples=150)
#: How many outputs each node class of the generated graphs has (1 when not listed).
OUTPUTS = {"CheckpointLoaderSimple": 3, "LoraLoader": 2}
Link = tuple[str, int]

specs = st.lists(
    st.builds(
        LoraSpec,
        file=st.from_regex(r"[a-z]{1,8}\.safetensors", fullmatch=True),
        strength_model=st.floats(-2, 2),
        strength_clip=st.floats(-2, 2),
        model_only=st.booleans(),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def two_source_graphs(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """Two checkpoints with their own encoders and sampler; chained or side by side.

    A chained refiner (working on the base latent) is not a primary sampler and keeps its
    checkpoint unpatched (lora.py's rules); two side-by-side pictures get a chain each.
    """
    graph: dict[str, Any] = {}
    counter = iter(range(1, 100))

    def add(class_type: str, **inputs: Any) -> str:
        node_id = str(next(counter))
        graph[node_id] = {"class_type": class_type, "inputs": inputs}
        return node_id

    empty = [add("EmptyLatentImage", width=64, height=64, batch_size=1), 0]
    latent = empty
    chained = draw(st.booleans())  # refiner works on the base latent (else: two pictures)
    for name in ("base", "refiner"):
        latent = latent if chained else empty
        ckpt = add("CheckpointLoaderSimple", ckpt_name=f"{name}.safetensors")
        model: list[Any] = [ckpt, 0]
        if draw(st.booleans()):
            model = [add("ModelSamplingDiscrete", model=model, sampling="eps"), 0]
        texts = [add("CLIPTextEncode", clip=[ckpt, 1], text=t) for t in ("p", "n")]
        latent = [
            add(
                "KSampler", model=model, positive=[texts[0], 0], negative=[texts[1], 0],
                latent_image=latent, seed=1,
            ),
            0,
        ]  # fmt: skip
        if name == "refiner" or not chained or draw(st.booleans()):
            add("SaveImage", images=[add("VAEDecode", samples=latent, vae=[ckpt, 2]), 0])
    order = draw(st.permutations(list(graph)))
    return {node_id: graph[node_id] for node_id in order}, chained


def consumers(graph: dict[str, Any], link: Link) -> set[tuple[str, str]]:
    return {(n, name) for n, name, src, i in iter_links(graph) if (src, i) == link}


def check_valid(graph: dict[str, Any]) -> None:
    check_graph(graph)
    for node_id, _name, source, index in iter_links(graph):
        assert 0 <= index < OUTPUTS.get(graph[source]["class_type"], 1), (node_id, source, index)
    done: set[str] = set()

    def visit(node_id: str, path: tuple[str, ...]) -> None:
        assert node_id not in path, f"cycle through {path}"
        if node_id in done:
            return
        for _n, _name, source, _i in iter_links({node_id: graph[node_id]}):
            visit(source, (*path, node_id))
        done.add(node_id)

    for node_id in graph:
        visit(node_id, ())


def check_rewired(before: dict[str, Any], result: InjectionResult, count: int) -> None:
    graph = result.graph
    chains = [result.applied[i : i + count] for i in range(0, len(result.applied), count)]
    assert len(chains) == len(result.model_sources)
    for source, chain in zip(result.model_sources, chains, strict=True):
        old_users = consumers(before, source)
        assert consumers(graph, source) == {(chain[0].node_id, "model")}
        assert old_users <= consumers(graph, (chain[-1].node_id, 0))
    full = [[lora for lora in chain if not lora.model_only] for chain in chains]
    ends = {(c[-1].node_id, 1) for c in full if c}
    assert len(result.clip_sources) == len(ends)
    for clip in result.clip_sources:
        assert consumers(graph, clip) <= {(c[0].node_id, "clip") for c in full if c}
        users = consumers(before, clip)
        assert all(any(u in consumers(graph, end) for end in ends) for u in users), clip


@FUZZ
@given(case=api_graphs(), loras=specs)
def test_single_source_graphs_stay_valid_with_real_output_indices(
    case: tuple[dict[str, Any], Link, Link | None], loras: list[LoraSpec]
) -> None:
    graph = case[0]
    result = inject_loras(graph, loras)
    check_valid(result.graph)
    check_rewired(graph, result, len(loras))


@FUZZ
@given(case=two_source_graphs(), loras=specs)
def test_each_primary_model_source_gets_a_chain(
    case: tuple[dict[str, Any], bool], loras: list[LoraSpec]
) -> None:
    graph, chained = case
    before = copy.deepcopy(graph)
    result = inject_loras(graph, loras)
    assert graph == before
    check_valid(result.graph)
    sources = 1 if chained else 2
    assert len(result.model_sources) == sources
    assert len(result.applied) == sources * len(loras)
    check_rewired(graph, result, len(loras))
