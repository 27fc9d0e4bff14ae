"""ParaColorizer's colorization GANs (`unet` V1 baseline, `fg`, `bg`) on the shared loop.

Unbalanced training (paper §IV-A): phase `pretrain` trains the generator alone with
λ_L1·L1 on the COCO train images (role main: `pretrain_data: main`; no crops, no Places, no
edge loss unless `pretrain_edge`), Adam(lr_pretrain, β=(0.9, 0.999)); phase `gan` trains the
PatchGAN discriminator on (L, ab) pairs with LSGAN and the generator with
LSGAN + λ_L1·L1 (+ λ_edge·edge_scale·edge) on the pipeline's data,
Adam(lr_gan, β=(0.5, 0.999)) for both.

Edge-loss scale: our edge term (colorbench.losses.edge_loss, Sobel on RGB in [0, 1]) has a
gradient on the generator's output about 200-280x smaller than 100·L1 on ab/110 (measured
at initialisation, on the synthetic profile at 64² and on photographs at 256²). `edge_scale`
(default EDGE_SCALE = 250) multiplies it so that λ_edge = 1 puts the two terms' gradients on
the same footing and λ_edge in {0 … 1} (paper Table IV) sweeps the balance from L1 only to
about 1:1. Every step logs the norm of each term's gradient on the generator output
(`grad_l1`, `grad_edge`, `grad_adv`) to dvclive, so the balance is visible in `dvc plots`.

Versions (paper §V-A): `unet` is V1 (pix2pix U-Net, no pretraining, fg's data with crops,
L1 only); `fg` is V3; `train_fg.version: v2` trains V2 (Res-UNet without self-attention,
unbalanced training, no edge loss) in fg's place, one `dvc exp run -S train_fg.version=v2`.

Data: `fg` = train images + object crops (use_crops), `bg` = train images + background scenes
(use_background), `unet` = train images (+ crops). Params: section `train_<name>`.
Output: models/<name>.pt (kind "generator") via colorbench.models.checkpoint.save_model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from colorbench.color import net_to_rgb
from colorbench.errors import ColorbenchError
from colorbench.methods.paracolorizer import GENERATORS as NAMES  # noqa: E402
from colorbench.train.common import (
    TrainRun,
    ValBatchHooks,
    grid,
    open_loop,
    positive,
    psnr_u8,
    require,
    save_trained,
    val_images,
    with_epochs,
)
from colorbench.train.loop import Phase, StepContext

REQUIRED = (
    "generator",
    "pretrain_epochs",
    "gan_epochs",
    "batch_size",
    "lr_pretrain",
    "lr_gan",
    "lambda_l1",
)


EDGE_SCALE = 250.0  # see the module docstring
PRETRAIN_DATA = ("main", "same")
# ParaColorizer §V-A versions as overrides of train_fg (V3 = fg as configured).
VERSIONS: dict[str, dict[str, Any]] = {
    "v2": {"generator.arch": "resunet", "lambda_edge": 0.0},
    "v3": {},
}


def apply_version(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with the overrides of its `version` (fg only; V1 is the `unet` colorizer)."""
    out = dict(params)
    version = str(out.get("version", "v3"))
    if version not in VERSIONS or (name != "fg" and version != "v3"):
        allowed = ", ".join(VERSIONS) if name == "fg" else "v3 (only train_fg has versions)"
        raise ColorbenchError(f"train_{name}.version must be one of {allowed}, got {version!r}")
    for dotted, value in VERSIONS[version].items():
        key, _, sub = dotted.partition(".")
        out[key] = {**dict(out[key]), sub: value} if sub else value
    return out


def check_params(name: str, params: Mapping[str, Any]) -> None:
    section = f"train_{name}"
    require(params, REQUIRED, section)
    positive(
        params,
        ["pretrain_epochs", "gan_epochs", "lr_pretrain", "lr_gan", "lambda_l1"],
        section,
    )
    extra = {k: params.get(k, d) for k, d in (("lambda_edge", 0.0), ("edge_scale", EDGE_SCALE))}
    positive(extra, list(extra), section)
    if params.get("pretrain_data", "main") not in PRETRAIN_DATA:
        raise ColorbenchError(
            f"{section}.pretrain_data must be one of {', '.join(PRETRAIN_DATA)}, "
            f"got {params.get('pretrain_data')!r}"
        )
    if int(params["batch_size"]) < 1:
        raise ColorbenchError(f"{section}.batch_size must be >= 1")
    if int(params["pretrain_epochs"]) + int(params["gan_epochs"]) == 0:
        raise ColorbenchError(f"{section}: pretrain_epochs + gan_epochs is 0; nothing to train")


