"""Streaming evaluation of a folder of colourised images against ground truth.

Pairs images by file stem (pred drives) and decodes each pair once, in batches; the workers
that decode a batch also compute its pixel metrics (PSNR, SSIM, colourfulness, CNI) on
uint8 HxWx3 arrays with exact integer numpy kernels. Pixel metrics alone run in worker
threads (decoding and the kernels release the GIL); with networks, DataLoader worker
processes decode while the main process runs the networks (LPIPS, Inception, classifiers)
on `device` and folds set-level features into running sums. Memory is flat in N: at most
2 batches per worker are in flight, per-image rows are a few floats, features live in O(D²)
accumulators.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

from colorbench.errors import ColorbenchError, MissingWeightsError
from colorbench.metrics import stats
from colorbench.metrics.colorfulness import cci_in_range, colorfulness_np
from colorbench.metrics.decode import read_rgb as _read_hwc
from colorbench.metrics.fidelity import SSIM_WIN, psnr_np, ssim_np

log = logging.getLogger(__name__)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# What a requested name switches on (names users type -> metric keys produced).
GROUPS: dict[str, tuple[str, ...]] = {
    "psnr": ("psnr",),
    "ssim": ("ssim",),
    "lpips": ("lpips",),
    "colorfulness": ("colorfulness", "colorfulness_abs", "delta_colorful"),
    "colorfulness_abs": ("colorfulness", "colorfulness_abs", "delta_colorful"),
    "delta_colorful": ("colorfulness", "colorfulness_abs", "delta_colorful"),
    "cci": ("colorfulness", "cci_ratio"),
    "cci_ratio": ("colorfulness", "cci_ratio"),
    "cni": ("cni",),
    "top1": ("top1",),
    "fid": ("fid",),
    "evaluator_fd": ("evaluator_fd",),
}
DEFAULT_METRICS = (
    "psnr", "ssim", "lpips", "colorfulness", "cci", "cni", "top1", "fid", "evaluator_fd",
)  # fmt: skip
# Output order; per-image metrics become csv columns.
ORDER = (
    "psnr", "ssim", "lpips", "colorfulness", "colorfulness_abs", "delta_colorful",
    "cci_ratio", "cni", "top1", "fid", "evaluator_fd",
)  # fmt: skip
PER_IMAGE = ("psnr", "ssim", "lpips", "colorfulness", "colorfulness_abs", "cni", "top1")
PIXEL = frozenset({"psnr", "ssim", "colorfulness", "colorfulness_abs", "cni"})
NETWORK = frozenset({"lpips", "top1", "fid", "evaluator_fd"})


def resolve_metrics(names: Iterable[str] | None) -> list[str]:
    """Requested names -> metric keys produced, in report order."""
    names = list(DEFAULT_METRICS if names is None else names)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise ColorbenchError(
            f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}"
        )
    keys = {k for n in names for k in GROUPS[n]}
    if not keys:
        raise ColorbenchError("no metric requested")
    return [k for k in ORDER if k in keys]


# ---- pairing ------------------------------------------------------------------------------


def index_images(folder: str | os.PathLike, what: str) -> dict[str, Path]:
    """stem -> path of the image files directly inside `folder`, in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ColorbenchError(f"{what} folder {folder} does not exist")
    # os.scandir + plain strings: no stat per file (d_type), no pathlib per comparison;
    # this was ~0.1 ms per image pair with iterdir/sorted(Path).
    with os.scandir(folder) as it:
        names = sorted(e.name for e in it if not e.name.startswith(".") and e.is_file())
    out: dict[str, Path] = {}
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() in IMAGE_EXTS:
            if stem in out:
                raise ColorbenchError(
                    f"{what} folder {folder} has two images named {stem} "
                    f"({out[stem].name}, {name}); keep one"
                )
            out[stem] = folder / name
    return out


