"""The network half of evaluate: LPIPS, Inception (FID), classifiers (Top-1) and the
profile's evaluator run in the main process on `device`, on batches that DataLoader worker
processes decode (with their pixel metrics) from `PairBatches`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from colorbench.errors import MissingWeightsError
from colorbench.metrics.pixel_batches import PairBatches, batch_indices, by_shape, read_rgb


def read_chw(path: Path) -> torch.Tensor:
    """3xHxW uint8 RGB (grey replicated, alpha on white)."""
    return torch.from_numpy(read_rgb(path)).permute(2, 0, 1)


def _identity(x: Any) -> Any:
    return x


def net_batches(
    ds: PairBatches, batch_size: int, num_workers: int, dev: torch.device
) -> Iterable[dict[str, Any]]:
    """The decoded batches, in order: DataLoader worker processes decode while the main
    process runs the networks (< 0 workers: one per core; 0: in this process). At most 2
    batches per worker are in flight, so memory stays flat in N."""
    from colorbench.parallel import worker_count

    sampler = batch_indices(len(ds), batch_size)
    workers = worker_count(num_workers)
    workers = min(workers, len(sampler)) if len(sampler) > 1 else 0
    if workers == 0:
        return (ds[idxs] for idxs in sampler)
    return DataLoader(
        ds,
        sampler=sampler,
        batch_size=None,
        collate_fn=_identity,
        num_workers=workers,
        pin_memory=dev.type == "cuda",
    )


def _bchw(x: np.ndarray) -> torch.Tensor:
    """BxHxWx3 uint8 array -> contiguous Bx3xHxW uint8 tensor for the networks."""
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


@dataclass
class Nets:
    device: torch.device
    unavailable: dict[str, str] = field(default_factory=dict)
    lpips: torch.nn.Module | None = None
    inception: torch.nn.Module | None = None
    classifier: torch.nn.Module | None = None
    classifier_name: str = ""
    evaluator: torch.nn.Module | None = None
    targets: dict[str, int] = field(default_factory=dict)
    n_unknown_label: int = 0


def _built(cache: dict, key: tuple, build: Callable[[], Any]) -> Any:
    """build() once per `cache` (evaluate-protocols keeps one across its methods and
    protocols: a network is read, checked and constructed once, not per folder). A
    MissingWeightsError is remembered and raised again."""
    if key not in cache:
        try:
            cache[key] = build()
        except MissingWeightsError as exc:
            cache[key] = exc
    if isinstance(cache[key], MissingWeightsError):
        raise cache[key]
    return cache[key]


def setup_nets(
    keys: list[str],
    names: list[str],
    device: torch.device,
    fid_mode: str,
    evaluator_path: str | os.PathLike | None,
    labels: dict[str, str] | None,
    cache: dict | None = None,
) -> Nets:
    """The networks `keys` need, built once per `cache` (a fresh dict: built here)."""
    cache = {} if cache is None else cache
    nets = Nets(device)
    if "lpips" in keys:
        try:
            from colorbench.metrics.lpips_metric import build_lpips

            nets.lpips = _built(cache, ("lpips", str(device)), lambda: build_lpips(device))
        except MissingWeightsError as exc:
            nets.unavailable["lpips"] = str(exc)
    if "fid" in keys:
        if len(names) < 2:
            nets.unavailable["fid"] = "FID needs at least 2 images"
        else:
            try:
                from colorbench.metrics.fid import build_inception

                nets.inception = _built(cache, ("inception", fid_mode, str(device)),
                                        lambda: build_inception(fid_mode, device))  # fmt: skip
            except MissingWeightsError as exc:
                nets.unavailable["fid"] = str(exc)
    evaluator, classes = None, None
    if evaluator_path is not None and ("top1" in keys or "evaluator_fd" in keys):
        from colorbench.metrics.evaluator_net import load_evaluator

        key = ("evaluator", str(Path(evaluator_path).resolve()), str(device))
        evaluator, classes = _built(cache, key, lambda: load_evaluator(evaluator_path, device))
    if "evaluator_fd" in keys:
        if evaluator is None:
            nets.unavailable["evaluator_fd"] = (
                "needs the profile's evaluator classifier (--evaluator models/evaluator.pt)"
            )
        elif len(names) < 2:
            nets.unavailable["evaluator_fd"] = "needs at least 2 images"
        else:
            nets.evaluator = evaluator
    if "top1" in keys:
        _setup_top1(nets, names, evaluator, classes, labels, cache)
    return nets


def _setup_top1(
    nets: Nets,
    names: list[str],
    evaluator: torch.nn.Module | None,
    classes: list[str] | None,
    labels: dict[str, str] | None,
    cache: dict,
) -> None:
    found = {n: labels[n] for n in names if labels and labels.get(n)}
    if not found:
        # Labels given but matching no prediction (e.g. a manifest prepared without labels)
        # must not read as if --labels had been forgotten.
        nets.unavailable["top1"] = (
            f"none of the {len(names)} images has a label among the {len(labels)} given "
            "(check the ids and that the labels are not empty)"
            if labels
            else "no image labels (pass --labels MANIFEST_OR_CSV)"
        )
        return
    if evaluator is not None and classes is not None:
        index = {c: i for i, c in enumerate(classes)}
        nets.classifier, nets.classifier_name = evaluator, "evaluator"
        # A label the evaluator never saw cannot be predicted: it counts as a miss.
        nets.targets = {n: index.get(lab, len(classes)) for n, lab in found.items()}
        nets.n_unknown_label = sum(1 for lab in found.values() if lab not in index)
        return
    from colorbench.metrics.accuracy import VGG16Classifier, imagenet_index

    index = imagenet_index(found.values())
    if index is None:
        nets.unavailable["top1"] = (
            "labels are not ImageNet classes, so VGG-16 cannot score them; Top-1 needs "
            "ImageNet labels or the profile's evaluator (--evaluator)"
        )
        return
    try:
        build = lambda: VGG16Classifier().eval().to(nets.device)  # noqa: E731
        nets.classifier = _built(cache, ("vgg16", str(nets.device)), build)
    except MissingWeightsError as exc:
        nets.unavailable["top1"] = str(exc)
        return
    nets.classifier_name = "vgg16_imagenet"
    nets.targets = {n: index[lab] for n, lab in found.items()}


def _to_float(images: list[np.ndarray], device: torch.device) -> Iterable[tuple]:
    for pos, x in by_shape(images):
        yield pos, _bchw(x).to(device, non_blocking=True).float().div_(255.0)


def run_nets(
    nets: Nets,
    batch: dict[str, Any],
    names: list[str],
    n: int,
    per_image: dict[str, list[np.ndarray]],
    feats: dict,
) -> None:
    dev = nets.device
    if nets.lpips is not None:
        from colorbench.metrics.lpips_metric import lpips_batch

        out = np.empty(n)
        for pos, p, g in by_shape(batch["pred"], batch["gt"]):
            p = _bchw(p).to(dev).float().div_(255.0)
            g = _bchw(g).to(dev).float().div_(255.0)
            out[pos] = lpips_batch(nets.lpips, p, g).double().cpu().numpy()
        per_image["lpips"].append(out)
    if nets.classifier is not None:
        from colorbench.metrics.accuracy import top1_correct

        target = torch.tensor([nets.targets.get(x, -1) for x in names])
        out = np.empty(n)
        for pos, x in _to_float(batch["pred"], dev):
            logits = nets.classifier(x).cpu()
            out[pos] = top1_correct(logits, target[torch.from_numpy(pos)]).numpy()
        per_image["top1"].append(out)
    if nets.inception is not None:
        from colorbench.metrics.fid import inception_features

        for _, x in _to_float(batch["pred"], dev):
            feats["fid_pred"].update(inception_features(nets.inception, x))
        if "fid_gt" in feats:
            for _, x in _to_float(batch["gt"], dev):
                feats["fid_gt"].update(inception_features(nets.inception, x))
    if nets.evaluator is not None:
        for _, x in _to_float(batch["pred"], dev):
            feats["efd_pred"].update(nets.evaluator.features(x))
        if "efd_gt" in feats:
            for _, x in _to_float(batch["gt"], dev):
                feats["efd_gt"].update(nets.evaluator.features(x))


def evaluate_nets(
    pairs: list[tuple[str, Path, Path]],
    names: list[str],
    keys: list[str],
    worker_keys: frozenset[str],
    batch_size: int,
    num_workers: int,
    fid_mode: str,
    evaluator_path: str | os.PathLike | None,
    labels: dict[str, str] | None,
    device: str | torch.device,
    gt_dir: str | os.PathLike,
    cache: dict | None,
    collect: Callable[[dict[str, Any]], None],
    per_image: dict[str, list[np.ndarray]],
    tqdm_kwargs: dict[str, Any],
) -> tuple[Nets, dict, Any, Any]:
    """Evaluate's pass with networks: every batch goes to `collect` (pixel metrics), then
    through the networks. Returns (nets, running feature stats, cached gt FID stats, cached
    gt evaluator stats); `cache` (kept by the caller across calls) keeps the networks and
    the gt statistics this call computed."""
    from tqdm import tqdm

    from colorbench.device import resolve_device
    from colorbench.metrics.frechet import RunningStats

    dev = resolve_device(device) if isinstance(device, str) else device
    cache = cache if cache is not None else {}
    nets = setup_nets(keys, names, dev, fid_mode, evaluator_path, labels, cache)
    cache_key = (str(Path(gt_dir).resolve()), tuple(names), fid_mode)
    gt_fid = cache.get(("fid",) + cache_key) if nets.inception is not None else None
    gt_efd = cache.get(("evaluator_fd",) + cache_key) if nets.evaluator is not None else None

    feats: dict[str, RunningStats] = {}
    if nets.inception is not None:
        feats["fid_pred"] = RunningStats(2048)
        if gt_fid is None:
            feats["fid_gt"] = RunningStats(2048)
    if nets.evaluator is not None:
        dim = nets.evaluator.head.in_features
        feats["efd_pred"] = RunningStats(dim)
        if gt_efd is None:
            feats["efd_gt"] = RunningStats(dim)

    need_pred = any(x is not None for x in (nets.lpips, nets.inception, nets.evaluator,
                                            nets.classifier))  # fmt: skip
    need_gt = nets.lpips is not None or "fid_gt" in feats or "efd_gt" in feats
    ds = PairBatches(pairs, worker_keys, (need_pred, need_gt))
    if need_pred or need_gt:
        batches = net_batches(ds, batch_size, num_workers, dev)
    else:  # every network unavailable: pixel metrics on threads
        from colorbench.metrics.pixel_batches import pixel_batches

        batches = pixel_batches(ds, batch_size, num_workers)
    with torch.inference_mode():
        for batch in tqdm(batches, **tqdm_kwargs):
            collect(batch)
            run_nets(nets, batch, batch["names"], len(batch["names"]), per_image, feats)
    if "fid_gt" in feats:
        cache[("fid",) + cache_key] = feats["fid_gt"]
    if "efd_gt" in feats:
        cache[("evaluator_fd",) + cache_key] = feats["efd_gt"]
    return nets, feats, gt_fid, gt_efd
