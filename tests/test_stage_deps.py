"""Every DVC stage depends on the colorbench code it runs (tools/stage_deps.py), so a code
change can never leave `dvc status` clean over results of old code."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import REPO

_spec = importlib.util.spec_from_file_location("stage_deps", REPO / "tools" / "stage_deps.py")
stage_deps = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage_deps)


@pytest.fixture(scope="module")
def closures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The real dvc.yaml's stages, read in a copy (opening a DVC repo writes to .dvc/tmp)."""
    work = tmp_path_factory.mktemp("stage_deps")
    for name in ("src", "profiles"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".dvc/config"):
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, work / name)
    return {"root": work, "stages": stage_deps.stage_closures(work)}


def test_every_stage_depends_on_all_the_code_it_runs(closures: dict) -> None:
    root, stages = closures["root"], closures["stages"]
    assert len(stages) > 10  # new stages are checked as soon as dvc.yaml declares them
    bad = stage_deps.check(root, stages)
    assert not bad, f"{bad}\nrun `python tools/stage_deps.py --write` (README: Architecture)"
    for name, (files, deps) in stages.items():
        assert root / "src/colorbench/errors.py" in files, name  # its entry point was found
        assert "src" not in deps and "src/colorbench" not in deps, name  # not the whole library


def test_resunet_is_code_of_its_users_only(closures: dict) -> None:
    """Only fg's and bg's training runs the Res-UNet file; colorize gets it through their
    checkpoints (downstream), and the U-Net's stages never import it."""
    root, stages = closures["root"], closures["stages"]
    resunet, unet = (
        root / "src/colorbench/models/resunet.py",
        root / "src/colorbench/models/unet.py",
    )
    users = {name for name, (files, _) in stages.items() if resunet in files}
    assert users == {"train_colorizer@fg", "train_colorizer@bg"}
    assert {name for name, (files, _) in stages.items() if unet in files} == {
        "train_colorizer@unet"
    }


def test_each_trainer_is_code_of_its_own_stage_only(closures: dict) -> None:
    """`colorbench train` is a group: a training stage runs its subcommand's trainer, never
    its siblings' (editing SCGAN never re-runs the colorizers' training)."""
    root, stages = closures["root"], closures["stages"]
    src = root / "src/colorbench"
    owners = {
        "methods/paracolorizer/train_colorizer.py": {
            f"train_colorizer@{n}" for n in ("unet", "fg", "bg")
        },
        "methods/paracolorizer/train_fusion.py": {"train_fusion"},
        "methods/scgan/train.py": {"train_scgan"},
        "methods/scgan/train_global.py": {"train_global"},
        "commands/train/scgan.py": {"train_scgan"},
    }
    for rel, expected in owners.items():
        users = {name for name, (files, _) in stages.items() if src / rel in files}
        assert users == expected, rel


def test_closure_follows_lazy_relative_and_named_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "src" / "colorbench"
    files = {
        "__init__.py": "",
        "errors.py": "",
        "sub/__init__.py": "from .leaf import X\n",
        "sub/leaf.py": "X = 1\n",
        "lazy.py": "def f():\n    from colorbench import errors\n",
        "named.py": 'PLUGINS = ("colorbench.plugin",)\nCHECK = "colorbench.checked:load"\n',
        "plugin.py": "",
        "checked.py": "",
        "unused.py": "import colorbench.errors\n",
        "models/__init__.py": "",
        "models/registry.py": 'GENERATOR_MODULES = {"a": "colorbench.models.net_a"}\n',
        "models/net_a.py": "",
    }
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    entry = tmp_path / "stage.py"
    entry.write_text(
        "import colorbench.lazy\nfrom colorbench.sub import X\nimport colorbench.named\n"
    )
    src = tmp_path / "src"

    got = {str(p.relative_to(pkg)) for p in stage_deps.closure(src, [entry])}
    expected = set(files) - {"unused.py", "models/__init__.py", "models/registry.py"}
    assert got == expected - {"models/net_a.py"}  # the network only when its arch is picked
    picked = stage_deps.closure(src, [entry], ["colorbench.models.net_a"])
    assert {str(p.relative_to(pkg)) for p in picked} == expected | {"models/__init__.py"}

    deps = stage_deps.as_deps(tmp_path, set(stage_deps.closure(src, [entry])))
    assert "src/colorbench/sub" in deps and "src/colorbench/lazy.py" in deps  # whole package
    problems = stage_deps.problems(tmp_path, set(stage_deps.closure(src, [entry])), deps[1:])
    assert problems and "does not depend on" in problems[0]
    stale = stage_deps.problems(tmp_path, {pkg / "errors.py"}, ["src/colorbench/sub"])
    assert any("never runs" in p for p in stale)


