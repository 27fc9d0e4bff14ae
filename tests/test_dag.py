"""The DVC stage graph is whole under every profile and without SCGAN: each stage's data
dependencies are written by some stage (or are committed files), so no stage waits on a
folder nothing writes. Checked on DVC's own resolution of dvc.yaml, in a temp copy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCGAN_STAGES = {"train_global", "train_scgan", "colorize_scgan"}


def _stages(repo_root: Path, tmp_path: Path, profile: str) -> dict[str, tuple[list, list]]:
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    work = tmp_path / profile
    work.mkdir()
    for name in ("dvc.yaml", ".dvc"):
        src = repo_root / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    shutil.copy2(repo_root / "profiles" / f"{profile}.yaml", work / "params.yaml")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    with Repo(str(work)) as repo:
        repo.index.graph  # noqa: B018 - builds the DAG: raises on cycles or overlapping outs
        return {
            s.name: (
                [str(d.def_path) for d in s.deps if not isinstance(d, ParamsDependency)],
                [str(o.def_path) for o in s.outs],
            )
            for s in repo.index.stages
        }


def _written(dep: str, outs: set[str]) -> bool:
    """`dep` is an output, lies inside one, or is a folder holding one."""
    return any(dep == o or dep.startswith(o + "/") or o.startswith(dep + "/") for o in outs)


def _unmet(stages: dict[str, tuple[list, list]], repo_root: Path) -> list[str]:
    outs = {o for _, (_, os_) in stages.items() for o in os_}
    return [
        f"{name}: {dep}"
        for name, (deps, _) in stages.items()
        for dep in deps
        if not _written(dep, outs) and not (repo_root / dep).exists()
    ]


@pytest.mark.parametrize("profile", ["synthetic", "paper", "paper-mini"])
def test_every_dependency_is_written_even_without_scgan(
    repo_root: Path, tmp_path: Path, profile: str
) -> None:
    stages = _stages(repo_root, tmp_path, profile)
    base = {k: k.split("@")[0] for k in stages}  # colorize_scgan@<protocol> -> colorize_scgan
    assert set(base.values()) >= SCGAN_STAGES
    assert _unmet(stages, repo_root) == []
    without = {k: v for k, v in stages.items() if base[k] not in SCGAN_STAGES}
    assert _unmet(without, repo_root) == []
    # SCGAN's predicted saliency is read when present, never required.
    assert not any("outputs_saliency" in d for deps, _ in without.values() for d in deps)
    # The global network's labels may come from COCO annotations (data/raw).
    assert "data/raw" in stages["train_global"][0]


def test_unmet_finds_a_folder_nothing_writes(repo_root: Path) -> None:
    stages = {"a": (["params.yaml"], ["data/x"]), "b": (["data/x/y", "data/z"], [])}
    assert _unmet(stages, repo_root) == ["b: data/z"]
