"""The colorize_* DVC stages (`colorbench colorize-protocol`): one method on one evaluation
protocol's images -> outputs/<protocol>/<method>/.

Method-agnostic: the method comes from colorbench.methods.registry by name, with the model
files the stage passes for the roles it declares and the stage's options; this file never
names one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from colorbench.colorize import DEFAULT_MODEL_SIZE
from colorbench.errors import ColorbenchError
from colorbench.methods.base import ColorizeJob
from colorbench.protocols import Protocol


def _test_ids(
    prepared_dir: Path, protocol: Protocol | None = None, seed: int = 0
) -> tuple[list[str], list[Path], int]:
    """The ids to colorize (the test split, or the protocol's set), their images and size."""
    from colorbench.data.manifest import image_path, read_manifest, select
    from colorbench.protocols import select_rows

    if not (prepared_dir / "manifest.csv").is_file():
        raise ColorbenchError(f"{prepared_dir}/manifest.csv not found; run the prepare stage")
    manifest = read_manifest(prepared_dir)
    if protocol is not None:
        rows = select_rows(manifest, protocol, seed)
    else:
        rows = select(manifest, split="test", role="main")
    if rows.empty:
        raise ColorbenchError(f"no test images in {prepared_dir}; check prepare.split")
    ids = list(rows["id"])
    size = int(rows["width"].iloc[0]) if "width" in rows else DEFAULT_MODEL_SIZE
    return ids, [image_path(prepared_dir, i) for i in ids], size


def run_stage(
    method: str,
    params: dict[str, Any],
    *,
    prepared_dir: str | os.PathLike,
    outputs_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    checkpoints: Mapping[str, str | os.PathLike] | None = None,
    saliency_dir: str | os.PathLike | None = None,
    alpha: str | None = None,
    name: str | None = None,
    protocol: Protocol | None = None,
) -> Path:
    """Colorize the test split (role main) of `prepared_dir`, or with a `protocol` its
    evaluation set (chosen with params' seed), with `method` into `out_dir`/<id>.png
    atomically; returns the output folder.

    outputs_dir: the run's outputs folder (outputs/<protocol>/), where a method reads its
    sibling methods' folders (overlay and fused read fg/ and bg/); out_dir defaults to
    outputs_dir/<the method's folder>. checkpoints: role -> model file, one per role the
    method declares. saliency_dir: the run's saliency-map folder (outputs_saliency/<protocol>/).
    params: the `colorize` section merged with the global keys (batch_size, fusion_strategy,
    external, device, num_workers, seed). `alpha` is the overlay weight as written in
    dvc.yaml (the folder is overlay_a<alpha>); `name` picks an external method from params.
    """
    from colorbench.atomic import atomic_dir
    from colorbench.methods import registry

    chosen = registry.get(method)
    folder = output_name(chosen, method, alpha, name)
    prepared_dir, outputs_dir = Path(prepared_dir), Path(outputs_dir)
    given = {role: Path(path) for role, path in (checkpoints or {}).items()}
    missing = sorted(set(chosen.model_files(folder)) - set(given))
    if missing:
        flags = " ".join(
            "--checkpoint " + ("" if r == "model" else f"{r}=") + "PATH" for r in missing
        )
        raise ColorbenchError(f"{folder} needs {flags}")
    ids, inputs, prepared_size = _test_ids(prepared_dir, protocol, int(params.get("seed", 0)))
    job = ColorizeJob(
        name=folder,
        inputs=inputs,
        ids=ids,
        out_dir=Path(out_dir) if out_dir is not None else outputs_dir / folder,
        checkpoints=given,
        options=dict(params),
        device=str(params.get("device", "auto")),
        batch_size=int(params.get("batch_size", 16)),
        workers=max(1, int(params.get("num_workers", 2) or 1)),
        fallback_size=prepared_size,
        prepared_dir=prepared_dir,
        outputs_dir=outputs_dir,
        saliency_dir=None if saliency_dir is None else Path(saliency_dir),
        protocol=protocol,
    )
    target = job.out_dir
    if chosen.self_atomic:
        chosen.colorize(job)
        return target
    with atomic_dir(target) as tmp:
        job.out_dir = Path(tmp)
        chosen.colorize(job)
    return target


def output_name(method: Any, asked: str, alpha: str | None, name: str | None) -> str:
    """The folder a stage writes: the method's own rule (overlay_a<alpha>, an external
    method's name) or the name asked for."""
    rule = getattr(method, "output_name", None)
    if rule is not None:
        return rule(asked, alpha=alpha, name=name)
    return asked
