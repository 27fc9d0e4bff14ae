"""`colorbench study build`: a seeded, blind study folder from methods' outputs.

Fooling test (ParaColorizer): every item pairs a method's output with its ground truth.
Participants first see a trial batch (answers shown), then `batches` batches of `per_batch`
items; batch membership is fixed (Table III counts per batch), the order of batches, of
items within a batch and the left/right placement are drawn per participant. Each item gets
one image of its own, so a participant never sees the same ground truth twice.

Ratings (SCGAN): every group shows the grayscale input and, in a per-participant order, each
method's output plus the ground truth as an unlabelled candidate (its ratings are the
ceiling row); each candidate gets three 0-10 ratings.

Attention checks: planted items whose "recolorized" image is the ground truth with its
chroma inverted and boosted (blue grass, orange sky). A fooling check is failed when it is
misclassified; a rating check when the planted image's naturalness is not rated below the
ground truth's in the same group. A participant failing more than `max_failed_checks`
checks is excluded; the rule is fixed when the study is built, before any answer.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from colorbench.atomic import atomic_dir
from colorbench.errors import ColorbenchError
from colorbench.study.pngpad import pad_pngs

KINDS = ("fooling", "rating")
CRITERIA = ("naturalness", "bleeding", "colourfulness")
GROUND_TRUTH = "ground_truth"
PLANTED = "planted"
INPUT = "input"
FORMAT = 1


@dataclass
class BuildConfig:
    outputs: Path
    prepared: Path
    out: Path
    methods: list[str]
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    participants: int = 20
    batches: int = 4
    per_batch: int = 5
    trial: int = 3
    groups: int = 30
    fooling_checks: int = 2
    rating_checks: int = 1
    max_failed_checks: int = 0
    split: str = "test"
    seed: int = 0

    def validate(self) -> None:
        if not self.methods:
            raise ColorbenchError("give at least one --method")
        bad = [k for k in self.kinds if k not in KINDS]
        if bad or not self.kinds:
            raise ColorbenchError(f"study kinds must be among {', '.join(KINDS)}, got {bad}")
        reserved = {GROUND_TRUTH, PLANTED, INPUT} & set(self.methods)
        if reserved:
            raise ColorbenchError(f"method name(s) reserved by the study: {sorted(reserved)}")
        for name in ("participants", "batches", "per_batch"):
            if getattr(self, name) < 1:
                raise ColorbenchError(f"{name} must be >= 1")
        for name in ("trial", "groups", "fooling_checks", "rating_checks", "max_failed_checks"):
            if getattr(self, name) < 0:
                raise ColorbenchError(f"{name} must be >= 0")


def candidate_ids(cfg: BuildConfig) -> list[str]:
    """Ids of the split that have a ground truth and an output of every method."""
    from colorbench.data.manifest import image_path, read_prepared, select

    ids = select(read_prepared(cfg.prepared), split=cfg.split, role="main")["id"].tolist()
    for m in cfg.methods:
        if not (cfg.outputs / m).is_dir():
            raise ColorbenchError(f"no outputs for method '{m}' in {cfg.outputs / m}")
    return sorted(
        i
        for i in ids
        if image_path(cfg.prepared, i).is_file()
        and all((cfg.outputs / m / f"{i}.png").is_file() for m in cfg.methods)
    )


class _Images:
    """Copies images under opaque random names; remembers what each one really is."""

    def __init__(self, cfg: BuildConfig, folder: Path, rng: np.random.Generator) -> None:
        self.cfg, self.folder, self.rng = cfg, folder, rng
        self.index: dict[str, dict[str, str]] = {}

    def add(self, image_id: str, source: str) -> str:
        from PIL import Image

        from colorbench.data.manifest import image_path
        from colorbench.metrics.decode import read_rgb

        gt = read_rgb(image_path(self.cfg.prepared, image_id))
        if source == GROUND_TRUTH:
            rgb = gt
        elif source == INPUT:
            from colorbench.color import gray_rgb

            rgb = gray_rgb(gt)
        elif source == PLANTED:
            rgb = planted_image(gt)
        else:
            rgb = read_rgb(self.cfg.outputs / source / f"{image_id}.png")
            if rgb.shape != gt.shape:
                raise ColorbenchError(
                    f"{self.cfg.outputs / source / image_id}.png is {rgb.shape[1]}x{rgb.shape[0]}"
                    f", its ground truth {gt.shape[1]}x{gt.shape[0]}"
                )
        key = self.rng.bytes(10).hex()
        # Re-encoded without metadata, so no PNG text chunk or file name leaks the source.
        Image.fromarray(np.ascontiguousarray(rgb)).save(self.folder / f"{key}.png", optimize=False)
        self.index[key] = {"image": image_id, "source": source}
        return key


def planted_image(rgb: np.ndarray) -> np.ndarray:
    """The attention-check fake: chroma inverted and boosted, lightness kept."""
    import warnings

    from colorbench.color import lab_to_rgb, rgb_to_lab

    lab = rgb_to_lab(rgb)
    lab[..., 1:] = np.clip(-1.6 * lab[..., 1:] + np.sign(-lab[..., 1:]) * 15.0, -110, 110)
    with warnings.catch_warnings():  # out-of-gamut colours are clipped, as intended
        warnings.simplefilter("ignore")
        return lab_to_rgb(lab)


def _fooling(cfg: BuildConfig, ids: list[str], images: _Images, rng) -> dict:
    items = []
    n_main = cfg.batches * cfg.per_batch
    for k, image_id in enumerate(ids[: cfg.trial + n_main + cfg.fooling_checks]):
        check = k >= cfg.trial + n_main
        if k < cfg.trial:
            batch = 0
        elif check:
            batch = int(rng.integers(1, cfg.batches + 1))
        else:
            batch = 1 + (k - cfg.trial) // cfg.per_batch
        # Methods take turns within the trial and within the scored items (balanced).
        turn = k if k < cfg.trial else k - cfg.trial
        method = PLANTED if check else cfg.methods[turn % len(cfg.methods)]
        items.append(
            {
                "id": f"f{k}",
                "image": image_id,
                "method": method,
                "batch": batch,
                "check": check,
                "real": images.add(image_id, GROUND_TRUTH),
                "fake": images.add(image_id, method),
            }
        )
    return {"batches": cfg.batches, "per_batch": cfg.per_batch, "trial": cfg.trial, "items": items}


def _rating(cfg: BuildConfig, ids: list[str], images: _Images) -> dict:
    groups = []
    for k, image_id in enumerate(ids[: cfg.groups + cfg.rating_checks]):
        check = k >= cfg.groups
        sources = [*cfg.methods, GROUND_TRUTH] + ([PLANTED] if check else [])
        groups.append(
            {
                "id": f"r{k}",
                "image": image_id,
                "check": check,
                "input": images.add(image_id, INPUT),
                "candidates": [{"key": images.add(image_id, s), "source": s} for s in sources],
            }
        )
    return {"criteria": list(CRITERIA), "groups": groups}


def _plan(spec: dict, rng: np.random.Generator) -> list[dict]:
    """One participant's screens: trial, shuffled batches of shuffled items, then rating
    groups in a shuffled order with shuffled candidates; real-on-A balanced."""
    screens: list[dict] = []
    if "fooling" in spec:
        items = spec["fooling"]["items"]
        batches = [
            [it for it in items if it["batch"] == b] for b in range(spec["fooling"]["batches"] + 1)
        ]
        order = [0, *(1 + rng.permutation(len(batches) - 1))]
        seq = [
            it for b in order for it in (batches[b][i] for i in rng.permutation(len(batches[b])))
        ]
        real_on_a = rng.permutation(np.arange(len(seq)) % 2 == 0)
        screens += [
            {"kind": "fool", "item": it["id"], "a": "real" if a else "fake"}
            for it, a in zip(seq, real_on_a, strict=True)
        ]
    if "rating" in spec:
        groups = spec["rating"]["groups"]
        for g in rng.permutation(len(groups)):
            n = len(groups[g]["candidates"])
            screens.append(
                {"kind": "rate", "group": groups[g]["id"], "order": rng.permutation(n).tolist()}
            )
    return screens


def build_study(cfg: BuildConfig) -> dict:
    """Write the study folder (atomically) and return its spec."""
    cfg.validate()
    if (cfg.out / "responses").is_dir() and any((cfg.out / "responses").iterdir()):
        raise ColorbenchError(f"{cfg.out} already holds responses; build into a new folder")
    rng = np.random.default_rng([cfg.seed, 1])
    ids = [str(i) for i in rng.permutation(candidate_ids(cfg))]
    n_fool = cfg.trial + cfg.batches * cfg.per_batch + cfg.fooling_checks
    need = (n_fool if "fooling" in cfg.kinds else 0) + (
        cfg.groups + cfg.rating_checks if "rating" in cfg.kinds else 0
    )
    if len(ids) < need:
        raise ColorbenchError(
            f"the study needs {need} distinct '{cfg.split}' images with outputs of every method "
            f"({', '.join(cfg.methods)}), only {len(ids)} have them"
        )
    spec: dict = {
        "format": FORMAT,
        "name": cfg.out.name,
        "seed": cfg.seed,
        "methods": list(cfg.methods),
        "config": {k: v for k, v in asdict(cfg).items() if k not in ("outputs", "prepared", "out")},
        "exclusion": {
            "max_failed_checks": cfg.max_failed_checks,
            "rule": f"a participant failing more than {cfg.max_failed_checks} attention check(s) "
            "is excluded; a fooling check fails when misclassified, a rating check when the "
            "planted image's naturalness is not rated below the ground truth's",
        },
    }
    with atomic_dir(cfg.out) as tmp:
        (tmp / "images").mkdir()
        (tmp / "responses").mkdir()
        images = _Images(cfg, tmp / "images", np.random.default_rng([cfg.seed, 2]))
        if "fooling" in cfg.kinds:
            spec["fooling"] = _fooling(
                cfg, ids[:n_fool], images, np.random.default_rng([cfg.seed, 3])
            )
        if "rating" in cfg.kinds:
            rest = ids[n_fool:] if "fooling" in cfg.kinds else ids
            spec["rating"] = _rating(cfg, rest, images)
        spec["images"] = images.index
        pad_pngs(sorted((tmp / "images").glob("*.png")))  # sizes must not tell real from fake
        spec["participants"] = [f"P{i + 1:02d}" for i in range(cfg.participants)]
        spec["plans"] = {
            p: _plan(spec, np.random.default_rng([cfg.seed, 4, i]))
            for i, p in enumerate(spec["participants"])
        }
        (tmp / "study.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        # Tokens are secrets, not derived from the seed: anyone could recompute those.
        tokens = {p: secrets.token_urlsafe(16) for p in spec["participants"]}
        (tmp / "tokens.json").write_text(json.dumps(tokens, indent=1) + "\n", encoding="utf-8")
        (tmp / "responses" / ".keep").write_text("")
        (tmp / ".gitignore").write_text("tokens.json\n")  # link secrets stay local
    return spec
