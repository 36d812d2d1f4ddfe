"""The tokenizers shipped for sd-scripts (resources/tokenizers) and their writable cache."""

from __future__ import annotations

import json
from pathlib import Path

from ai4artsed_desktop.backends.process_types import ProcessOutcome
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.outcome import failure
from ai4artsed_desktop.training.progress import ProgressParser
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


T5_FILES = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}


def test_shipped_t5_tokenizer_is_complete_and_licensed() -> None:
    shipped = shipped_dir()
    assert "Apache License" in (shipped / "LICENSE-t5-vocabulary.txt").read_text("utf-8")
    assert "MIT" in (shipped / "LICENSE-stable-diffusion.cpp.txt").read_text("utf-8")
    folder = shipped / folder_name("google/t5-v1_1-xxl")
    assert folder.name == "google_t5-v1_1-xxl"  # sd-scripts' T5_XXL_TOKENIZER_ID, "/" -> "_"
    assert {p.name for p in folder.iterdir()} == T5_FILES
    tokenizer = json.loads((folder / "tokenizer.json").read_text("utf-8"))
    assert tokenizer["model"]["type"] == "Unigram"
    vocab = [piece for piece, _score in tokenizer["model"]["vocab"]]
    assert len(vocab) == 32100
    assert vocab[:3] == ["<pad>", "</s>", "<unk>"]
    assert vocab[32099] == "<extra_id_0>"
    assert vocab[32000] == "<extra_id_99>"
    assert tokenizer["post_processor"]["single"][-1] == {
        "SpecialToken": {"id": "</s>", "type_id": 0}
    }
    config = json.loads((folder / "tokenizer_config.json").read_text("utf-8"))
    assert config["tokenizer_class"] == "T5Tokenizer"
    assert config["extra_ids"] == 100
    assert (config["eos_token"], config["unk_token"], config["pad_token"]) == (
        "</s>",
        "<unk>",
        "<pad>",
    )
    special = json.loads((folder / "special_tokens_map.json").read_text("utf-8"))
    assert len(special["additional_special_tokens"]) == 100


def test_cache_gets_the_shipped_tokenizers_and_keeps_what_is_there(tmp_path: Path) -> None:
    cache = prepare_cache(tmp_path / "cache")
    assert missing(ModelFamily.sd15, cache) == []
    assert missing(ModelFamily.sdxl, cache) == []
    assert missing(ModelFamily.sd35, cache) == []
    clip_l = cache / folder_name(NEEDED[ModelFamily.sd15][0])
    (clip_l / "vocab.json").write_text("{}", "utf-8")  # sd-scripts' own copy wins
    assert prepare_cache(tmp_path / "cache") == cache
    assert (clip_l / "vocab.json").read_text("utf-8") == "{}"
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


#: The end of sd-scripts' output when T5's tokenizer is neither cached nor fetchable
#: (recorded with HF_HUB_OFFLINE=1 and a cache without google_t5-v1_1-xxl/).
OFFLINE_T5_TAIL = (
    'File ".../transformers/tokenization_utils_base.py", line 87, in import_protobuf_decode_error',
    "raise ImportError(PROTOBUF_IMPORT_ERROR.format(error_message))",
    "ImportError: ",
    " requires the protobuf library but it was not found in your environment. Check out "
    "the instructions on the",
    "installation page of its repo: https://github.com/protocolbuffers/protobuf/tree/master/"
    "python#installation and follow the ones",
    "that match your environment. Please note that you may need to restart your runtime "
    "after installation.",
)


def test_a_tokenizer_that_cannot_be_loaded_is_named_not_a_protobuf_error() -> None:
    parser = ProgressParser()
    for line in OFFLINE_T5_TAIL:
        parser.feed_line(line)
    verdict = failure(ProcessOutcome("kohya sd-scripts", 1), parser, OFFLINE_T5_TAIL, None)
    assert verdict.cause == "tokenizer"
    assert "T5-XXL" in verdict.message
    assert "protobuf" not in verdict.message
    assert "'tokenizers'" in verdict.advice
    assert verdict.log_tail == OFFLINE_T5_TAIL  # the raw lines stay in the details


def test_other_crashes_are_not_taken_for_a_tokenizer_problem() -> None:
    tail = ("Traceback (most recent call last):", "RuntimeError: shape mismatch")
    parser = ProgressParser()
    for line in tail:
        parser.feed_line(line)
    verdict = failure(ProcessOutcome("kohya sd-scripts", 1), parser, tail, None)
    assert verdict.cause == "crashed"
    assert verdict.message.endswith("Last error: RuntimeError: shape mismatch")
