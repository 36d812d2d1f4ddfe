"""Saved runs: one folder per run with ``run.json`` and media, a search index, export."""
