"""Build resources/tokenizers/ (the CLIP tokenizers sd-scripts needs) from open-clip-torch.

sd-scripts loads its tokenizers with ``CLIPTokenizer.from_pretrained`` from
``<tokenizer_cache_dir>/<hub id with "/" as "_">/``; without them it asks the Hugging Face
hub on every start and fails offline. The CLIP byte-pair vocabulary ships in PyPI's
``open-clip-torch`` wheel (``open_clip/bpe_simple_vocab_16e6.txt.gz``, MIT licence). This
script turns it into the files ``CLIPTokenizer`` reads, the way open_clip's own
``SimpleTokenizer`` builds its vocabulary: the 256 byte characters, the same with ``</w>``,
the first 48,894 merges, ``<|startoftext|>`` and ``<|endoftext|>`` (49,408 tokens). The
configuration files are written here, not copied. CLIP-L (SD 1.5, SDXL, SD 3.5) and
CLIP-G (SDXL, SD 3.5) share the vocabulary; CLIP-G pads with "!" as its hub files do.

Usage::

    pip download --no-deps -d /tmp/oc open-clip-torch
    python scripts/build_tokenizers.py /tmp/oc/open_clip_torch-*.whl

tests/unit/training/test_tokenizers.py checks the result; tests/contract/test_training.py
proves that sd-scripts trains offline with it.
"""

from __future__ import annotations

import gzip
import json
import sys
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


if __name__ == "__main__":
    build(Path(sys.argv[1]))