def test_entry_points_of_scripts_and_cli_commands(tmp_path: Path) -> None:
    for rel in (
        "scripts/train.py",
        "src/colorbench/cli.py",
        "src/colorbench/commands/fit.py",
        "src/colorbench/commands/fit_more.py",
        "y.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert stage_deps.entry_points(tmp_path, "python scripts/train.py fg") == [
        tmp_path / "scripts/train.py"
    ]
    cli = stage_deps.entry_points(tmp_path, "colorbench fit --out 'models/a b.pt'")
    assert cli == [tmp_path / "src/colorbench/cli.py", tmp_path / "src/colorbench/commands/fit.py"]
    assert stage_deps.entry_points(tmp_path, "echo hi") == []
    # a group's subcommand: the group's __init__ and the one module it runs
    for rel in ("train/__init__.py", "train/colorizer.py", "train/global_.py"):
        (tmp_path / "src/colorbench/commands" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src/colorbench/commands" / rel).write_text("")
    cmd = tmp_path / "src/colorbench/commands"
    for sub, module in (("colorizer fg", "colorizer.py"), ("global", "global_.py")):
        assert stage_deps.entry_points(tmp_path, f"colorbench train {sub} --out m.pt") == [
            tmp_path / "src/colorbench/cli.py",
            cmd / "train/__init__.py",
            cmd / "train" / module,
        ]
    # a command's module is its name with _ for - ; a YAML-style comment is not a word
    assert stage_deps.entry_points(tmp_path, "colorbench fit-more --out x  # inputs: y.py") == [
        tmp_path / "src/colorbench/cli.py",
        tmp_path / "src/colorbench/commands/fit_more.py",
    ]


def test_scgan_networks_are_code_of_scgan_stages_only(closures: dict) -> None:
    """The model registry imports SCGAN's networks (KIND_MODULES) only when an scgan
    checkpoint is loaded: editing them re-runs SCGAN's stages, never ParaColorizer's."""
    root, stages = closures["root"], closures["stages"]
    nets = root / "src/colorbench/methods/scgan/nets.py"
    users = {name for name, (files, _) in stages.items() if nets in files}
    assert {"train_scgan", "train_global"} <= users
    assert all(u.startswith(("train_scgan", "train_global", "colorize_scgan")) for u in users)
    assert any(u.startswith("colorize_scgan") for u in users)
    for name in stages:
        if name.startswith(("train_colorizer", "train_fusion", "colorize_model", "colorize_fused")):
            assert name not in users, name


def test_a_colorize_stage_runs_its_own_method_only(closures: dict) -> None:
    """The method registry imports the module declaring the method a stage names: editing
    one method's files re-runs its stages (and the report's, which lists every method's
    declaration), never another method's."""
    root, stages = closures["root"], closures["stages"]
    methods = root / "src/colorbench/methods"
    for name, (files, _) in stages.items():
        if name.startswith(("colorize_model", "colorize_gray")):
            assert methods / "scgan/method.py" not in files, name
            assert methods / "overlay.py" not in files, name
        if name.startswith("colorize_scgan"):
            assert methods / "paracolorizer/method.py" not in files, name
    report = stages["report"][0]
    assert methods / "scgan/method.py" in report and methods / "overlay.py" in report
    assert methods / "scgan/nets.py" not in report and methods / "scgan/train.py" not in report
