"""The tokenizers shipped for sd-scripts (resources/tokenizers) and their writable cache."""

from __future__ import annotations

import json
from pathlib import Path

from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.tokenizers import (
    NEEDED,
    folder_name,
    missing,
    prepare_cache,
    shipped_dir,
)

CLIP_FILES = {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"}


def test_shipped_clip_tokenizers_are_complete_and_licensed() -> None:
    shipped = shipped_dir()
    assert "MIT" in (shipped / "LICENSE-open_clip.txt").read_text("utf-8")
    for hub in ("openai/clip-vit-large-patch14", "laion/CLIP-ViT-bigG-14-laion2B-39B-b160k"):
        folder = shipped / folder_name(hub)
        assert {p.name for p in folder.iterdir()} == CLIP_FILES
        vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
        assert len(vocab) == 49408
        assert vocab["<|startoftext|>"] == 49406
        assert vocab["<|endoftext|>"] == 49407
        merges = (folder / "merges.txt").read_text("utf-8").splitlines()
        assert merges[0] == "#version: 0.2"
        assert len(merges) == 1 + 48894
        config = json.loads((folder / "tokenizer_config.json").read_text("utf-8"))
        assert config["tokenizer_class"] == "CLIPTokenizer"
        assert config["model_max_length"] == 77


def test_cache_gets_the_shipped_tokenizers_and_keeps_what_is_there(tmp_path: Path) -> None:
    cache = prepare_cache(tmp_path / "cache")
    assert missing(ModelFamily.sd15, cache) == []
    assert missing(ModelFamily.sdxl, cache) == []
    assert missing(ModelFamily.sd35, cache) == ["google/t5-v1_1-xxl"]  # not shipped
    clip_l = cache / folder_name(NEEDED[ModelFamily.sd15][0])
    (clip_l / "vocab.json").write_text("{}", "utf-8")  # sd-scripts' own copy wins
    t5 = cache / "google_t5-v1_1-xxl"
    t5.mkdir()
    assert prepare_cache(tmp_path / "cache") == cache
    assert (clip_l / "vocab.json").read_text("utf-8") == "{}"
    assert missing(ModelFamily.sd35, cache) == []
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]
