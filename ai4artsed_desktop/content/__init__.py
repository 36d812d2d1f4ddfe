"""Content as data: interception configs, output configs, model roles, VRAM presets."""
