"""sd-scripts' own SD 3.5 tokenize strategy loads the shipped tokenizers offline.

The app's cache (``prepare_cache``) is handed to the real ``Sd3TokenizeStrategy`` as
``tokenizer_cache_dir`` in the peers venv with ``HF_HUB_OFFLINE=1``: CLIP-L, CLIP-G and
T5-XXL must all come from the cache (sd-scripts logs "load tokenizer from cache" for each and
saves nothing), and a prompt must tokenize to what the three text encoders expect. Without
T5's folder, the real failure (transformers' protobuf ImportError) must be reported as a
tokenizer problem.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ai4artsed_desktop.backends.process_types import ProcessOutcome
from ai4artsed_desktop.training.models import ModelFamily
from ai4artsed_desktop.training.outcome import failure
from ai4artsed_desktop.training.progress import ProgressParser
from ai4artsed_desktop.training.tokenizers import NEEDED, folder_name, prepare_cache
from tests.contract import peers, peers_env

pytestmark = [pytest.mark.real_peers, pytest.mark.timeout(600)]

PROMPT = "a red fox jumps over the lazy dog, watercolor"
SCRIPT = """
import json, sys
from library.strategy_sd3 import Sd3TokenizeStrategy
strategy = Sd3TokenizeStrategy(t5xxl_max_length=256, tokenizer_cache_dir=sys.argv[1])
l, g, t5, l_mask, g_mask, t5_mask = strategy.tokenize(sys.argv[2])
print("RESULT " + json.dumps({
    "l": l[0].tolist(), "g": g[0].tolist(), "t5": t5[0].tolist(),
    "t5_mask": t5_mask[0].tolist(),
    "t5_text": strategy.t5xxl.decode(t5[0], skip_special_tokens=True),
    "l_text": strategy.clip_l.decode(l[0], skip_special_tokens=True),
}))
"""


def _tokenize(cache: Path) -> subprocess.CompletedProcess[str]:
    """sd-scripts' Sd3TokenizeStrategy on ``cache`` in the peers venv, offline."""
    return subprocess.run(
        [str(peers_env.ensure_venv()), "-c", SCRIPT, str(cache), PROMPT],
        cwd=peers.sd_scripts_dir(),
        env=peers.peer_env(
            PYTHONPATH=str(peers.sd_scripts_dir()),
            COLUMNS="1000",  # rich: log lines unwrapped
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_sd_scripts_sd3_strategy_tokenizes_offline_from_the_shipped_cache(tmp_path: Path) -> None:
    cache = prepare_cache(tmp_path / "cache")
    before = sorted(str(p.relative_to(cache)) for p in cache.rglob("*"))
    done = _tokenize(cache)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    for hub in NEEDED[ModelFamily.sd35]:
        assert f"load tokenizer from cache: {cache / folder_name(hub)}" in output, output[-3000:]
    assert "save Tokenizer to cache" not in output
    assert sorted(str(p.relative_to(cache)) for p in cache.rglob("*")) == before

    result = json.loads(
        next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:]
    )
    for key in ("l", "g"):  # CLIP: 77 ids, <|startoftext|> ... <|endoftext|>
        ids = result[key]
        assert len(ids) == 77
        assert ids[0] == 49406
        assert 49407 in ids
    assert result["l_text"] == PROMPT.replace(",", " ,")  # CLIP's decoder spaces punctuation
    t5 = result["t5"]  # T5: 256 ids, text then </s> (1) then <pad> (0), no start token
    length = sum(result["t5_mask"])
    assert len(t5) == 256
    assert 5 < length < 40
    assert t5[length - 1] == 1
    assert set(t5[length:]) == {0}
    assert 2 not in t5  # no <unk>
    assert result["t5_text"] == PROMPT


def test_a_missing_t5_tokenizer_is_reported_as_such(tmp_path: Path) -> None:
    cache = prepare_cache(tmp_path / "cache")
    shutil.rmtree(cache / "google_t5-v1_1-xxl")
    done = _tokenize(cache)
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).splitlines()
    assert any("protobuf" in line for line in lines)  # what transformers says offline
    parser = ProgressParser()
    for line in lines:
        parser.feed_line(line)
    verdict = failure(ProcessOutcome("kohya sd-scripts", done.returncode), parser, lines, None)
    assert verdict.cause == "tokenizer"
    assert "T5-XXL" in verdict.message
