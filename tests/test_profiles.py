"""`paper-mini` is `paper` shrunk: the same keys, and values differ only where a key is a
size, count, epoch count, width, URL, checksum or the device, so CI's end-to-end run of
paper-mini exercises the paper's datasets, backends and stage graph."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

# Leaf names that may differ. `depth` is the U-Net's number of stride-2 levels, tied to the
# image size (2**depth must divide prepare.size), so it shrinks with the size.
MAY_DIFFER = re.compile(
    r"^(profile|device|num_workers|max_images|n|n_background|val_per_class|min_box|.*size"
    r"|.*epochs|width|depth|url|base_url|md5|sha256)$"
)


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        out = {f"{prefix}[#]": len(node)}
        for i, v in enumerate(node):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: node}


def _load(repo: Path, name: str) -> dict[str, Any]:
    return flatten(yaml.safe_load((repo / "profiles" / f"{name}.yaml").read_text()))


def test_paper_mini_differs_from_paper_only_in_allowed_keys(repo_root: Path) -> None:
    paper, mini = _load(repo_root, "paper"), _load(repo_root, "paper-mini")
    assert set(paper) == set(mini), set(paper) ^ set(mini)
    changed = {k for k in paper if paper[k] != mini[k]}
    leaf = {k: re.sub(r"\[\d+\]$", "", k).rsplit(".", 1)[-1] for k in changed}
    bad = sorted(k for k in changed if not MAY_DIFFER.match(leaf[k]))
    assert not bad, [(k, paper[k], mini[k]) for k in bad]
    # It is smaller, not merely different, and keeps the paper's backends.
    assert mini["prepare.size"] < paper["prepare.size"]
    for key in ("crops.backend", "saliency.backend", "train_fg.generator.pretrained",
                "train_scgan.perceptual_net", "evaluate.metrics", "acquire.datasets"):  # fmt: skip
        assert mini[key] == paper[key], key


def test_flatten_sees_every_difference() -> None:
    a = {"x": {"width": 4, "lr": 0.1}, "l": [{"url": "u", "md5": "m"}]}
    b = {"x": {"width": 8, "lr": 0.2}, "l": [{"url": "v", "md5": "m"}]}
    fa, fb = flatten(a), flatten(b)
    assert {k for k in fa if fa[k] != fb[k]} == {"x.width", "x.lr", "l[0].url"}
    assert not MAY_DIFFER.match("lr") and MAY_DIFFER.match("batch_size")
