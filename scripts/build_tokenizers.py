"""Build resources/tokenizers/ (the tokenizers sd-scripts needs) from two MIT-licensed wheels.

sd-scripts loads its tokenizers with ``CLIPTokenizer.from_pretrained`` from
``<tokenizer_cache_dir>/<hub id with "/" as "_">/``; without them it asks the Hugging Face
hub on every start and fails offline. The CLIP byte-pair vocabulary ships in PyPI's
``open-clip-torch`` wheel (``open_clip/bpe_simple_vocab_16e6.txt.gz``, MIT licence). This
script turns it into the files ``CLIPTokenizer`` reads, the way open_clip's own
``SimpleTokenizer`` builds its vocabulary: the 256 byte characters, the same with ``</w>``,
the first 48,894 merges, ``<|startoftext|>`` and ``<|endoftext|>`` (49,408 tokens). The
configuration files are written here, not copied. CLIP-L (SD 1.5, SDXL, SD 3.5) and
CLIP-G (SDXL, SD 3.5) share the vocabulary; CLIP-G pads with "!" as its hub files do.

SD 3.5 also needs T5-XXL's tokenizer (``T5TokenizerFast`` from ``google_t5-v1_1-xxl/``). Its
``tokenizer.json`` (Google's T5 SentencePiece vocabulary, 32,000 pieces and 100 extra ids,
Apache-2.0) is embedded as a C byte array in stable-diffusion.cpp (MIT), which PyPI's
``stable-diffusion-cpp-python`` source archive vendors
(``vendor/stable-diffusion.cpp/src/tokenizers/vocab/clip_t5.hpp``, ``t5_tokenizer_json_str``).
This script decodes those bytes unchanged into ``tokenizer.json`` and writes the small
configuration files itself; ``T5TokenizerFast`` needs no ``spiece.model`` (nor protobuf)
when ``tokenizer.json`` is there.

Usage::

    pip download --no-deps -d /tmp/oc open-clip-torch
    pip download --no-deps --no-binary stable-diffusion-cpp-python -d /tmp/sd \\
        stable-diffusion-cpp-python==0.4.7
    python scripts/build_tokenizers.py /tmp/oc/open_clip_torch-*.whl \\
        /tmp/sd/stable_diffusion_cpp_python-*.tar.gz

tests/unit/training/test_tokenizers.py checks the result; tests/contract/test_training.py
proves that sd-scripts trains offline with it.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = REPO / "resources" / "tokenizers"
VOCAB_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
MERGES = 49152 - 256 - 2
SPECIAL = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>"}
FOLDERS = {
    "openai_clip-vit-large-patch14": "<|endoftext|>",
    "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k": "!",
}
T5_FOLDER = "google_t5-v1_1-xxl"
T5_HEADER = "vendor/stable-diffusion.cpp/src/tokenizers/vocab/clip_t5.hpp"
T5_LICENCE = "vendor/stable-diffusion.cpp/LICENSE"
T5_ARRAY = "t5_tokenizer_json_str[]"
T5_EXTRA_IDS = 100


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (as open_clip and HF use it)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def build(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        lines = gzip.decompress(archive.read(VOCAB_MEMBER)).decode("utf-8").split("\n")
        licence = next(
            archive.read(n).decode("utf-8")
            for n in archive.namelist()
            if n.endswith("licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
        )
    merges = [tuple(line.split()) for line in lines[1 : MERGES + 1]]
    base = list(bytes_to_unicode().values())
    vocab = base + [b + "</w>" for b in base] + ["".join(m) for m in merges]
    vocab += [SPECIAL["bos_token"], SPECIAL["eos_token"]]
    encoder = {token: index for index, token in enumerate(vocab)}
    assert len(encoder) == 49408, len(encoder)
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "LICENSE-open_clip.txt").write_text(licence, encoding="utf-8")
    for folder, pad in FOLDERS.items():
        out = TARGET / folder
        out.mkdir(exist_ok=True)
        (out / "vocab.json").write_text(json.dumps(encoder, ensure_ascii=False), "utf-8")
        merges_text = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
        (out / "merges.txt").write_text(merges_text, "utf-8")
        special = {**SPECIAL, "unk_token": SPECIAL["eos_token"], "pad_token": pad}
        (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
        config = {
            "tokenizer_class": "CLIPTokenizer",
            "model_max_length": 77,
            "do_lower_case": True,
            "errors": "replace",
            "add_prefix_space": False,
            **special,
        }
        (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {TARGET}")


def _member(archive: tarfile.TarFile, suffix: str) -> str:
    member = next(m for m in archive.getmembers() if m.name.endswith("/" + suffix))
    handle = archive.extractfile(member)
    assert handle is not None, member.name
    return handle.read().decode("utf-8")


def build_t5(sdist: Path) -> None:
    """``google_t5-v1_1-xxl/`` from stable-diffusion.cpp's embedded T5 ``tokenizer.json``."""
    with tarfile.open(sdist) as archive:
        header = _member(archive, T5_HEADER)
        licence = _member(archive, T5_LICENCE)
    start = header.index("{", header.index(T5_ARRAY)) + 1
    body = header[start : header.index("};", start)]
    data = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})", body)).rstrip(b"\0")
    tokenizer = json.loads(data.decode("utf-8"))
    assert tokenizer["model"]["type"] == "Unigram", tokenizer["model"]["type"]
    assert len(tokenizer["model"]["vocab"]) == 32000 + T5_EXTRA_IDS
    (TARGET / "LICENSE-stable-diffusion.cpp.txt").write_text(licence, encoding="utf-8")
    out = TARGET / T5_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_bytes(data)
    special = {
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "additional_special_tokens": [f"<extra_id_{i}>" for i in range(T5_EXTRA_IDS)],
    }
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    config = {
        "tokenizer_class": "T5Tokenizer",
        "model_max_length": 512,
        "extra_ids": T5_EXTRA_IDS,
        **special,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
    build_t5(Path(sys.argv[2]))
