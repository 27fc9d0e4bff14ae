"""Method dispatch for `colorbench colorize` and the colorize@<method> DVC stages.

Model methods (unet, fg, bg, scgan, or any checkpoint kind with a registered predictor) run
a checkpoint on images; `overlay` and `fused` combine the fg and bg colorizations; `gray`
and external methods are delegated to colorbench.baselines.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from colorbench.errors import ColorbenchError
from colorbench.infer import (
    DEFAULT_MODEL_SIZE,
    as_device,
    colorize_images,
    fuse_images,
    overlay_images,
)
from colorbench.models import registry
from colorbench.models.checkpoint import Loaded, load_checkpoint
from colorbench.protocols import Protocol

GENERATOR_METHODS = ("unet", "fg", "bg")  # ParaColorizer's colorizers: kind "generator"
COMBINED_METHODS = ("overlay", "fused")
BASELINE_METHODS = ("gray", "external")


def model_size(loaded: Loaded, size: int | None = None, fallback: int = DEFAULT_MODEL_SIZE) -> int:
    """The size the model sees: explicit > checkpoint meta `image_size` (the training size)
    > config `size` > fallback."""
    for value in (size, loaded.meta.get("image_size"), loaded.config.get("size"), fallback):
        if value:
            return int(value)
    return fallback


def _load(
    checkpoint: str | os.PathLike, device: str | torch.device, kind: str | None, user: str
) -> tuple[Loaded, torch.device]:
    """The checkpoint on the resolved device; when `kind` is given the checkpoint must hold
    that kind (`user` names who needs it in the error)."""
    device = as_device(device)
    loaded = load_checkpoint(checkpoint, device)
    if kind is not None and loaded.kind != kind:
        raise ColorbenchError(
            f"{user} needs a {kind} checkpoint; {checkpoint} holds kind {loaded.kind!r}"
        )
    return loaded, device


def colorize_with_checkpoint(
    checkpoint: str | os.PathLike,
    paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    method: str | None = None,
    size: int | None = None,
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    names: Sequence[str] | None = None,
    workers: int = 2,
    fallback_size: int = DEFAULT_MODEL_SIZE,
    rejects: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Load a colorizer checkpoint (any kind with a predictor) and colorize `paths`."""
    # unet/fg/bg hold generators; any other method names its checkpoint kind (e.g. scgan),
    # so a checkpoint of the wrong network is refused instead of silently used.
    needed = "generator" if method in GENERATOR_METHODS else method
    loaded, device = _load(checkpoint, device, needed, f"--method {method}")
    trained_as = loaded.meta.get("name")  # unet | fg | bg for colorbench's own generators
    if method in GENERATOR_METHODS and trained_as in GENERATOR_METHODS and trained_as != method:
        raise ColorbenchError(
            f"--method {method}: {checkpoint} is the {trained_as!r} generator (trained by "
            f"train_{trained_as}); use --method {trained_as}, or the {method} model "
            f"(models/{method}.pt)"
        )
    predictor = registry.predictor(loaded.kind)
    return colorize_images(
        loaded.model,
        paths,
        out_dir,
        model_size(loaded, size, fallback_size),
        batch_size,
        device,
        predictor=predictor,
        names=names,
        workers=workers,
        rejects=rejects,
    )


def fuse_with_checkpoint(
    checkpoint: str | os.PathLike,
    fg_paths: Sequence[str | os.PathLike],
    bg_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    strategy: str = "l1norm",
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    names: Sequence[str] | None = None,
    workers: int = 2,
) -> list[Path]:
    loaded, device = _load(checkpoint, device, "fusion", "fused")
    return fuse_images(
        loaded.model,
        fg_paths,
        bg_paths,
        out_dir,
        strategy,
        batch_size,
        device,
        names=names,
        workers=workers,
    )


# ---- the DVC stage ----------------------------------------------------------------------


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


def _colorized(folder: Path, ids: list[str]) -> list[Path]:
    paths = [folder / f"{i}.png" for i in ids]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ColorbenchError(
            f"{len(missing)} test image(s) missing in {folder} (e.g. {missing[0].name}); "
            f"run its colorize stage first"
        )
    return paths