class ColorizerSteps(ValBatchHooks):
    """The two step functions and the evaluation/preview hooks of one colorizer run.

    `lambda_edge` is the paper's λ1; the edge term's weight is λ_edge·edge_scale.
    `pretrain_edge`: whether the pretraining phase uses the edge term too (paper: L1 only).
    """

    def __init__(
        self,
        lambda_l1: float,
        lambda_edge: float,
        eval_batch: dict | None,
        edge_scale: float = EDGE_SCALE,
        pretrain_edge: bool = False,
    ) -> None:
        from colorbench import losses

        super().__init__(eval_batch)
        self.losses = losses
        self.lambda_l1 = float(lambda_l1)
        self.edge_weight = float(lambda_edge) * float(edge_scale)
        self.pretrain_edge = bool(pretrain_edge)

    def _pixel_terms(
        self, L: torch.Tensor, ab_pred: torch.Tensor, ab: torch.Tensor, edge: bool = True
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """λ_L1·L1 (+ the weighted edge term); metrics include each term's gradient norm on
        the generator output (`grad_l1`, `grad_edge`)."""
        # Losses in float32 outside autocast: the Lab->RGB of the edge loss needs it.
        pred = ab_pred.float()
        l1 = self.losses.l1_loss(pred, ab)
        terms = {"l1": self.lambda_l1 * l1}
        out = {"l1": l1.detach()}
        if edge and self.edge_weight > 0:
            edge_value = self.losses.edge_loss(L.float(), pred, ab)
            terms["edge"] = self.edge_weight * edge_value
            out["edge"] = edge_value.detach()
        if pred.requires_grad:  # one autograd.grad per term: a list of outputs would sum them
            for k, term in terms.items():
                (grad,) = torch.autograd.grad(term, pred, retain_graph=True)
                out[f"grad_{k}"] = grad.norm()
        return sum(terms.values()), out  # type: ignore[return-value]

    def pretrain(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        L, ab = batch["L"], batch["ab"]
        with ctx.autocast():
            ab_pred = ctx.module("G")(L)
        loss, out = self._pixel_terms(L, ab_pred, ab, edge=self.pretrain_edge)
        ctx.zero_grad("g_pre")
        ctx.backward(loss, "pretrain loss")
        ctx.step("g_pre")
        return {"loss": loss.detach(), **out}

    def gan(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        L, ab = batch["L"], batch["ab"]
        G, D = ctx.module("G"), ctx.module("D")
        with ctx.autocast():
            ab_pred = G(L)
            d_real = D(torch.cat([L, ab], dim=1))
            d_fake = D(torch.cat([L, ab_pred.detach()], dim=1))
        d_loss = self.losses.lsgan_d_loss(d_real.float(), d_fake.float())
        ctx.zero_grad("d")
        ctx.backward(d_loss, "discriminator loss")
        ctx.step("d")
        # D's parameters are not frozen for the generator step (DDP needs a fixed set of
        # gradient-receiving parameters); the grads it gets here are cleared before D's step.
        with ctx.autocast():
            d_gen = D(torch.cat([L, ab_pred], dim=1))
        g_adv = self.losses.lsgan_g_loss(d_gen.float())
        pixel, out = self._pixel_terms(L, ab_pred, ab)
        g_loss = g_adv + pixel
        (grad_adv,) = torch.autograd.grad(g_adv, ab_pred, retain_graph=True)
        ctx.zero_grad("g_gan")
        ctx.backward(g_loss, "generator loss")
        ctx.step("g_gan")
        return {
            "d_loss": d_loss.detach(),
            "g_adv": g_adv.detach(),
            "g_loss": g_loss.detach(),
            "d_real": d_real.detach().float().mean(),
            "d_fake": d_fake.detach().float().mean(),
            "grad_adv": grad_adv.float().norm(),
            **out,
        }

    def _predict(self, ctx: StepContext) -> tuple[torch.Tensor, ...]:
        b = self.val_batch(ctx)
        ab_pred = ctx.unwrap("G")(b["L"]).float()
        pred = net_to_rgb(b["L"], ab_pred)
        gray = net_to_rgb(b["L"], torch.zeros_like(ab_pred))
        return b["rgb"], gray, pred

    def score(self, ctx: StepContext) -> dict[str, float]:
        """PSNR on a fixed set of val images, and the gray input's (the floor to beat)."""
        rgb, gray, pred = self._predict(ctx)
        return {
            "val_psnr": float(psnr_u8(pred, rgb).mean()),
            "val_psnr_gray": float(psnr_u8(gray, rgb).mean()),
        }

    def images(self, ctx: StepContext) -> dict[str, Any]:
        rgb, gray, pred = self._predict(ctx)
        k = min(self.PREVIEW_ROWS, rgb.shape[0])
        return {"gray_pred_truth": grid([gray[:k], pred[:k], rgb[:k]])}


def train_colorizer(
    name: str, params: Mapping[str, Any], run: TrainRun, *, crops_dir: str | os.PathLike
) -> dict[str, float]:
    """Train colorizer `name` (unet | fg | bg) from its params section; write `run.out`.

    Returns the final epoch's metrics (e.g. `gan/val_psnr`). Under torchrun every rank calls
    this; rank 0 writes the model file.
    """
    from colorbench.models.registry import build_discriminator, build_generator
    from colorbench.train.data import colorizer_dataset

    if name not in NAMES:
        raise ColorbenchError(f"unknown colorizer {name!r}; choose one of {', '.join(NAMES)}")
    params = apply_version(name, params)
    check_params(name, params)
    prepared_dir = run.prepared_dir
    use_crops = bool(params.get("use_crops", False))
    use_background = bool(params.get("use_background", False))
    seed = int(params.get("seed", 0))

    dataset = colorizer_dataset(
        prepared_dir,
        crops_dir=crops_dir,
        use_crops=use_crops,
        use_background=use_background,
        seed=seed,
        sources=params.get("sources"),
    )
    # Unbalanced pretraining on the main train images only (paper: COCO train split).
    pretrain_set = None
    if params.get("pretrain_data", "main") == "main" and (use_crops or use_background):
        pretrain_set = colorizer_dataset(prepared_dir, seed=seed)
    data_files = [run.manifest]
    if use_crops:
        data_files.append(Path(crops_dir) / "boxes.csv")
    with open_loop(f"train_{name}", params, run, data_files) as loop:
        gen_cfg = dict(params["generator"])
        disc_cfg = {"in_channels": 3, **dict(params.get("discriminator") or {"arch": "patchgan"})}
        generator = build_generator(gen_cfg)
        image_size = dataset.parts[0].size
        multiple = int(getattr(generator, "size_multiple", 1))
        if image_size % multiple:
            raise ColorbenchError(
                f"train_{name}: a {gen_cfg.get('arch')} generator needs images whose side is a "
                f"multiple of {multiple}, but the prepared images are {image_size} px; change "
                "prepare.size (or the generator depth)"
            )
        loop.add_module("G", generator)
        loop.add_module("D", build_discriminator(disc_cfg))
        loop.add_optimizer(
            "g_pre",
            torch.optim.Adam(
                loop.parameters("G"), lr=float(params["lr_pretrain"]), betas=(0.9, 0.999)
            ),
        )
        loop.add_optimizer(
            "g_gan",
            torch.optim.Adam(loop.parameters("G"), lr=float(params["lr_gan"]), betas=(0.5, 0.999)),
        )
        loop.add_optimizer(
            "d",
            torch.optim.Adam(loop.parameters("D"), lr=float(params["lr_gan"]), betas=(0.5, 0.999)),
        )
        _, eval_batch = val_images(prepared_dir)
        steps = ColorizerSteps(
            float(params["lambda_l1"]),
            float(params.get("lambda_edge", 0.0)),
            eval_batch,
            edge_scale=float(params.get("edge_scale", EDGE_SCALE)),
            pretrain_edge=bool(params.get("pretrain_edge", False)),
        )
        pre_epochs = int(params["pretrain_epochs"])
        phases = [
            Phase("pretrain", steps.pretrain, pre_epochs, train=["G"], dataset=pretrain_set),
            Phase("gan", steps.gan, epochs=int(params["gan_epochs"])),
        ]
        metrics = steps.run(loop, with_epochs(phases), dataset, run)
        return save_trained(
            loop,
            run,
            "generator",
            gen_cfg,
            "G",
            train_samples=len(dataset),
            pretrain_samples=len(pretrain_set if pretrain_set is not None else dataset),
            metrics=metrics,
            name=name,
            image_size=int(image_size),
            params={k: v for k, v in params.items() if isinstance(v, (int, float, str))},
        )
