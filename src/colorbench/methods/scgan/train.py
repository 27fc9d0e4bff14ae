"""SCGAN training on the shared loop (paper §III-B, §IV-A; Table II ablations as params).

Phase `phase1`: the generator alone, λ_l1·L1 + λ_A·L_A, Adam(lr_phase1, β=(0.5, 0.999)).
Phase `phase2`: per batch, `critic_iters` updates of both critics (colour image, and colour ×
saliency) with WGAN-GP (or LSGAN), then one generator update with
λ_l1·L1 + λ_A·L_A + λ_G·adv + λ_p·perceptual; Adam(lr_phase2, β=(0.5, 0.999)) for both,
halved every `lr_halve_every` epochs.

Data: prepared train images (role main) and their ground-truth saliency maps
(data/saliency/<id>.png). The generator sees L/50 − 1 plus Gaussian noise (σ = input_noise,
the paper's 0.005); targets are RGB in [-1, 1] and saliency in [0, 1].
Output: models/scgan.pt (kind "scgan": the generator; config rebuilds it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from colorbench.color import net_to_rgb
from colorbench.errors import ColorbenchError
from colorbench.methods.scgan.data import SaliencyImages, stack_batch, train_subset
from colorbench.methods.scgan.parts import (
    Nets,
    SCGANSettings,
    SCGANSystem,
    critics_loss,
    generator_loss,
)
from colorbench.methods.scgan.perceptual import perceptual_network
from colorbench.train.common import (
    TrainRun,
    ValBatchHooks,
    grid,
    open_loop,
    psnr_u8,
    save_trained,
    with_epochs,
)
from colorbench.train.loop import Phase, StepContext

KIND = "scgan"
RUN_NAME = "train_scgan"


# ---- steps --------------------------------------------------------------------------------


class SCGANSteps(ValBatchHooks):
    """Phase step functions and the evaluation/preview hooks of one SCGAN run."""

    def __init__(self, settings: SCGANSettings, eval_batch: dict[str, torch.Tensor] | None) -> None:
        super().__init__(eval_batch)
        self.s = settings

    def _inputs(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        gray = batch["L"]
        if self.s.input_noise > 0:
            gray = gray + self.s.input_noise * torch.randn_like(gray)
        return {"gray": gray, "rgb": batch["rgb"], "saliency": batch["saliency"]}

    def _critics(self, ctx: StepContext, plain: bool) -> dict[str, nn.Module] | None:
        if not self.s.use_critics:
            return None
        get = ctx.unwrap if plain else ctx.module
        names = {"color": "Dc", "attention": "DA"} if self.s.attention_loss else {"color": "Dc"}
        return {k: get(v) for k, v in names.items()}

    def phase1(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        b = self._inputs(batch)
        with ctx.autocast():
            total, terms, _, _ = generator_loss(self.s, Nets(ctx.module("G")), b, phase=1)
        ctx.zero_grad("g1")
        ctx.backward(total, "phase-1 generator loss")
        ctx.step("g1")
        return {k: v.detach() for k, v in terms.items()}

    def phase2(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        b = self._inputs(batch)
        G = ctx.module("G")
        perceptual = ctx.unwrap("P") if self.s.use_perceptual else None
        with ctx.autocast():
            fake, sal = G(b["gray"])
        out: dict[str, torch.Tensor] = {}
        critics = self._critics(ctx, plain=False)
        if critics is not None:
            # Critics in float32: the gradient penalty differentiates twice.
            with torch.autocast(device_type=ctx.device.type, enabled=False):
                for _ in range(self.s.critic_iters):
                    d_total, d_terms = critics_loss(self.s, critics, b, fake, sal)
                    ctx.zero_grad("d")
                    ctx.backward(d_total, "critic loss")
                    ctx.step("d")
            out.update(d_terms)
        nets = Nets(G, self._critics(ctx, plain=True), perceptual)
        with ctx.autocast():
            total, terms, _, _ = generator_loss(self.s, nets, b, phase=2, outputs=(fake, sal))
        ctx.zero_grad("g2")
        ctx.backward(total, "phase-2 generator loss")
        ctx.step("g2")
        out.update({k: v.detach() for k, v in terms.items()})
        return out

    def _predict(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        from colorbench.methods.scgan.nets import rgb_to_ab_norm

        b = self.val_batch(ctx)
        rgb, sal = ctx.unwrap("G")(b["L"])
        ab = rgb_to_ab_norm(rgb)
        return {
            "truth": (b["rgb"] + 1.0) * 0.5,
            "gray": net_to_rgb(b["L"], torch.zeros_like(ab)),
            "pred": net_to_rgb(b["L"], ab),  # the predicted ab on the true L, as colorize does
            "pred_rgb": ((rgb.float() + 1.0) * 0.5).clamp(0, 1),
            "sal": sal.float() if sal is not None else None,
            "sal_gt": b["saliency"],
        }

    def score(self, ctx: StepContext) -> dict[str, float]:
        """Val PSNR (vs the gray input's) and saliency agreement with the ground truth."""
        p = self._predict(ctx)
        out = {
            "val_psnr": float(psnr_u8(p["pred"], p["truth"]).mean()),
            "val_psnr_gray": float(psnr_u8(p["gray"], p["truth"]).mean()),
            "val_psnr_rgb": float(psnr_u8(p["pred_rgb"], p["truth"]).mean()),
        }
        if p["sal"] is not None:
            out.update(saliency_agreement(p["sal"], p["sal_gt"]))
        return out

    def images(self, ctx: StepContext) -> dict[str, np.ndarray]:
        p = self._predict(ctx)
        k = min(self.PREVIEW_ROWS, p["truth"].shape[0])
        cols = [p["gray"][:k], p["pred"][:k], p["truth"][:k]]
        if p["sal"] is not None:
            cols += [p["sal"][:k].expand(-1, 3, -1, -1), p["sal_gt"][:k].expand(-1, 3, -1, -1)]
        return {"gray_pred_truth_sal_salgt": grid(cols)}


def saliency_agreement(pred: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """MAE and IoU (both thresholded at 0.5) of predicted vs ground-truth saliency maps.

    IoU is over the whole set (images without salient pixels count in the union only)."""
    p, t = pred.detach().float(), truth.detach().float()
    pb, tb = p >= 0.5, t >= 0.5
    union = float((pb | tb).sum())
    iou = float((pb & tb).sum()) / union if union else 1.0
    return {"val_sal_mae": float((p - t).abs().mean()), "val_sal_iou": iou}


# ---- the run ------------------------------------------------------------------------------


def train_scgan(
    params: Mapping[str, Any],
    run: TrainRun,
    *,
    saliency_dir: str | os.PathLike,
    global_path: str | os.PathLike,
    evaluator_path: str | os.PathLike,
) -> dict[str, float]:
    """Train SCGAN from params section `train_scgan`; write `run.out` (kind "scgan").

    Returns the last epoch's metrics (e.g. `phase2/val_psnr`, `phase2/val_sal_iou`).
    Under torchrun every rank calls this; rank 0 writes the model file.
    """
    from colorbench.models.checkpoint import read_checkpoint
    from colorbench.train.data import eval_images, image_size, load_manifest, train_ids

    s = SCGANSettings.from_params(params)
    prepared_dir, progress = run.prepared_dir, run.progress
    df = load_manifest(prepared_dir)
    size = image_size(df)
    seed = int(params.get("seed", 0))
    # The subset is data, not training noise: `colorbench seeds` must not change it.
    data_seed = int(params.get("data_seed", seed))
    # paper: `sources` = the ImageNet subset
    ids = train_subset(train_ids(df, sources=params.get("sources")), s.data_fraction, data_seed)
    if not ids:
        raise ColorbenchError(f"no train-split images in {prepared_dir}; check prepare.split")
    dataset = SaliencyImages(prepared_dir, saliency_dir, ids, size=size, seed=seed)
    val_ids = eval_images(prepared_dir, "val", limit=64).ids
    eval_set = SaliencyImages(prepared_dir, saliency_dir, val_ids, size=size, flip=False)
    eval_batch = stack_batch(eval_set, range(len(eval_set))) if len(eval_set) else None

    global_state: dict[str, torch.Tensor] | None = None
    global_meta: dict[str, Any] = {"mode": s.global_net}
    data_files: list[Path] = [run.manifest]
    if s.global_net == "pretrained":
        payload = read_checkpoint(global_path)
        if payload["kind"] != "global_net":
            raise ColorbenchError(
                f"{global_path} holds kind {payload['kind']!r}, not a global-feature network; "
                "retrain it with `dvc repro train_global`"
            )
        global_state = payload["state_dict"]
        global_meta.update(
            path=str(global_path),
            classes=list((payload.get("meta") or {}).get("classes", [])),
            config=dict(payload["config"]),
        )
        data_files.append(Path(global_path))
    if s.use_perceptual and s.perceptual_net == "evaluator":
        data_files.append(Path(evaluator_path))

    with open_loop(
        RUN_NAME,
        params,
        run,
        data_files,
        loop_params={**params, "batch_size": s.batch_size, "checkpoint_every": s.checkpoint_every},
        # channels_last also on CPU: measured 1.8x faster for these conv nets (bench_scgan).
        channels_last=True,
    ) as loop:
        extractor, perceptual_name = perceptual_network(s, evaluator_path)
        system = SCGANSystem(s, size, extractor, perceptual_name)
        if global_state is not None:
            system.load_global(global_state, str(global_path))
        loop.add_module("G", system.generator)
        if system.critics is not None:
            loop.add_module("Dc", system.critics["color"])
            if "attention" in system.critics:
                loop.add_module("DA", system.critics["attention"])
        if system.perceptual is not None:
            loop.add_module("P", system.perceptual, trainable=False)

        betas = (0.5, 0.999)
        loop.add_optimizer("g1", torch.optim.Adam(loop.parameters("G"), s.lr_phase1, betas=betas))
        g2 = loop.add_optimizer(
            "g2", torch.optim.Adam(loop.parameters("G"), s.lr_phase2, betas=betas)
        )
        schedulers = ["g2_sched"]
        loop.add_scheduler(
            "g2_sched", torch.optim.lr_scheduler.StepLR(g2, s.lr_halve_every, gamma=0.5)
        )
        critic_names = [n for n in ("Dc", "DA") if n in loop.modules]
        if critic_names:
            d = loop.add_optimizer(
                "d", torch.optim.Adam(loop.parameters(*critic_names), s.lr_phase2, betas=betas)
            )
            loop.add_scheduler(
                "d_sched", torch.optim.lr_scheduler.StepLR(d, s.lr_halve_every, gamma=0.5)
            )
            schedulers.append("d_sched")

        steps = SCGANSteps(s, eval_batch)
        phases = with_epochs(
            [
                Phase("phase1", steps.phase1, epochs=s.phase1_epochs, train=["G"]),
                Phase("phase2", steps.phase2, epochs=s.phase2_epochs, schedulers=schedulers),
            ]
        )
        if loop.is_main and progress:
            from tqdm import tqdm

            tqdm.write(
                f"[{RUN_NAME}] SCGAN {size}px width {s.width}: gan={s.gan} global={s.global_net} "
                f"attention={s.attention_loss} perceptual={perceptual_name} "
                f"pixel={s.pixel_loss}; {len(dataset)} train images",
                file=sys.stderr,
            )
        metrics = steps.run(loop, phases, dataset, run)
        gen = loop.unwrap("G")
        return save_trained(
            loop,
            run,
            KIND,
            gen.config,
            "G",
            train_samples=len(dataset),
            metrics=metrics,
            image_size=size,
            settings=s.as_dict(),
            perceptual_net=perceptual_name,
            global_net=global_meta,
        )
