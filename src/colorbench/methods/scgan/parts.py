"""SCGAN training pieces that do not depend on the shared loop: settings from params, the
networks of one run (generator, critics, perceptual network) and the two per-batch losses.

Phase 1 (paper §III-B): λ_l1·L1 + λ_A·L_A.
Phase 2: λ_l1·L1 + λ_A·L_A + λ_G·(L_G(Dc) + L_G(DA)) + λ_p·L_p for the generator, and
for the critics E[D(fake)] − E[D(real)] + λ_gp·GP on the colour image (Dc) and on the
weighted image colour × saliency (DA). Table II's ablations are switches on `SCGANSettings`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.methods.scgan.critics import build_critics
from colorbench.methods.scgan.global_net import load_features_strict
from colorbench.methods.scgan.losses import (
    GAN_LOSSES,
    PIXEL_LOSSES,
    PerceptualLoss,
    attention_loss,
    critic_loss,
    generator_adv_loss,
    gradient_penalty,
    pixel_loss,
    weighted_image,
)
from colorbench.methods.scgan.nets import GLOBAL_MODES, SCGANGenerator

PERCEPTUAL_NETS = ("evaluator", "vgg16")


@dataclass(frozen=True)
class SCGANSettings:
    """params.yaml `train_scgan` (paper values in comments)."""

    width: int = 64
    global_net: str = "pretrained"  # pretrained | random | none
    phase1_epochs: int = 10
    phase2_epochs: int = 30
    batch_size: int = 8
    lr_phase1: float = 2e-4
    lr_phase2: float = 1e-4
    lr_halve_every: int = 10  # phase-2 epochs
    lambda_l1: float = 1.0
    lambda_gan: float = 0.05
    lambda_attention: float = 0.5
    lambda_perceptual: float = 5.0
    lambda_gp: float = 10.0
    critic_iters: int = 1
    gan: str = "wgan_gp"  # wgan_gp | lsgan | none
    attention_loss: bool = True  # false drops the saliency branch and its critic (Table II)
    perceptual: bool = True
    pixel_loss: str = "l1"  # l1 | l2 (for L1 and the attention loss)
    perceptual_net: str = "evaluator"  # evaluator | vgg16
    checkpoint_every: int = 200
    input_noise: float = 0.005  # paper: Gaussian noise σ=0.005 on the [-1, 1] input
    freeze_global: bool = True  # a pretrained global network is a fixed semantic encoder
    # Share of the train split (a seeded subset; a larger share contains a smaller one). The
    # paper ran "w/o attention loss" on twice the full SCGAN's data (1/5 vs 1/10 ImageNet).
    data_fraction: float = 1.0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SCGANSettings:
        """Known keys of a params section (global keys such as `seed` are ignored)."""
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in params:
                value = params[f.name]
                kind = type(f.default)
                try:
                    kw[f.name] = _coerce(value, kind)
                except (TypeError, ValueError) as exc:
                    raise ColorbenchError(
                        f"train_scgan.{f.name}: expected {kind.__name__}, got {value!r}"
                    ) from exc
        s = cls(**kw)
        s.validate()
        return s

    def validate(self) -> None:
        choices = {
            "global_net": (self.global_net, GLOBAL_MODES),
            "gan": (self.gan, GAN_LOSSES),
            "pixel_loss": (self.pixel_loss, PIXEL_LOSSES),
            "perceptual_net": (self.perceptual_net, PERCEPTUAL_NETS),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ColorbenchError(f"train_scgan.{key} must be one of {allowed}, got {value!r}")
        positive = ("width", "batch_size", "critic_iters", "lr_halve_every")
        for key in positive:
            if getattr(self, key) < 1:
                raise ColorbenchError(f"train_scgan.{key} must be >= 1, got {getattr(self, key)}")
        if not 0 < self.data_fraction <= 1:
            raise ColorbenchError(
                f"train_scgan.data_fraction must be in (0, 1], got {self.data_fraction}"
            )
        if self.phase1_epochs < 0 or self.phase2_epochs < 0:
            raise ColorbenchError("train_scgan.phase1_epochs/phase2_epochs must be >= 0")
        if self.phase1_epochs + self.phase2_epochs == 0:
            raise ColorbenchError(
                "train_scgan: phase1_epochs + phase2_epochs is 0; nothing to train"
            )

    @property
    def use_critics(self) -> bool:
        return self.gan != "none"

    @property
    def use_perceptual(self) -> bool:
        return self.perceptual and self.lambda_perceptual > 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or float(value) != int(float(value)):
            raise ValueError(value)
        return int(float(value))
    if kind is float:
        return float(value)
    return str(value)


class SCGANSystem(nn.Module):
    """The networks of one SCGAN run. `critics` is None without a GAN loss; `perceptual` is
    None without the perceptual term; the generator has no saliency branch (and there is
    no attention critic) when `attention_loss` is off."""

    def __init__(
        self,
        settings: SCGANSettings,
        size: int,
        perceptual_extractor: nn.Module | None = None,
        perceptual_name: str = "",
    ) -> None:
        super().__init__()
        self.settings = settings
        self.generator = SCGANGenerator(
            size=size,
            width=settings.width,
            global_net=settings.global_net,
            saliency=settings.attention_loss,
            freeze_global=settings.freeze_global,
        )
        self.critics = (
            build_critics(settings.width, attention=settings.attention_loss)
            if settings.use_critics
            else None
        )
        if settings.use_perceptual:
            if perceptual_extractor is None:
                raise ColorbenchError(
                    "train_scgan.perceptual is on but no perceptual network was given"
                )
            self.perceptual: PerceptualLoss | None = PerceptualLoss(
                perceptual_extractor, perceptual_name
            )
        else:
            self.perceptual = None

    def load_global(self, global_state: dict[str, torch.Tensor], source: str) -> None:
        """Strictly load pretrained global-network weights (only for `global_net: pretrained`)."""
        if self.generator.global_features is None or self.settings.global_net != "pretrained":
            raise ColorbenchError(
                f"train_scgan.global_net is {self.settings.global_net!r}: nothing to load"
            )
        load_features_strict(self.generator.global_features, global_state, source)


# ---- per-batch losses --------------------------------------------------------------------


@dataclass
class Nets:
    """The modules one step uses: plain ones, or the loop's (DDP-wrapped) ones."""

    generator: nn.Module
    critics: Mapping[str, nn.Module] | None = None
    perceptual: nn.Module | None = None

    @classmethod
    def of(cls, system: SCGANSystem) -> Nets:
        return cls(system.generator, system.critics, system.perceptual)


