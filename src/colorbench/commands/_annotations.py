"""--annotations for the commands that read COCO annotations (crops, saliency): only they
import colorbench.detect, so no other stage depends on it. (A leading underscore: cli.py
registers no command from this module.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from colorbench.commands._options import Decorator


def annotations_option(note: str = "") -> Decorator:
    """--annotations [SOURCE=]PATH (repeatable); read them with `parse_annotations`."""
    return click.option(
        "--annotations",
        multiple=True,
        metavar="[SOURCE=]PATH",
        help=f"COCO annotations json per manifest source ({note + '; ' if note else ''}"
        "repeatable); a bare PATH applies to every source.",
    )


def parse_annotations(
    values: tuple[str, ...], prepared: str | Path, params: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """`SOURCE=PATH` pairs, or a bare PATH that applies to every source in the manifest;
    none given: the annotations that the params file's prepare.sources declare."""
    from colorbench.data.manifest import read_manifest

    if not values and params:
        from colorbench.detect.coco import annotations_from_sources

        return annotations_from_sources((params.get("prepare") or {}).get("sources", []))
    out: dict[str, str] = {}
    bare = [v for v in values if "=" not in v]
    for v in values:
        if "=" in v:
            name, path = v.split("=", 1)
            out[name] = path
    if bare:
        if len(bare) > 1:
            raise click.BadParameter(
                "give one bare PATH, or SOURCE=PATH pairs", param_hint="--annotations"
            )
        for source in sorted(set(read_manifest(prepared)["source"])):
            out.setdefault(source, bare[0])
    return out


def run_annotated(
    run: Callable[..., Any],
    prepared: Path,
    out: Path,
    annotations: tuple[str, ...],
    params: Mapping[str, Any],
    options: Mapping[str, Any],
) -> Any:
    """`run(prepared, out, annotations=..., **options)` (crops, saliency), then the list of
    pretrained files it loaded in OUT/weights_loaded.json, which the report shows."""
    from colorbench.weights_manifest import write_ledger

    summary = run(prepared, out, annotations=parse_annotations(annotations, prepared, params),
                  **options)  # fmt: skip
    write_ledger(out)
    return summary