def _few(items: Sequence[str], k: int = 5) -> str:
    shown = ", ".join(items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


@dataclass
class Pairing:
    pairs: list[tuple[str, Path, Path]]
    gt_without_pred: int = 0
    pred_ignored: int = 0


def pair_images(
    pred_dir: str | os.PathLike, gt_dir: str | os.PathLike, ids: Sequence[str] | None = None
) -> Pairing:
    """Pair by file stem. Without `ids` every pred needs a gt; with `ids` (e.g. the test
    split) every id needs both, and other preds are ignored."""
    pred = index_images(pred_dir, "prediction")
    gt = index_images(gt_dir, "ground-truth")
    if ids is None:
        missing = [s for s in pred if s not in gt]
        if missing:
            raise ColorbenchError(
                f"{len(missing)} prediction(s) in {pred_dir} have no ground truth of the same "
                f"name in {gt_dir}: {_few(missing)}"
            )
        names = list(pred)
        result = Pairing([(s, pred[s], gt[s]) for s in names])
        result.gt_without_pred = sum(1 for s in gt if s not in pred)
    else:
        no_gt = [s for s in ids if s not in gt]
        if no_gt:
            raise ColorbenchError(f"{len(no_gt)} id(s) have no image in {gt_dir}: {_few(no_gt)}")
        no_pred = [s for s in ids if s not in pred]
        if no_pred:
            raise ColorbenchError(
                f"{pred_dir} lacks {len(no_pred)} of the {len(ids)} images to evaluate: "
                f"{_few(no_pred)}; re-run its colorize stage"
            )
        result = Pairing([(s, pred[s], gt[s]) for s in ids])
        wanted = set(ids)
        result.pred_ignored = sum(1 for s in pred if s not in wanted)
    if not result.pairs:
        raise ColorbenchError(f"no images to evaluate in {pred_dir}")
    return result


# ---- workers: decode once, pixel metrics ----------------------------------------------------


def read_rgb(path: Path) -> np.ndarray:
    """HxWx3 uint8 RGB (grey replicated, alpha on white); see `colorbench.metrics.decode`.

    PIL, not torchvision.io: libpng was no faster here on small files, and importing
    torchvision costs seconds per process.
    """
    return np.array(_read_hwc(path))


def read_chw(path: Path) -> torch.Tensor:
    """3xHxW uint8 RGB (grey replicated, alpha on white)."""
    return torch.from_numpy(read_rgb(path)).permute(2, 0, 1)


def _identity(x: Any) -> Any:
    return x


class _PairBatches(Dataset):
    """Item = a list of pair indices -> one decoded batch with its pixel metrics."""

    def __init__(
        self, pairs: list[tuple[str, Path, Path]], keys: frozenset[str], pixels: tuple[bool, bool]
    ) -> None:
        self.pairs, self.keys, self.pixels = pairs, keys, pixels

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, idxs: list[int]) -> dict[str, Any]:
        try:
            return self._load(idxs)
        except ColorbenchError as exc:
            return {"error": str(exc)}

    def _load(self, idxs: list[int]) -> dict[str, Any]:
        names, preds, gts = [], [], []
        for i in idxs:
            name, pp, gp = self.pairs[i]
            p, g = _decode(pp), _decode(gp)  # HxWx3 uint8
            if p.shape != g.shape:
                raise ColorbenchError(
                    f"{name}: prediction is {p.shape[1]}x{p.shape[0]} but ground truth is "
                    f"{g.shape[1]}x{g.shape[0]}; colorize at the ground-truth size"
                )
            if "ssim" in self.keys and min(p.shape[:2]) < SSIM_WIN:
                raise ColorbenchError(f"{name}: {p.shape[1]}x{p.shape[0]} px is below SSIM's 7x7")
            names.append(name)
            preds.append(p)
            gts.append(g)
        n = len(names)
        values: dict[str, np.ndarray] = {k: np.empty(n) for k in self.keys & PIXEL}
        cf_gt = np.empty(n)
        for pos, p, g in _by_shape(preds, gts):  # BxHxWx3 uint8 each
            if "psnr" in values:
                values["psnr"][pos] = psnr_np(p, g)
            if "ssim" in values:
                values["ssim"][pos] = ssim_np(p, g)
            if "colorfulness" in values:
                m, m_abs = colorfulness_np(p, with_abs="colorfulness_abs" in values)
                values["colorfulness"][pos] = m
                if m_abs is not None:
                    values["colorfulness_abs"][pos] = m_abs
            if "delta_colorful" in self.keys:
                cf_gt[pos] = colorfulness_np(g, with_abs=False)[0]
            if "cni" in values:
                from colorbench.metrics.cni import cni_batch

                values["cni"][pos] = cni_batch(p)
        keep_pred, keep_gt = self.pixels
        return {
            "error": None,
            "names": names,
            "values": values,
            "cf_gt": cf_gt if "delta_colorful" in self.keys else None,
            "pred": preds if keep_pred else None,
            "gt": gts if keep_gt else None,
        }


