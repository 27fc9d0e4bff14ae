"""The schema of params.yaml: every section's keys and types, checked in one place.

`check(value, SCHEMA[...], "path")` is what `colorbench.params.section` (every stage) and
`colorbench train --set` (the CLI) both run, so a typo or a wrong type is refused the same way
everywhere: one line naming the key, with the closest valid name for an unknown one.
Types are strict: 32.7 and True are not integers, "abc" is not a number; an int is accepted
where a float is expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from colorbench.errors import ColorbenchError


class ParamsError(ColorbenchError):
    """A params value that does not match the schema."""


@dataclass(frozen=True)
class Opt:
    """`inner`, or null."""

    inner: Any


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    """A map with free keys (names chosen by the user), each value of type `value`."""

    value: Any


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


ANY = object()
NUM = float  # int or float, never bool
_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}

# Every arch colorbench.models.registry builds (a test ties the two); the registry checks
# which of them a generator or a discriminator may be.
NET_ARCHS = ("unet", "resunet", "resunet_attn", "patchgan")
_NET = {  # generator / discriminator of the GAN sections
    "arch": Choice(NET_ARCHS), "width": int, "depth": int, "pretrained": bool, "n_layers": int,
    "encoder_width": Opt(int), "in_channels": int, "out_channels": int,
}  # fmt: skip
_ARCHIVE = {
    "url": str, "file": str, "filename": str, "size": Opt(int), "md5": Opt(str),
    "sha256": Opt(str), "include": ListOf(str), "images": bool, "part": str,
}  # fmt: skip
_SOURCE = {
    "name": str, "path": str, "role": Choice(("main", "background")), "annotations": Opt(str),
    "labels": Opt(str), "split": Opt(Choice(("train", "val", "test"))),
}  # fmt: skip
_COLORIZER = {
    "generator": _NET, "discriminator": _NET, "pretrain_epochs": int, "gan_epochs": int,
    "batch_size": int, "lr_pretrain": NUM, "lr_gan": NUM, "lambda_l1": NUM, "lambda_edge": NUM,
    "use_crops": bool, "use_background": bool, "checkpoint_every": int, "log_every": int,
    "edge_scale": NUM, "pretrain_data": Choice(("main", "same")), "pretrain_edge": bool,
    "version": Choice(("v2", "v3")), "sources": ListOf(str),
}  # fmt: skip

GLOBAL = {"profile": str, "seed": int, "train_seed": int, "device": str, "num_workers": int}
DERIVED = {"data_seed": int}  # added by colorbench.params.section, never written in the file
SECTIONS: dict[str, dict[str, Any]] = {
    "acquire": {
        "datasets": ListOf(str),  # acquire names the datasets it knows
        "downloads": Opt(str),
        "download": {"retries": int, "backoff": NUM, "timeout": NUM},
        "synthetic": {"n": int, "n_background": int, "size": int},
        "folder": {"path": Opt(str)},
        "coco": {"archives": ListOf(_ARCHIVE)},
        "places": {"base_url": str, "archives": ListOf(_ARCHIVE), "max_images": Opt(int)},
        "imagenet": {
            "base_url": str, "archives": ListOf(_ARCHIVE), "train_fraction": NUM,
            "val_per_class": Opt(int), "gray_chroma_threshold": Opt(NUM), "max_pixels": int,
        },
    },
    "prepare": {
        "size": int, "sources": ListOf(_SOURCE), "split": {"val": NUM, "test": NUM},
        "gray_chroma_threshold": NUM, "keep_grayscale": bool, "max_pixels": int,
        "png_compress_level": int,
    },
    "crops": {
        "backend": Choice(("annotations", "maskrcnn")), "score_threshold": NUM, "top_k": int,
        "min_box": int, "size": int, "materialize": bool, "batch_size": int,
        "detector_min_size": int, "source": Choice(("original", "prepared")),
    },
    "saliency": {
        "backend": Choice(("masks", "spectral", "deep")), "batch_size": int, "deep_weights": str,
        "deep_size": int, "deep_stretch": bool,
    },
    "train_evaluator": {
        "arch": Choice(("small_cnn", "none")), "width": int, "epochs": int, "batch_size": int,
        "lr": NUM,
    },
    "train_unet": _COLORIZER,
    "train_fg": _COLORIZER,
    "train_bg": _COLORIZER,
    "train_fusion": {
        "width": int, "epochs": int, "batch_size": int, "lr": NUM, "lambda_ssim": NUM,
        "checkpoint_every": int, "log_every": int, "use_background": bool, "sources": ListOf(str),
    },
    "train_global": {
        "width": int, "epochs": int, "batch_size": int, "lr": NUM, "checkpoint_every": int,
        "log_every": int,
    },
    "train_scgan": {
        "width": int, "global_net": Choice(("pretrained", "random", "none")),
        "phase1_epochs": int, "phase2_epochs": int, "batch_size": int, "lr_phase1": NUM,
        "lr_phase2": NUM, "lr_halve_every": int, "lambda_l1": NUM, "lambda_gan": NUM,
        "lambda_attention": NUM, "lambda_perceptual": NUM, "lambda_gp": NUM,
        "critic_iters": int, "gan": Choice(("wgan_gp", "lsgan", "none")), "attention_loss": bool,
        "perceptual": bool, "pixel_loss": Choice(("l1", "l2")),
        "perceptual_net": Choice(("evaluator", "vgg16")), "input_noise": NUM,
        "freeze_global": bool, "checkpoint_every": int, "log_every": int,
        "data_fraction": NUM, "sources": ListOf(str),
    },
    "colorize": {
        "batch_size": int, "overlay_alphas": ListOf(NUM),
        "fusion_strategy": Choice(("addition", "l1norm")), "external": MapOf(str),
        "methods": ListOf(str),
    },
    "evaluate": {
        "metrics": ListOf(str), "fid_mode": Choice(("standard", "piq", "both")), "bootstrap": int,
        "batch_size": int,
    },
    "report": {
        "grid_images": int, "baseline": str,
        "tables": {"paracolorizer_table1": str, "paracolorizer_table2": str, "scgan_table1": str},
    },
    # named evaluation sets (colorbench.protocols checks the rules between keys)
    "protocols": MapOf({
        "sources": ListOf(str), "split": Choice(("train", "val", "test")),
        "select": Choice(("all", "random", "per_class")), "n": Opt(int),
        "grayscale": Choice(("exclude", "keep")), "metrics": ListOf(str),
    }),
}  # fmt: skip
FILE = {**GLOBAL, **SECTIONS}


def check(value: Any, spec: Any, where: str) -> None:
    """Raise ParamsError (one line, naming `where`) unless `value` matches `spec`."""
    if spec is ANY:
        return
    if isinstance(spec, Opt):
        if value is not None:
            check(value, spec.inner, where)
        return
    if isinstance(spec, dict):
        check_map(value, spec, where)
    elif isinstance(spec, MapOf):
        _expect(isinstance(value, Mapping), value, "a map", where)
        for k, v in value.items():
            check(v, spec.value, f"{where}.{k}")
    elif isinstance(spec, ListOf):
        _expect(isinstance(value, list), value, "a list", where)
        for i, v in enumerate(value):
            check(v, spec.item, f"{where}[{i}]")
    elif isinstance(spec, Choice):
        _expect(isinstance(value, str), value, "a string", where)
        if value not in spec.options:
            raise ParamsError(
                f"{where}: {value!r} is not one of {', '.join(spec.options)}"
                + _hint(value, spec.options, listed=True)
            )
    elif spec is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        _expect(ok, value, _NAMES[float], where)
    elif spec is int:
        _expect(isinstance(value, int) and not isinstance(value, bool), value, _NAMES[int], where)
    else:
        _expect(isinstance(value, spec), value, _NAMES.get(spec, spec.__name__), where)


def check_map(value: Any, spec: Mapping[str, Any], where: str) -> None:
    """A map whose keys must all be in `spec` (an unknown key names the closest valid one)."""
    _expect(isinstance(value, Mapping), value, "a map", where)
    for key, v in value.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in spec:
            raise ParamsError(f"{path}: unknown key{_hint(str(key), spec)}")
        check(v, spec[key], path)


def check_params(params: Mapping[str, Any], section: str | None = None) -> None:
    """A whole params file: unknown top-level keys and the global keys' types always, then
    every section, or only `section` (a stage reads one and must not fail on another's typo)."""
    check_map({k: v for k, v in params.items() if k not in SECTIONS}, FILE, "")
    names = [section] if section is not None else [k for k in params if k in SECTIONS]
    for name in names:
        if name not in SECTIONS:
            raise ParamsError(f"{name}: unknown params section{_hint(name, SECTIONS)}")
        spec = SECTIONS[name]
        # a global key inside a section overrides it there (section() merges them)
        check(params.get(name) or {}, spec if isinstance(spec, MapOf) else {**GLOBAL, **spec}, name)


def check_section(name: str, params: Mapping[str, Any]) -> None:
    """A section as `colorbench.params.section` returns it: its keys plus the global ones
    (e.g. after `colorbench train --set` changed it)."""
    if name not in SECTIONS:
        raise ParamsError(f"{name}: unknown params section{_hint(name, SECTIONS)}")
    shared = {**GLOBAL, **DERIVED}
    check({k: v for k, v in params.items() if k not in shared}, SECTIONS[name], name)
    check({k: v for k, v in params.items() if k in shared}, shared, "")


def _expect(ok: bool, value: Any, what: str, where: str) -> None:
    if not ok:
        raise ParamsError(f"{where}: expected {what}, got {value!r}")


def _hint(name: str, valid: Any, listed: bool = False) -> str:
    close = difflib.get_close_matches(name, [str(v) for v in valid], n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return "" if listed else f" (valid: {', '.join(map(str, valid))})"
