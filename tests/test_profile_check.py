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


def test_names_resolved_at_run_time_and_the_command_line_are_checked(
    repo_root: Path, tmp_path: Path
) -> None:
    """What a stage resolves only when it runs (protocols, method names, overlay alphas,
    network archs, a CLI choice list) and a stage cmd missing a required option."""
    dvc_yaml = (repo_root / "dvc.yaml").read_text()
    # a trainer's cmd that lost its --params (required): refused, not silently defaulted
    dvc_yaml = dvc_yaml.replace(
        "colorbench train fusion --params params.yaml", "colorbench train fusion", 1
    )
    (tmp_path / "dvc.yaml").write_text(dvc_yaml)
    params = yaml.safe_load((repo_root / "profiles/synthetic.yaml").read_text())
    params["profile"] = "late"
    params["protocols"]["test"]["selct"] = "all"
    params["colorize"]["overlay_alphas"] = [1.5]
    params["colorize"]["methods"] = ["nosuch"]
    params["acquire"]["datasets"] = ["nosuchds"]
    params["train_unet"]["generator"]["arch"] = "bogus"
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles/late.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    result = CliRunner().invoke(main, ["profile", "check", "late", "--root", str(tmp_path)])
    assert result.exit_code == 1
    out = {}
    for line in result.output.splitlines()[:-1]:
        stage, _, why = line.partition(": ")
        out[stage] = why
    assert "train_unet.generator.arch: 'bogus'" in out["params"]  # the file's first error
    assert "train_unet.generator.arch: 'bogus' is not one of" in out["train_colorizer@unet"]
    assert "'nosuchds' is not one of 'synthetic'" in out["acquire@nosuchds"]
    assert out["colorize_overlay@1.5-test"] == "--alpha 1.5: alpha must be a number in [0, 1]"
    assert out["colorize_method@nosuch-test"].startswith("unknown method 'nosuch'")
    typo = "protocols.test.selct: unknown key; did you mean 'select'?"
    assert out["colorize_gray@test"] == typo
    assert "Missing option '--params'" in out["train_fusion"]
