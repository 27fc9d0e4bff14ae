"""Train the synthetic profile's evaluator classifier (stage `train_evaluator`).

A small CNN on the prepared *colour* images of split train (role main) with their `label`,
validated on split val; the checkpoint keeps the best-validation weights:
models/evaluator.pt = {"arch", "config", "state_dict", "classes", "val_acc"}.
Per-epoch metrics go to dvclive (logs/train_evaluator) without touching dvc.yaml.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from colorbench.atomic import atomic_dir, atomic_path
from colorbench.errors import ColorbenchError

log = logging.getLogger(__name__)


class _Labelled(Dataset):
    def __init__(self, paths: list[Path], targets: list[int]) -> None:
        self.paths, self.targets = paths, targets

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from colorbench.metrics.evaluate import read_chw

        img = read_chw(self.paths[i])
        return img, self.targets[i]


def _accuracy(model: torch.nn.Module, loader: DataLoader, device: torch.device) -> float:
    model.eval()
    hits = total = 0
    with torch.inference_mode():
        for x, y in loader:
            logits = model(x.to(device).float().div_(255.0))
            hits += int((logits.argmax(1).cpu() == y).sum())
            total += len(y)
    return hits / total


def train_evaluator(
    prepared_dir: str | os.PathLike,
    out: str | os.PathLike,
    log_dir: str | os.PathLike,
    arch: str = "small_cnn",
    width: int = 32,
    epochs: int = 8,
    batch_size: int = 64,
    lr: float = 0.002,
    seed: int = 0,
    device: str = "auto",
    num_workers: int = 2,
    progress: bool = True,
) -> dict:
    """Train and save the evaluator; returns {"val_acc", "classes", "n_train", "n_val"}.

    `arch: none` (the paper profile: COCO has no image-level labels, Top-1 there needs an
    ImageNet-labelled set and VGG-16) writes a marker checkpoint saying so, so the DAG keeps
    one shape across profiles; evaluate never reads it outside the synthetic profile.
    """
    if arch == "none":
        return _write_no_evaluator(out, log_dir)
    from dvclive import Live
    from tqdm import tqdm

    from colorbench.data.manifest import image_path, read_manifest, select
    from colorbench.device import resolve_device
    from colorbench.metrics.evaluator_net import build

    manifest = read_manifest(prepared_dir)
    train = select(manifest, split="train", role="main")
    train = train[train["label"] != ""]
    classes = sorted(train["label"].unique().tolist())
    if len(classes) < 2:
        raise ColorbenchError(
            f"the train split of {prepared_dir} has {len(classes)} labelled class(es); the "
            "evaluator needs image labels of at least 2 classes"
        )
    index = {c: i for i, c in enumerate(classes)}
    val = select(manifest, split="val", role="main")
    val = val[val["label"].isin(index)]
    size = int(train["width"].iloc[0])

    torch.manual_seed(seed)
    np.random.seed(seed)
    dev = resolve_device(device)

    def loader(df, shuffle: bool) -> DataLoader:
        ds = _Labelled(
            [image_path(prepared_dir, i) for i in df["id"]], [index[c] for c in df["label"]]
        )
        return DataLoader(
            ds,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            pin_memory=dev.type == "cuda",
            generator=torch.Generator().manual_seed(seed),
        )

    train_loader = loader(train, True)
    val_loader = loader(val, False) if len(val) else None
    model = build(arch, len(classes), width, size).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=max(1, epochs * len(train_loader))
    )
    best_acc, best_state = -1.0, copy.deepcopy(model.state_dict())
    val_acc = None
    with atomic_dir(log_dir) as tmp_log:
        live = Live(dir=str(tmp_log), dvcyaml=None, save_dvc_exp=False, report=None)
        for epoch in range(epochs):
            model.train()
            loss_sum = hits = seen = 0
            for x, y in tqdm(train_loader, desc=f"evaluator epoch {epoch + 1}/{epochs}",
                             disable=not progress, leave=False):  # fmt: skip
                x = x.to(dev, non_blocking=True).float().div_(255.0)
                y = y.to(dev)
                flip = torch.rand(len(x), device=dev) < 0.5  # horizontal flips: labels are
                x = torch.where(flip[:, None, None, None], x.flip(-1), x)  # mirror-invariant
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(y)
                hits += int((logits.argmax(1) == y).sum())
                seen += len(y)
            live.log_metric("train/loss", loss_sum / seen)
            live.log_metric("train/acc", hits / seen)
            score = hits / seen
            if val_loader is not None:
                val_acc = _accuracy(model, val_loader, dev)
                live.log_metric("val/acc", val_acc)
                score = val_acc
            log.info("epoch %d: loss %.4f train acc %.3f val acc %s", epoch + 1,
                     loss_sum / seen, hits / seen, val_acc)  # fmt: skip
            if score > best_acc:
                best_acc, best_state = score, copy.deepcopy(model.state_dict())
            live.next_step()
        live.end()
    ckpt = {
        "arch": arch,
        "config": {
            "width": width,
            "size": size,
            "epochs": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
        },  # fmt: skip
        "state_dict": {k: v.cpu() for k, v in best_state.items()},
        "classes": classes,
        "val_acc": best_acc if val_loader is not None else None,
    }
    with atomic_path(out) as tmp:
        torch.save(ckpt, tmp)
    return {
        "val_acc": ckpt["val_acc"],
        "classes": classes,
        "n_train": len(train),
        "n_val": len(val),
    }


def _write_no_evaluator(out: str | os.PathLike, log_dir: str | os.PathLike) -> dict:
    reason = "train_evaluator.arch is none: this profile has no evaluator"
    with atomic_path(out) as tmp:
        torch.save({"arch": "none", "reason": reason, "classes": [], "val_acc": None}, tmp)
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    (Path(log_dir) / "README.txt").write_text(reason + "\n")
    return {"val_acc": None, "classes": [], "n_train": 0, "n_val": 0}
