"""LoRA training: dataset checks, captions, kohya sd-scripts config, progress parsing, service."""