def _decode(path: Path) -> np.ndarray:
    try:
        return _read_hwc(path)
    except Exception as exc:  # any decoder failure is the file's fault
        raise ColorbenchError(f"cannot decode {path}: {exc}") from exc


def _by_shape(*lists: list[np.ndarray]) -> Iterable[tuple[np.ndarray, ...]]:
    """Group parallel lists of HxWx3 arrays by shape -> (positions, stacked arrays...)."""
    if all(a.shape == lists[0][0].shape for a in lists[0]):  # the usual case: one size
        yield (np.arange(len(lists[0])), *(np.stack(lst) for lst in lists))
        return
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, t in enumerate(lists[0]):
        groups.setdefault(t.shape, []).append(i)
    for pos in groups.values():
        yield (np.array(pos), *(np.stack([lst[i] for i in pos]) for lst in lists))


def _bchw(x: np.ndarray) -> torch.Tensor:
    """BxHxWx3 uint8 array -> contiguous Bx3xHxW uint8 tensor for the networks."""
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def _batches(
    ds: _PairBatches, batch_size: int, num_workers: int, to_nets: bool, dev: torch.device
) -> Iterable[dict[str, Any]]:
    """The decoded batches, in order.

    Pixel metrics only: up to `num_workers` threads (decode and metrics run in zlib, Pillow
    and numpy, which release the GIL), so there is no fork, pickling or worker teardown,
    which cost ~0.1-0.2 s per run with DataLoader processes, as much as 1000 64x64 pairs'
    metrics take on one core. With networks, DataLoader worker processes decode while the
    main process runs them. Either way at most 2 batches per worker are in flight, so
    memory stays flat in N.
    """
    sampler = BatchSampler(SequentialSampler(range(len(ds))), batch_size, drop_last=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    workers = cores if num_workers < 0 else num_workers
    workers = min(workers, len(sampler)) if len(sampler) > 1 else 0
    if to_nets:
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
    # Threads beyond the idle cores only queue for them and evict each other's cache-sized
    # SSIM tiles (measured 10-30% slower than one thread on a busy machine), so take at
    # most the idle cores, as `make -l` does.
    workers = min(workers, _idle_cores(cores))
    if workers <= 1:
        return (ds[idxs] for idxs in sampler)
    return _threaded(ds, sampler, workers)


def _idle_cores(cores: int) -> int:
    """Cores free for this evaluation by the 1-minute load average, at least 1. The load
    counts the calling thread itself (it ran the imports and pairing just before), so
    that one is added back."""
    try:
        busy = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        return cores
    return max(1, min(cores, round(cores - busy) + 1))


def _threaded(
    ds: _PairBatches, sampler: Iterable[list[int]], workers: int
) -> Iterable[dict[str, Any]]:
    """`ds[idxs]` for each sampled batch on `workers` threads, yielded in order."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="colorbench-evaluate") as pool:
        pending: deque = deque()
        try:
            for idxs in sampler:
                pending.append(pool.submit(ds.__getitem__, idxs))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # an error batch stops the caller: drop the batches not yet started
            for f in pending:
                f.cancel()


# ---- networks in the main process ---------------------------------------------------------


@dataclass
class _Nets:
    device: torch.device
    unavailable: dict[str, str] = field(default_factory=dict)
    lpips: torch.nn.Module | None = None
    inception: torch.nn.Module | None = None
    classifier: torch.nn.Module | None = None
    classifier_name: str = ""
    evaluator: torch.nn.Module | None = None
    targets: dict[str, int] = field(default_factory=dict)
    n_unknown_label: int = 0


def _setup_nets(
    keys: list[str],
    names: list[str],
    device: torch.device,
    fid_mode: str,
    evaluator_path: str | os.PathLike | None,
    labels: dict[str, str] | None,
) -> _Nets:
    nets = _Nets(device)
    if "lpips" in keys:
        try:
            from colorbench.metrics.lpips_metric import build_lpips

            nets.lpips = build_lpips(device)
        except MissingWeightsError as exc:
            nets.unavailable["lpips"] = str(exc)
    if "fid" in keys:
        if len(names) < 2:
            nets.unavailable["fid"] = "FID needs at least 2 images"
        else:
            try:
                from colorbench.metrics.fid import build_inception

                nets.inception = build_inception(fid_mode, device)
            except MissingWeightsError as exc:
                nets.unavailable["fid"] = str(exc)
    evaluator, classes = None, None
    if evaluator_path is not None and ("top1" in keys or "evaluator_fd" in keys):
        from colorbench.metrics.evaluator_net import load_evaluator

        evaluator, classes = load_evaluator(evaluator_path, device)
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
        _setup_top1(nets, names, evaluator, classes, labels)
    return nets


def _setup_top1(
    nets: _Nets,
    names: list[str],
    evaluator: torch.nn.Module | None,
    classes: list[str] | None,
    labels: dict[str, str] | None,
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
        nets.classifier = VGG16Classifier().eval().to(nets.device)
    except MissingWeightsError as exc:
        nets.unavailable["top1"] = str(exc)
        return
    nets.classifier_name = "vgg16_imagenet"
    nets.targets = {n: index[lab] for n, lab in found.items()}


def _to_float(images: list[np.ndarray], device: torch.device) -> Iterable[tuple]:
    for pos, x in _by_shape(images):
        yield pos, _bchw(x).to(device, non_blocking=True).float().div_(255.0)


# ---- the engine ---------------------------------------------------------------------------


def evaluate(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    metrics: Iterable[str] | None = None,
    batch_size: int = 32,
    num_workers: int = 2,
    fid_mode: str = "standard",
    evaluator_path: str | os.PathLike | None = None,
    labels: dict[str, str] | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    device: str | torch.device = "auto",
    ids: Sequence[str] | None = None,
    gt_cache: dict | None = None,
    progress: bool = True,
) -> tuple[dict[str, dict], pd.DataFrame]:
    """Evaluate pred_dir against gt_dir.

    Returns (summary, per_image): summary maps each metric key to {"mean", "std", "ci95",
    "n"} (per-image metrics), {"mean", "ci95", "n", ...} (set-level), or
    {"mean": None, "available": False, "reason"} when weights/labels are missing;
    per_image has a column `image` (file stem) and one column per per-image metric.
    `num_workers`: decoding workers (threads for pixel metrics alone, DataLoader processes
    with networks; 0 = in this thread, < 0 = one per available core).
    `ids` restricts evaluation to those stems (all must exist). `gt_cache` (a dict the
    caller keeps across methods with the same gt) saves re-extracting gt features.
    """
    from tqdm import tqdm

    from colorbench.device import resolve_device
    from colorbench.metrics.fid import FID_MODES

    if fid_mode not in FID_MODES:
        raise ColorbenchError(f"unknown --fid-mode {fid_mode!r}; use one of {FID_MODES}")
    keys = resolve_metrics(metrics)
    pairing = pair_images(pred_dir, gt_dir, ids)
    names = [p[0] for p in pairing.pairs]
    if pairing.gt_without_pred:
        log.info("%d ground-truth image(s) have no prediction", pairing.gt_without_pred)
    dev = resolve_device(device) if isinstance(device, str) else device
    nets = _setup_nets(keys, names, dev, fid_mode, evaluator_path, labels)
    cache = gt_cache if gt_cache is not None else {}
    cache_key = (str(Path(gt_dir).resolve()), tuple(names), fid_mode)
    gt_fid = cache.get(("fid",) + cache_key) if nets.inception is not None else None
    gt_efd = cache.get(("evaluator_fd",) + cache_key) if nets.evaluator is not None else None

    from colorbench.metrics.frechet import RunningStats

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
    worker_keys = frozenset(keys) & (PIXEL | {"delta_colorful"})
    if "cni" in worker_keys:
        import colorbench.metrics.cni  # noqa: F401  (imported once here, inherited by workers)

    ds = _PairBatches(pairing.pairs, worker_keys, (need_pred, need_gt))
    batches = _batches(ds, batch_size, num_workers, need_pred or need_gt, dev)

    per_image: dict[str, list[np.ndarray]] = {k: [] for k in keys if k in PER_IMAGE}
    cf_gt: list[np.ndarray] = []
    seen: list[str] = []
    with torch.inference_mode():
        for batch in tqdm(batches, desc=f"evaluate {Path(pred_dir).name}", unit="batch",
                          disable=not progress, leave=False):  # fmt: skip
            if batch["error"]:
                raise ColorbenchError(batch["error"])
            bnames = batch["names"]
            seen.extend(bnames)
            n = len(bnames)
            for k, v in batch["values"].items():
                per_image[k].append(v)
            if batch["cf_gt"] is not None:
                cf_gt.append(batch["cf_gt"])
            _run_nets(nets, batch, bnames, n, per_image, feats)

    summary = _summarize(keys, nets, per_image, cf_gt, feats, gt_fid, gt_efd, fid_mode,
                         bootstrap, seed, len(seen))  # fmt: skip
    if "fid_gt" in feats:
        cache[("fid",) + cache_key] = feats["fid_gt"]
    if "efd_gt" in feats:
        cache[("evaluator_fd",) + cache_key] = feats["efd_gt"]
    df = pd.DataFrame({"image": seen})
    for k, chunks in per_image.items():
        if k not in nets.unavailable:
            df[k] = np.concatenate(chunks)
    df.attrs["pairing"] = {
        "n": len(seen),
        "gt_without_pred": pairing.gt_without_pred,
        "pred_ignored": pairing.pred_ignored,
    }
    return summary, df


def _run_nets(
    nets: _Nets,
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
        for pos, p, g in _by_shape(batch["pred"], batch["gt"]):
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


def _summarize(
    keys: list[str],
    nets: _Nets,
    per_image: dict[str, list[np.ndarray]],
    cf_gt: list[np.ndarray],
    feats: dict,
    gt_fid: Any,
    gt_efd: Any,
    fid_mode: str,
    n_boot: int,
    seed: int,
    n: int,
) -> dict[str, dict]:
    from colorbench.metrics.fid import fid_from_stats
    from colorbench.metrics.frechet import frechet_from_stats

    vals = {k: np.concatenate(v) for k, v in per_image.items() if k not in nets.unavailable}
    mp = vals.get("colorfulness")
    mg = np.concatenate(cf_gt) if cf_gt else None
    hit = cci_in_range(mp) if mp is not None else None
    # Bootstrap statistics over all n images, drawn in one pass (same resamples as a pass
    # each); metrics with undefined or infinite values resample their finite rows apart.
    joint: dict[str, Any] = {}
    for k in keys:
        if k in vals and k not in nets.unavailable and np.isfinite(vals[k]).all():
            joint[k] = lambda idx, v=vals[k]: v[idx].mean(1)
        elif k == "delta_colorful" and k not in nets.unavailable:
            joint[k] = lambda idx: np.abs(mp[idx].mean(1) - mg[idx].mean(1))
        elif k == "cci_ratio" and k not in nets.unavailable:
            joint[k] = lambda idx: hit[idx].mean(1)
    boots = stats.bootstrap_many(joint, n, n_boot, seed) if n > 1 and n_boot > 0 else {}
    out: dict[str, dict] = {}
    for k in keys:
        if k in nets.unavailable:
            out[k] = stats.unavailable(nets.unavailable[k])
        elif k in vals:
            out[k] = stats.summarize(vals[k], n_boot, seed, boot=boots.get(k))
            if k == "top1":
                out[k]["classifier"] = nets.classifier_name
                if nets.n_unknown_label:
                    out[k]["n_unknown_label"] = nets.n_unknown_label
        elif k == "delta_colorful":
            out[k] = stats.summarize_set(abs(mp.mean() - mg.mean()), None, n, n_boot, seed,
                                         boot=boots.get(k))  # fmt: skip
            out[k].update(pred_mean=float(mp.mean()), gt_mean=float(mg.mean()))
        elif k == "cci_ratio":
            out[k] = stats.summarize_set(hit.mean(), None, n, n_boot, seed, boot=boots.get(k))
            out[k]["range"] = [16.0, 20.0]
        elif k == "fid":
            gt = gt_fid if gt_fid is not None else feats["fid_gt"]
            out[k] = {
                "mean": fid_from_stats(feats["fid_pred"], gt, fid_mode),
                "n": n,
                "mode": fid_mode,
            }
        elif k == "evaluator_fd":
            gt = gt_efd if gt_efd is not None else feats["efd_gt"]
            out[k] = {
                "mean": frechet_from_stats(feats["efd_pred"], gt),
                "n": n,
                "features": "evaluator penultimate layer (Frechet distance, not FID)",
            }
    return out