def generator_loss(
    settings: SCGANSettings,
    nets: Nets,
    batch: dict[str, torch.Tensor],
    phase: int,
    outputs: tuple[torch.Tensor, torch.Tensor | None] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    """Generator objective for `phase` (1 or 2). Returns (total, terms, fake_rgb, fake_sal).

    `outputs` reuses a forward pass already made (phase 2 trains the critics on it first).
    `nets.critics` here only score the fakes: pass plain (unwrapped) modules; their
    parameters are frozen for the call so the generator step leaves them no gradient.
    """
    s = settings
    real, sal_gt = batch["rgb"], batch.get("saliency")
    fake, sal = outputs if outputs is not None else nets.generator(batch["gray"])
    # Losses in float32 whatever the autocast dtype of the forward pass.
    fake = fake.float()
    sal = sal.float() if sal is not None else None
    terms: dict[str, torch.Tensor] = {"pixel": pixel_loss(fake, real, s.pixel_loss)}
    total = s.lambda_l1 * terms["pixel"]
    if sal is not None:
        if sal_gt is None:
            raise ColorbenchError("the attention loss needs ground-truth saliency maps")
        terms["attention"] = attention_loss(fake, sal, real, sal_gt, s.pixel_loss)
        total = total + s.lambda_attention * terms["attention"]
    if phase == 2:
        if nets.critics is not None:
            with _frozen(*nets.critics.values()):
                adv = generator_adv_loss(s.gan, nets.critics["color"](fake))
                terms["adv_color"] = adv
                if "attention" in nets.critics and sal is not None:
                    terms["adv_attention"] = generator_adv_loss(
                        s.gan, nets.critics["attention"](weighted_image(fake, sal))
                    )
                    adv = adv + terms["adv_attention"]
            total = total + s.lambda_gan * adv
        if nets.perceptual is not None:
            terms["perceptual"] = nets.perceptual(fake, real)
            total = total + s.lambda_perceptual * terms["perceptual"]
    terms["total"] = total
    return total, terms, fake, sal


def critics_loss(
    settings: SCGANSettings,
    critics: Mapping[str, nn.Module] | None,
    batch: dict[str, torch.Tensor],
    fake: torch.Tensor,
    sal: torch.Tensor | None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Both critics' objective on detached fakes (eq. 4, or least squares for `lsgan`)."""
    s = settings
    if critics is None:
        raise ColorbenchError("train_scgan.gan is none: there are no critics to train")
    fake = fake.detach().float()
    pairs = {"color": (batch["rgb"], fake)}
    if "attention" in critics and sal is not None:
        pairs["attention"] = (
            weighted_image(batch["rgb"], batch["saliency"]),
            weighted_image(fake, sal.detach().float()),
        )
    total = torch.zeros((), device=fake.device)
    terms: dict[str, torch.Tensor] = {}
    for name, (real_x, fake_x) in pairs.items():
        critic = critics[name]
        real_scores, fake_scores = critic(real_x), critic(fake_x)
        loss = critic_loss(s.gan, real_scores, fake_scores)
        if s.gan == "wgan_gp":
            terms[f"wdist_{name}"] = (real_scores.mean() - fake_scores.mean()).detach()
            gp = gradient_penalty(critic, real_x, fake_x, s.lambda_gp)
            terms[f"gp_{name}"] = gp.detach()
            loss = loss + gp
        terms[f"critic_{name}"] = loss.detach()
        total = total + loss
    terms["critic_total"] = total.detach()
    return total, terms


class _frozen:
    """Context manager: parameters of `modules` do not require grad inside it."""

    def __init__(self, *modules: nn.Module) -> None:
        self.params = [p for m in modules for p in m.parameters() if p.requires_grad]

    def __enter__(self) -> None:
        for p in self.params:
            p.requires_grad_(False)

    def __exit__(self, *exc: object) -> None:
        for p in self.params:
            p.requires_grad_(True)
