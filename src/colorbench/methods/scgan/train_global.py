"""Pretrain SCGAN's global-feature network (VGG-16-Gray) as a classifier on gray images.

Data: prepared train images of role main, converted to L (L/50 − 1, as the generator sees
them), labels from the manifest's `label` column (rows without a label are skipped).
Cross-entropy, Adam(lr), cosine decay over the epochs, on the shared loop. The val split's
Top-1 accuracy is logged each epoch. Before saving, BatchNorm statistics are recomputed
exactly over the training images (the generator uses the network frozen, in eval mode). Output: models/global.pt (kind "global_net", config
{width, num_classes}, meta with the class names in logit order).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from colorbench.errors import ColorbenchError
from colorbench.train.common import TrainRun, open_loop, positive, require, save_trained
from colorbench.train.data import PreparedImages
from colorbench.train.loop import Phase, StepContext

REQUIRED = ("width", "epochs", "batch_size", "lr")
KIND = "global_net"


class LabelledGray(PreparedImages):
    """Prepared images with a target: an integer class, or a multi-hot float vector
    (multi-label); samples carry "L" and "label"."""

    def __init__(
        self,
        prepared_dir: str | os.PathLike,
        ids: Sequence[str],
        labels: Sequence[Any],
        *,
        size: int,
        seed: int = 0,
        flip: bool = True,
    ) -> None:
        super().__init__(prepared_dir, ids, size=size, seed=seed, flip=flip, salt="global")
        multi = len(labels) > 0 and isinstance(labels[0], (list, tuple, np.ndarray))
        self.labels = torch.tensor(np.asarray(labels), dtype=torch.float32 if multi else torch.long)

    def getitem_epoch(self, index: int, epoch: int) -> dict[str, Any]:
        sample = super().getitem_epoch(index, epoch)
        return {"L": sample["L"], "label": self.labels[index]}


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class targets, per-category binary cross-entropy for multi-hot."""
    if target.is_floating_point():
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.cross_entropy(logits, target)


def _hits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 where the top-scoring class is the image's class (multi-label: one of its classes)."""
    top = logits.argmax(1)
    if target.is_floating_point():
        return target.gather(1, top[:, None])[:, 0] > 0.5
    return top == target


class _EvalContext:
    """The two things GlobalSteps.evaluate needs from a StepContext, outside the loop."""

    def __init__(self, net: torch.nn.Module, device: torch.device) -> None:
        self.net, self.device = net, device

    def unwrap(self, _name: str) -> torch.nn.Module:
        return self.net


