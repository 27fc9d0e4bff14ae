"""`colorbench profile check`: every stage of dvc.yaml, rendered with a profile, binds its
settings through the real command line, with nothing run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from colorbench.cli import main
from colorbench.profiles import available


@pytest.mark.parametrize("name", available(Path(__file__).resolve().parents[1]))
def test_every_profile_is_accepted_by_every_stage(repo_root: Path, name: str) -> None:
    result = CliRunner().invoke(main, ["profile", "check", name, "--root", str(repo_root)])
    assert result.exit_code == 0, result.output
    n_stages = len(yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"])
    n = int(result.output.split("all ")[1].split()[0])
    assert n >= n_stages  # foreach/matrix stages count once per item


def test_refused_settings_name_stage_and_key(repo_root: Path, tmp_path: Path) -> None:
    shutil.copyfile(repo_root / "dvc.yaml", tmp_path / "dvc.yaml")
    params = yaml.safe_load((repo_root / "profiles/paper-mini.yaml").read_text())
    params["profile"] = "broken"
    params["crops"]["batch_size"] = "abc"  # a type the schema refuses
    params["train_evaluator"]["epochs"] = -1  # a range only the command's option knows
    params["evaluate"]["fid_mode"] = "bogus"  # a choice
    params["train_fg"]["lamda_edge"] = 1  # a typo in a trainer's section
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles/broken.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = CliRunner().invoke(main, ["profile", "check", "broken", "--root", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "crops: params.yaml: crops.batch_size: expected an integer, got 'abc'" in lines
    assert any(line.startswith("train_evaluator: ") and "train_evaluator.epochs" in line
               and "-1" in line for line in lines)  # fmt: skip
    assert any(line.startswith("evaluate: ") and "'bogus'" in line for line in lines)
    typo = "train_fg.lamda_edge: unknown key; did you mean 'lambda_edge'?"
    assert f"train_colorizer@fg: params.yaml: {typo}" in lines
    assert lines[-1].startswith("error: ") and "stages refuse the settings" in lines[-1]
    # nothing was written beside the profile
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dvc.yaml", "profiles"]


def test_missing_profile_is_one_line(repo_root: Path) -> None:
    result = CliRunner().invoke(main, ["profile", "check", "nope", "--root", str(repo_root)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {repo_root}/profiles/nope.yaml not found (profiles: `colorbench profile list`)"
    ]
