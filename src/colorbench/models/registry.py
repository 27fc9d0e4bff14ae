"""Build models from params dicts, by architecture and by checkpoint kind.

Params pick the variant: `{"arch": "unet" | "resunet" | "resunet_attn", "width": ...}` for
generators, `{"arch": "patchgan", ...}` for discriminators, `{"width": 16}` for the fusion
network. Checkpoints record a `kind` ("generator", "discriminator", "fusion", or one a
plugin registers, e.g. SCGAN's) and its config; `KINDS[kind](config)` rebuilds the module.

Extension point: a module calls `register_kind(kind, builder, predictor)` at import time;
`predictor(model, l_norm) -> ab_norm` is how `colorbench colorize` runs that kind.
`KIND_MODULES[kind]` is the module that registers `kind`, imported the first time that kind
is asked for (and only then: tools/stage_deps.py gives a stage that module only when the
stage runs its method's code, so editing SCGAN's networks never re-runs ParaColorizer).
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from colorbench.errors import ColorbenchError
from colorbench.models.densefuse import DenseFuse
from colorbench.models.patchgan import PatchGAN

Builder = Callable[[dict[str, Any]], nn.Module]
Predictor = Callable[[nn.Module, torch.Tensor], torch.Tensor]

# kind -> the module registering it (read by tools/stage_deps.py, like GENERATOR_MODULES).
KIND_MODULES = {
    "scgan": "colorbench.methods.scgan.nets",
    "global_net": "colorbench.methods.scgan.nets",
}

# Generator networks are imported only when their arch is built, so a stage runs (and its
# DVC deps list) only the network its params pick: editing resunet.py re-runs fg and bg,
# not the U-Net. tools/stage_deps.py reads this table to resolve each stage's arch.
GENERATOR_MODULES = {
    "unet": "colorbench.models.unet",
    "resunet": "colorbench.models.resunet",
    "resunet_attn": "colorbench.models.resunet",
}

_FROM_CHECKPOINT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "colorbench_from_checkpoint", default=False
)


@contextlib.contextmanager
def from_checkpoint() -> Iterator[None]:
    """While set, builders must not read pretrained files: a state dict overwrites them."""
    token = _FROM_CHECKPOINT.set(True)
    try:
        yield
    finally:
        _FROM_CHECKPOINT.reset(token)


def building_from_checkpoint() -> bool:
    return _FROM_CHECKPOINT.get()


def _options(cfg: dict[str, Any], allowed: dict[str, Any], what: str) -> dict[str, Any]:
    """`allowed` defaults overridden by cfg; unknown keys (typos) are an error."""
    unknown = sorted(set(cfg) - set(allowed) - {"arch"})
    if unknown:
        raise ColorbenchError(
            f"unknown {what} option(s) {unknown}; known: {sorted(allowed)} (check params.yaml)"
        )
    return {**allowed, **{k: v for k, v in cfg.items() if k != "arch"}}


def _unet(cfg: dict[str, Any]) -> nn.Module:
    # `pretrained: false` is accepted so `-S train_fg.generator.arch=unet` swaps V3 for V1.
    defaults = {"width": 64, "depth": 8, "in_channels": 1, "out_channels": 2, "pretrained": False}
    o = _options(cfg, defaults, "unet")
    if o["pretrained"]:
        raise ColorbenchError(
            "the pix2pix U-Net (V1) has no pretrained encoder: set pretrained: false"
        )
    unet = importlib.import_module(GENERATOR_MODULES["unet"])
    return unet.UNetGenerator(o["in_channels"], o["out_channels"], int(o["width"]), int(o["depth"]))


def _resunet(attention: bool) -> Builder:
    def build(cfg: dict[str, Any]) -> nn.Module:
        o = _options(
            cfg,
            {
                "width": 64,
                "encoder_width": None,
                "pretrained": False,
                "in_channels": 1,
                "out_channels": 2,
            },
            "resunet",
        )
        resunet = importlib.import_module(GENERATOR_MODULES["resunet"])
        return resunet.ResUNet(
            o["in_channels"],
            o["out_channels"],
            width=int(o["width"]),
            encoder_width=None if o["encoder_width"] is None else float(o["encoder_width"]),
            attention=attention,
            pretrained=bool(o["pretrained"]),
            load_pretrained=not building_from_checkpoint(),
        )

    return build


def _patchgan(cfg: dict[str, Any]) -> nn.Module:
    o = _options(cfg, {"width": 64, "n_layers": 3, "in_channels": 3}, "patchgan")
    return PatchGAN(int(o["in_channels"]), int(o["width"]), int(o["n_layers"]))


def _densefuse(cfg: dict[str, Any]) -> nn.Module:
    o = _options(cfg, {"width": 16, "in_channels": 3}, "densefuse")
    return DenseFuse(int(o["in_channels"]), int(o["width"]))


# Every architecture by name; the `arch` key of a config picks one.
MODELS: dict[str, Builder] = {
    "unet": _unet,  # V1: pix2pix U-Net
    "resunet": _resunet(attention=False),  # V2: Res-UNet (ParaColorizer's background GAN)
    "resunet_attn": _resunet(attention=True),  # V3: + self-attention (foreground GAN)
    "patchgan": _patchgan,
    "densefuse": _densefuse,
}
GENERATOR_ARCHS = ("unet", "resunet", "resunet_attn")
DISCRIMINATOR_ARCHS = ("patchgan",)
FUSION_ARCHS = ("densefuse",)


def _build(cfg: dict[str, Any], archs: tuple[str, ...], default: str | None, what: str):
    if not isinstance(cfg, dict):
        raise ColorbenchError(f"{what} config must be a mapping, got {type(cfg).__name__}")
    arch = cfg.get("arch", default)
    if arch not in archs:
        raise ColorbenchError(f"unknown {what} arch {arch!r}; choose one of {list(archs)}")
    try:
        return MODELS[arch](cfg)
    except (TypeError, ValueError) as exc:
        raise ColorbenchError(f"bad {what} config {cfg}: {exc}") from exc


def build_generator(cfg: dict[str, Any]) -> nn.Module:
    return _build(cfg, GENERATOR_ARCHS, None, "generator")


def build_discriminator(cfg: dict[str, Any]) -> nn.Module:
    return _build(cfg, DISCRIMINATOR_ARCHS, "patchgan", "discriminator")


def build_fusion(cfg: dict[str, Any]) -> nn.Module:
    return _build(cfg, FUSION_ARCHS, "densefuse", "fusion")


def _predict_ab(model: nn.Module, l_norm: torch.Tensor) -> torch.Tensor:
    return model(l_norm)


KINDS: dict[str, Builder] = {
    "generator": build_generator,
    "discriminator": build_discriminator,
    "fusion": build_fusion,
}
PREDICTORS: dict[str, Predictor] = {"generator": _predict_ab}


def register_kind(kind: str, builder: Builder, predictor: Predictor | None = None) -> None:
    """Make checkpoints of `kind` loadable (and, with a predictor, usable by colorize).

    `predictor(model, l_norm)` gets L normalised (B×1×S×S at the model size, the model in
    eval mode on its device) and returns ab normalised (B×2×S×S).
    """
    KINDS[kind] = builder
    if predictor is not None:
        PREDICTORS[kind] = predictor


def _load_kind(kind: str) -> None:
    """Import the module registering `kind`, if one is declared (KIND_MODULES)."""
    name = KIND_MODULES.get(kind)
    if name is None:
        return
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise


def kind_builder(kind: str) -> Builder:
    if kind not in KINDS:
        _load_kind(kind)
    if kind not in KINDS:
        raise ColorbenchError(f"unknown model kind {kind!r}; known: {sorted(KINDS)}")
    return KINDS[kind]


def predictor(kind: str) -> Predictor:
    if kind not in PREDICTORS:
        _load_kind(kind)
    if kind not in PREDICTORS:
        colorizers = sorted(PREDICTORS)
        raise ColorbenchError(
            f"a {kind!r} checkpoint cannot colorize images; use one of kind {colorizers}"
        )
    return PREDICTORS[kind]