class GlobalSteps:
    def __init__(self, eval_set: LabelledGray | None) -> None:
        self.eval_set = eval_set

    def step(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        with ctx.autocast():
            logits = ctx.module("net")(batch["L"])
        loss = _loss(logits.float(), batch["label"])
        ctx.zero_grad("opt")
        ctx.backward(loss, "classification loss")
        ctx.step("opt")
        acc = _hits(logits.detach(), batch["label"]).float().mean()
        return {"loss": loss.detach(), "acc": acc}

    @torch.no_grad()
    def evaluate(self, ctx: StepContext | _EvalContext) -> dict[str, float]:
        if self.eval_set is None or len(self.eval_set) == 0:
            return {}
        net = ctx.unwrap("net")
        correct = 0
        for start in range(0, len(self.eval_set), 64):
            items = [self.eval_set[i] for i in range(start, min(start + 64, len(self.eval_set)))]
            x = torch.stack([it["L"] for it in items]).to(ctx.device)
            y = torch.stack([it["label"] for it in items]).to(ctx.device)
            correct += int(_hits(net(x), y).sum())
        return {"val_top1": correct / len(self.eval_set)}


def recalibrate_batchnorm(
    net: torch.nn.Module, dataset: LabelledGray, device: torch.device, limit: int = 2048
) -> None:
    """Replace BatchNorm running statistics by exact averages over (up to `limit`) training
    images. A short run leaves the momentum averages lagging behind the weights, and the
    generator uses this network frozen, in eval mode, so those statistics matter."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = the plain mean over batches
    was_training = net.training
    net.train()
    n = min(len(dataset), limit)
    with torch.no_grad():
        for start in range(0, n, 64):
            idx = range(start, min(start + 64, n))
            if len(idx) < 2:
                break
            net(torch.stack([dataset.getitem_epoch(i, 0)["L"] for i in idx]).to(device))
    for m in bns:
        m.momentum = 0.1
    net.train(was_training)


UNUSED_KIND = "global_net_unused"
LABELS_FILE = "global_labels.json"


def write_unused(out: str | os.PathLike, log_dir: str | os.PathLike, reason: str) -> None:
    """models/global.pt when SCGAN needs no pretrained global network (global_net random or
    none): a model file of kind `global_net_unused` saying why, so the DAG stays whole and
    train_scgan refuses it should global_net go back to `pretrained` without a retrain."""
    from colorbench.atomic import atomic_path
    from colorbench.metrics.stage import write_json
    from colorbench.models.checkpoint import FORMAT

    payload = {
        "format": FORMAT,
        "kind": UNUSED_KIND,
        "config": {},
        "state_dict": {},
        "meta": {"reason": reason},
    }
    with atomic_path(Path(out)) as tmp:
        torch.save(payload, tmp)
    write_json(Path(log_dir) / LABELS_FILE, {"trained": False, "reason": reason})


def train_global(
    params: Mapping[str, Any],
    run: TrainRun,
    *,
    annotations: Mapping[str, str | os.PathLike] | None = None,
    global_net: str = "pretrained",
) -> dict[str, float]:
    """Train the global-feature classifier from params section `train_global`; write
    `run.out`.

    Targets come from `global_labels.find_labels` (class labels, else COCO categories from
    `annotations`: {source name: instances json}). `global_net` is train_scgan.global_net:
    unless `pretrained`, nothing is trained and `out` records why (`write_unused`).
    """
    from colorbench.methods.scgan.global_labels import find_labels
    from colorbench.methods.scgan.global_net import GlobalNet
    from colorbench.metrics.stage import write_json
    from colorbench.train.data import image_size, load_manifest

    prepared_dir = run.prepared_dir
    if global_net != "pretrained":
        write_unused(
            run.out,
            run.log_dir,
            f"train_scgan.global_net is {global_net!r}: no pretrained global network",
        )
        return {}
    require(params, REQUIRED, "train_global")
    positive(params, REQUIRED, "train_global")
    if int(params["width"]) < 1 or int(params["batch_size"]) < 1:
        raise ColorbenchError("train_global.width and train_global.batch_size must be >= 1")
    df = load_manifest(prepared_dir)
    size = image_size(df)
    labels = find_labels(df, annotations)
    if labels is None:
        raise ColorbenchError(
            f"train_global needs train images with labels of at least 2 classes in {prepared_dir}"
            " (manifest column `label`, or COCO instance annotations in prepare.sources); "
            "set train_scgan.global_net to random or none for data without labels"
        )
    classes = labels.classes
    seed = int(params.get("seed", 0))
    dataset = LabelledGray(
        prepared_dir, labels.train_ids, labels.train_targets, size=size, seed=seed, flip=True
    )
    eval_set = (
        LabelledGray(prepared_dir, labels.val_ids, labels.val_targets, size=size, flip=False)
        if labels.val_ids
        else None
    )
    with open_loop(
        "train_global",
        params,
        run,
        [run.manifest, *(Path(a) for a in (annotations or {}).values())],
        # channels_last also on CPU: measured 1.8x faster for these conv nets (bench_scgan).
        channels_last=True,
    ) as loop:
        width, epochs = int(params["width"]), int(params["epochs"])
        loop.add_module("net", GlobalNet(len(classes), width))
        opt = loop.add_optimizer(
            "opt", torch.optim.Adam(loop.parameters("net"), lr=float(params["lr"]))
        )
        loop.add_scheduler(
            "cosine", torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
        )
        steps = GlobalSteps(eval_set)
        metrics = loop.run(
            [Phase("classify", steps.step, epochs=epochs, schedulers=["cosine"])],
            dataset,
            eval_fn=steps.evaluate,
            on_step_end=run.on_step_end,
        )
        if loop.is_main:
            net = loop.unwrap("net")
            recalibrate_batchnorm(net, dataset, loop.device)
            net.eval()
            if eval_set is not None:
                top1 = GlobalSteps(eval_set).evaluate(_EvalContext(net, loop.device))["val_top1"]
                metrics = {**metrics, "classify/val_top1_recalibrated": top1}
            write_json(run.log_dir / LABELS_FILE, {"trained": True, **labels.summary()})
            save_trained(
                loop,
                run,
                KIND,
                net.config,
                "net",
                train_samples=len(dataset),
                metrics=metrics,
                classes=classes,
                image_size=size,
                class_counts=labels.class_counts(),
                label_kind=labels.kind,
                label_source=labels.description,
            )
        return metrics
