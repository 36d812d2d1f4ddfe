r"""A protocol-faithful stand-in for kohya sd-scripts' LoRA trainers (tests and demo mode).

Run it as ``python -m ai4artsed_desktop.simulators.kohya <script> --config_file X [...]``,
where ``<script>`` is ``flux_train_network.py``, ``sd3_train_network.py``,
``sdxl_train_network.py`` or
``train_network.py`` (a path works too: only the file name counts). It follows
protocols.md 4.8: the config's tables are flattened, CLI flags override them, unknown keys
are ignored; ``<repeats>_<tokens>`` folders are scanned; logger lines go to stdout with
``console_log_simple`` (else rich-style to stderr), ``accelerator.print`` lines to stdout,
tqdm bars to stderr with ``\r`` between updates; epoch/step checkpoints and the final
``<output_name>.safetensors`` are real (tensor-less) safetensors files with ``ss_*``
metadata, followed by ``model saved.``. "No data found" exits 0 without a model. SIGTERM
ends it at once (-15); SIGINT raises KeyboardInterrupt in the training loop (-2).
Nothing is saved on either signal.

``python -m ai4artsed_desktop.simulators.kohya --as-accelerate launch [opts] <script> ...``
mimics ``accelerate launch``: the trainer runs as a child, a failing child means exit 1.
:mod:`.kohya_install` writes a fake sd-scripts folder (with a fake venv) around this module.

Environment:

* ``FAKE_KOHYA_STEP_MS``: milliseconds per step, fractions allowed (default 100);
  ``FAKE_KOHYA_STEP_S`` gives seconds per step instead and wins when both are set.
* ``FAKE_KOHYA_FAULT``: ``oom`` (CUDA OOM traceback at step 1), ``missing_model``
  (FileNotFoundError for the base model), ``empty_caption`` (the empty-caption assertion)
  or ``crash`` (a RuntimeError traceback halfway), each exiting 1; ``no_data`` (the
  folders look empty, as with a wrong ``train_data_dir``: "No data found", exit 0).
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .kohya_dataset import (
    Dataset,
    UsageError,
    as_bool,
    as_int,
    config_path,
    flatten,
    from_dataset_config,
    from_folders,
    parse_cli,
)
from .kohya_output import Bar, Console, write_safetensors

SCRIPTS = {
    "sd3_train_network.py": ("sd3", "networks.lora_sd3", ("clip_l", "clip_g", "t5xxl")),
    "flux_train_network.py": ("flux1", "networks.lora_flux", ("clip_l", "t5xxl", "ae")),
    "sdxl_train_network.py": ("sdxl_base_v1-0", "networks.lora", ()),
    "train_network.py": ("sd_v1", "networks.lora", ()),
}
NO_DATA = (
    "No data found. Please verify arguments (train_data_dir must be the parent of folders with "
    "images) / 画像がありません。引数指定を確認してください（train_data_dirには画像があるフォルダ"
    "ではなく、画像があるフォルダの親フォルダを指定する必要があります）"
)


class OutOfMemoryError(RuntimeError):
    """Printed as ``torch.OutOfMemoryError`` in tracebacks, like the real one."""


OutOfMemoryError.__module__ = "torch"


def _step_seconds() -> float:
    if os.environ.get("FAKE_KOHYA_STEP_S"):
        return float(os.environ["FAKE_KOHYA_STEP_S"])
    return float(os.environ.get("FAKE_KOHYA_STEP_MS", "100")) / 1000.0


class Trainer:
    """One simulated training run."""

    def __init__(self, script: str, values: dict[str, Any], console: Console) -> None:
        self.script = script
        self.values = values
        self.console = console
        self.base_version, self.network_module, self.encoders = SCRIPTS[script]
        self.fault = os.environ.get("FAKE_KOHYA_FAULT", "")
        self.step_s = _step_seconds()
        self.started = time.time()
        self.output_dir = Path(str(values.get("output_dir") or "."))
        self.output_name = values.get("output_name") or None
        self._rng = random.Random(42)

    # ------------------------------------------------------------------ phases
    def run(self) -> int:
        """The whole run; returns the exit status (exceptions escape as tracebacks)."""
        dataset = self._prepare_dataset()
        if dataset.total == 0:
            self.console.error(NO_DATA)
            return 0
        self._load_models()
        if as_bool(self.values, "cache_latents"):
            self._cache_latents(dataset)
        self.console.info(f"import network module: {self.network_module}")
        self.console.info("prepare optimizer, data loader etc.")
        per_epoch = dataset.steps_per_epoch()
        epochs = as_int(self.values, "max_train_epochs", None)
        if epochs is not None:
            total = per_epoch * epochs
            label = "override steps. steps for {} epochs is / 指定エポックまでのステップ数: {}"
            self.console.accel(label.format(epochs, total))
        else:
            total = as_int(self.values, "max_train_steps", 1600) or 1600
            epochs = math.ceil(total / per_epoch)
        self._print_running(dataset, per_epoch, epochs, total)
        self._train(epochs, per_epoch, total)
        return 0

    def _prepare_dataset(self) -> Dataset:
        if self.values.get("dataset_config"):
            if self.values.get("train_data_dir"):
                self.console.warning(
                    "ignore following options because config file is found: train_data_dir"
                )
            dataset = from_dataset_config(Path(str(self.values["dataset_config"])), self.values)
        else:
            self.console.info("Using DreamBooth method.")
            dataset = from_folders(self.values)
        if self.fault == "no_data":
            dataset.subsets.clear()
        self.console.info("prepare images.")
        for name in dataset.ignored:
            label = "ignore directory without repeats / 繰り返し回数のないディレクトリを無視します"
            self.console.warning(f"{label}: {name}")
        missing: list[Path] = []
        for subset in dataset.subsets:
            self.console.info(
                f"found directory {subset.image_dir} contains {len(subset.images)} image files"
            )
            missing += self._read_captions(subset.images, subset.caption_extension)
        if missing:
            self.console.warning(
                f"No caption file found for {len(missing)} images. Training will continue without "
                "captions for these images. If class token exists, it will be used. / "
                f"{len(missing)}枚の画像にキャプションファイルが見つかりませんでした。"
            )
            for path in missing[:5]:
                self.console.warning(str(path))
        self.console.info(f"{dataset.total} train images with repeats.")
        self.console.info("0 reg images with repeats.")
        self.console.warning("no regularization images / 正則化画像が見つかりませんでした")
        self._print_dataset(dataset)
        return dataset

    def _read_captions(self, images: list[Path], extension: str) -> list[Path]:
        missing = []
        for image in images:
            caption = image.with_suffix(extension)
            empty = caption.is_file() and not caption.read_text(encoding="utf-8").splitlines()
            if empty or self.fault == "empty_caption":
                raise AssertionError(
                    f"caption file is empty / キャプションファイルが空です: {caption}"
                )
            if not caption.is_file():
                missing.append(image)
        return missing

    def _print_dataset(self, dataset: Dataset) -> None:
        lines = [
            "[Dataset 0]",
            f"  batch_size: {dataset.batch_size}",
            f"  resolution: ({dataset.resolution})",
        ]
        lines += ["  enable_bucket: " + str(as_bool(self.values, "enable_bucket")), ""]
        for index, subset in enumerate(dataset.subsets):
            lines += [
                f"  [Subset {index} of Dataset 0]",
                f'    image_dir: "{subset.image_dir}"',
                f"    image_count: {len(subset.images)}",
                f"    num_repeats: {subset.repeats}",
                f"    class_tokens: {subset.tokens}",
                f"    caption_extension: {subset.caption_extension}",
                "",
            ]
        for line in lines:
            self.console.info(line)
        self.console.info("[Prepare dataset 0]")
        self.console.info("loading image sizes.")
        self.console.info("make buckets")

    def _load_models(self) -> None:
        model = str(self.values.get("pretrained_model_name_or_path") or "")
        self.console.info(f"loading model: {model}")
        for key in ("pretrained_model_name_or_path", *self.encoders):
            raw = self.values.get(key)
            if raw is None:
                continue
            path = str(raw)
            if self.fault == "missing_model" or not Path(path).exists():
                raise FileNotFoundError(2, "No such file or directory", path)

    def _cache_latents(self, dataset: Dataset) -> None:
        self.console.info("caching latents...")
        images = sum(len(s.images) for s in dataset.subsets)
        bar = Bar(images)
        for _ in range(images):
            bar.update(1)
        bar.close()

    def _print_running(self, dataset: Dataset, per_epoch: int, epochs: int, total: int) -> None:
        for line in (
            "running training / 学習開始",
            f"  num train images * repeats / 学習画像の数×繰り返し回数: {dataset.total}",
            "  num validation images * repeats / 学習画像の数×繰り返し回数: 0",
            "  num reg images / 正則化画像の数: 0",
            f"  num batches per epoch / 1epochのバッチ数: {per_epoch}",
            f"  num epochs / epoch数: {epochs}",
            f"  batch size per device / バッチサイズ: {dataset.batch_size}",
            "  gradient accumulation steps / 勾配を合計するステップ数 = 1",
            f"  total optimization steps / 学習ステップ数: {total}",
        ):
            self.console.accel(line)

    # ------------------------------------------------------------------ training loop
    def _train(self, epochs: int, per_epoch: int, total: int) -> None:
        bar = Bar(total, desc="steps")
        save_epochs = as_int(self.values, "save_every_n_epochs", None)
        save_steps = as_int(self.values, "save_every_n_steps", None)
        step, loss = 0, 0.42
        for epoch in range(1, epochs + 1):
            self.console.accel(f"\nepoch {epoch}/{epochs}\n")
            self.console.accel(f"epoch is incremented. current_epoch: {epoch - 1}, epoch: {epoch}")
            for _ in range(per_epoch):
                if step >= total:
                    break
                time.sleep(self.step_s)
                step += 1
                self._fault_at(step, total)
                loss = max(1e-4, loss * 0.993 + self._rng.uniform(-0.004, 0.004))
                # As train_network.py: update(1) redraws the new step with the last step's
                # loss, the step's checkpoint is saved, then set_postfix draws its own loss.
                bar.update(1)
                if save_steps and step % save_steps == 0 and step < total:
                    self._save(self._name(f"step{step:08d}", f"at-step{step:08d}"), step, epoch)
                bar.set_postfix(avr_loss=loss)
            if save_epochs and epoch % save_epochs == 0 and epoch < epochs:
                self._save(self._name(f"{epoch:06d}", f"epoch-{epoch:06d}"), step, epoch)
        self._save(self._name("", "last"), step, epochs)
        self.console.info("model saved.")
        bar.close()  # sd-scripts leaves the bar open; tqdm closes it at exit

    def _fault_at(self, step: int, total: int) -> None:
        if self.fault == "oom" and step == 1:
            raise OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 1.50 GiB. GPU 0 has a total capacity of "
                "23.99 GiB of which 612.00 MiB is free. Of the allocated memory 21.80 GiB is "
                "allocated by PyTorch, and 1.02 GiB is reserved by PyTorch but unallocated."
            )
        if self.fault == "crash" and step == max(1, total // 2):
            raise RuntimeError("simulated trainer crash (FAKE_KOHYA_FAULT=crash)")

    def _name(self, suffix: str, unnamed: str) -> str:
        if self.output_name is None:
            return f"{unnamed}.safetensors"
        name = str(self.output_name)
        return f"{name}-{suffix}.safetensors" if suffix else f"{name}.safetensors"

    def _save(self, file_name: str, step: int, epoch: int) -> None:
        path = self.output_dir / file_name
        self.console.accel(f"\nsaving checkpoint: {path}")
        if as_bool(self.values, "no_metadata"):
            write_safetensors(path, {})
            return
        metadata = {
            "ss_output_name": str(self.output_name or ""),
            "ss_network_module": self.network_module,
            "ss_network_dim": str(as_int(self.values, "network_dim", 4)),
            "ss_network_alpha": str(self.values.get("network_alpha", 1)),
            "ss_base_model_version": self.base_version,
            "ss_steps": str(step),
            "ss_epoch": str(epoch),
            "ss_training_started_at": f"{self.started:.3f}",
            "ss_training_finished_at": f"{time.time():.3f}",
            "ss_mixed_precision": str(self.values.get("mixed_precision", "no")),
        }
        write_safetensors(path, metadata)


def _load_values(cli: dict[str, Any], console: Console) -> dict[str, Any] | None:
    raw = cli.pop("config_file", None)
    if raw is None or raw is True:
        return cli
    path = config_path(str(raw))
    if not path.is_file():
        console.info(f"{path} not found.")
        return None
    console.info(f"Loading settings from {path}...")
    values = flatten(tomllib.loads(path.read_text(encoding="utf-8")))
    values.update(cli)  # command-line flags override the file
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--as-accelerate":
        from .kohya_accelerate import accelerate_main

        return accelerate_main(args[1:])
    script = Path(args[0]).name if args else ""
    if script not in SCRIPTS:
        print(f"usage: kohya simulator <{'|'.join(SCRIPTS)}> --config_file FILE", file=sys.stderr)
        return 2
    try:
        cli = parse_cli(args[1:])
    except UsageError as exc:
        print(f"usage: {script} [-h] ...\n{script}: error: {exc}", file=sys.stderr)
        return 2
    console = Console(script.removesuffix(".py") + ".py")
    values = _load_values(cli, console)
    if values is None:
        return 1
    console.simple = as_bool(values, "console_log_simple")
    return Trainer(script, values, console).run()


if __name__ == "__main__":
    sys.exit(main())