def run_stage(
    method: str,
    params: dict[str, Any],
    *,
    alpha: str | None = None,
    name: str | None = None,
    prepared_dir: str | os.PathLike = "data/prepared",
    models_dir: str | os.PathLike = "models",
    outputs_dir: str | os.PathLike = "outputs",
    saliency_dir: str | os.PathLike = "outputs_saliency",
    protocol: Protocol | None = None,
) -> Path:
    """Colorize the test split (role main) of `prepared_dir` with `method` into
    outputs/<method>/<id>.png atomically; returns the output folder. With a `protocol`,
    its evaluation set (chosen with params' seed) into outputs/<protocol>/<method>/.

    params: the `colorize` section merged with the global keys (batch_size, fusion_strategy,
    external, device, num_workers). `alpha` is the overlay weight as written in dvc.yaml
    (the folder is overlay_a<alpha>); `name` picks an external method from params.
    """
    from colorbench.atomic import atomic_dir

    prepared_dir, models_dir, outputs_dir = Path(prepared_dir), Path(models_dir), Path(outputs_dir)
    saliency_dir = Path(saliency_dir)
    if protocol is not None:
        outputs_dir, saliency_dir = outputs_dir / protocol.name, saliency_dir / protocol.name
    ids, inputs, prepared_size = _test_ids(prepared_dir, protocol, int(params.get("seed", 0)))
    batch_size = int(params.get("batch_size", 16))
    device = str(params.get("device", "auto"))
    workers = max(1, int(params.get("num_workers", 2) or 1))

    if method == "gray":
        from colorbench.baselines import write_gray

        target = outputs_dir / "gray"
        write_gray(prepared_dir, target, workers=workers, ids=ids)  # atomic itself
        return target
    if method == "external":
        external = params.get("external") or {}
        if not name or name not in external:
            raise ColorbenchError(
                f"external method {name!r} is not declared in params colorize.external "
                f"({sorted(external)})"
            )
        from colorbench.baselines import import_external

        target = outputs_dir / name
        import_external(external[name], prepared_dir, target, workers=workers, ids=ids)
        return target

    if method == "scgan":  # scgan (RGB as generated), scgan_l (input L) and saliency maps
        from colorbench.scgan_infer import colorize_scgan

        target = outputs_dir / "scgan"
        colorize_scgan(
            models_dir / "scgan.pt",
            prepared_dir,
            target,
            saliency_dir / "scgan",
            batch_size,
            device,
            out_l_dir=outputs_dir / "scgan_l",
            workers=workers,
            ids=ids,
        )
        return target

    if method == "overlay":
        if alpha is None:
            raise ColorbenchError("overlay needs --alpha")
        try:
            weight = float(alpha)
        except ValueError as exc:
            raise ColorbenchError(f"--alpha must be a number, got {alpha!r}") from exc
        fg, bg = _colorized(outputs_dir / "fg", ids), _colorized(outputs_dir / "bg", ids)
        target = outputs_dir / f"overlay_a{alpha}"
        with atomic_dir(target) as tmp:
            overlay_images(fg, bg, tmp, weight, names=ids)
        return target
    if method == "fused":
        fg, bg = _colorized(outputs_dir / "fg", ids), _colorized(outputs_dir / "bg", ids)
        target = outputs_dir / "fused"
        with atomic_dir(target) as tmp:
            fuse_with_checkpoint(
                models_dir / "fusion.pt",
                fg,
                bg,
                tmp,
                strategy=str(params.get("fusion_strategy", "l1norm")),
                batch_size=batch_size,
                device=device,
                names=ids,
                workers=workers,
            )
        return target

    target = outputs_dir / method
    with atomic_dir(target) as tmp:
        colorize_with_checkpoint(
            models_dir / f"{method}.pt",
            inputs,
            tmp,
            method=method,
            batch_size=batch_size,
            device=device,
            names=ids,
            workers=workers,
            fallback_size=prepared_size,
        )
    return target
