"""``ai4artsed-desktop configs``: list interception and output configs and skipped files."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from .content.loader import load_content
from .content.schema import ContentLibrary
from .paths import AppPaths, resources_dir


def content_listing(library: ContentLibrary) -> dict[str, Any]:
    """The JSON form of the listing."""
    return {
        "interception": [
            {
                "id": c.id,
                "name": {"de": c.name.de, "en": c.name.en},
                "category": c.category,
                "has_rules": {"de": bool(c.rules.de), "en": bool(c.rules.en)},
                "default_output": c.default_output,
                "builtin": c.builtin,
                "source": str(c.source) if c.source else None,
            }
            for c in library.sorted_interceptions()
        ],
        "outputs": [
            {
                "id": o.id,
                "name": {"de": o.name.de, "en": o.name.en},
                "media": o.media.value,
                "route": o.route.value,
                "enabled": o.enabled,
                "data_protection": o.data_protection.value,
                # Checked against ComfyUI's /object_info once a backend runs; unknown here.
                "availability": None,
                "required_models": [m.file for m in o.required_models],
                # Other names per slot, and other ways of having the models (layouts).
                "model_variants": {m.file: list(m.variants) for m in o.required_models},
                "model_layouts": {
                    lay.id: [m.file for m in lay.required_models] for lay in o.layouts
                },
                "builtin": o.builtin,
            }
            for o in library.sorted_outputs()
        ],
        "skipped": [
            {"file": p.file, "field": p.field, "problem": p.problem}
            for p in library.problems
            if not p.used
        ],
        "ignored_keys": [
            {"file": p.file, "field": p.field, "problem": p.problem}
            for p in library.problems
            if p.used
        ],
    }


def _print_text(library: ContentLibrary, out: TextIO) -> None:
    print("Interception configs (rules):", file=out)
    for c in library.sorted_interceptions():
        origin = "" if c.builtin else "  [user file]"
        print(f"  {c.id:<22} {c.name.de} / {c.name.en}{origin}", file=out)
    print("\nOutput configs:", file=out)
    for o in library.sorted_outputs():
        state = "" if o.enabled else "  (off)"
        print(f"  {o.id:<22} {o.media.value:<6} {o.name.en}{state}", file=out)
    skipped = [p for p in library.problems if not p.used]
    ignored = [p for p in library.problems if p.used]
    if skipped:
        print("\nSkipped files:", file=out)
        for problem in skipped:
            print(f"  {problem}", file=out)
    if ignored:
        print("\nUnknown keys (ignored; misspelt?):", file=out)
        for problem in ignored:
            print(f"  {problem.file}: {problem.field}", file=out)


def run_configs(args: argparse.Namespace) -> int:
    """Print the listing; exit 0 (skipped user files are reported, not fatal)."""
    paths = AppPaths.from_cli(args.data_dir)
    library = load_content(resources_dir() / "configs", paths.user_content_dir)
    if args.json:
        json.dump(content_listing(library), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print_text(library, sys.stdout)
    return 0
