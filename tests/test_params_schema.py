"""params.yaml schema: one mechanism for stages (colorbench.params.section) and the CLI's
--set; unknown keys name the closest valid one, types are strict, errors are one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from colorbench.cli import main
from colorbench.errors import ColorbenchError
from colorbench.params import load_params, section

REPO = Path(__file__).resolve().parents[1]


def _params(tmp_path: Path, edit) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    edit(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize("profile", sorted(p.stem for p in (REPO / "profiles").glob("*.yaml")))
def test_every_profile_matches_the_schema(profile):
    load_params(REPO / "profiles" / f"{profile}.yaml")


@pytest.mark.parametrize(
    ("edit", "sec", "message"),
    [
        (lambda p: p["train_fg"].update(lamda_edge=1), "train_fg",
         "train_fg.lamda_edge: unknown key; did you mean 'lambda_edge'?"),
        (lambda p: p["train_fg"].update(batch_size="abc"), "train_fg",
         "train_fg.batch_size: expected an integer, got 'abc'"),
        (lambda p: p["train_fg"].update(batch_size=32.7), "train_fg",
         "train_fg.batch_size: expected an integer, got 32.7"),
        (lambda p: p["train_unet"].update(gan_epochs=True), "train_unet",
         "train_unet.gan_epochs: expected an integer, got True"),
        (lambda p: p["train_fg"]["generator"].update(widht=8), "train_fg",
         "train_fg.generator.widht: unknown key; did you mean 'width'?"),
        (lambda p: p["prepare"]["sources"][0].update(rol="main"), "prepare",
         "prepare.sources[0].rol: unknown key; did you mean 'role'?"),
        (lambda p: p["crops"].update(backend="maskrnn"), "crops",
         "crops.backend: 'maskrnn' is not one of annotations, maskrcnn; did you mean 'maskrcnn'?"),
        (lambda p: p.update(seeed=1), "prepare", "seeed: unknown key; did you mean 'seed'?"),
        (lambda p: p.update(num_workers="two"), "evaluate",
         "num_workers: expected an integer, got 'two'"),
        (lambda p: p["evaluate"].update(bootstrap=1.0e3), "evaluate",
         "evaluate.bootstrap: expected an integer, got 1000.0"),
    ],
)  # fmt: skip
def test_bad_params_are_one_line_errors_naming_the_key(tmp_path, edit, sec, message):
    path = _params(tmp_path, edit)
    with pytest.raises(ColorbenchError) as info:
        section(sec, path)
    assert str(info.value) == f"{path}: {message}"


def test_a_section_is_not_blocked_by_another_sections_typo(tmp_path):
    path = _params(tmp_path, lambda p: p["train_fg"].update(lamda_edge=1))
    assert section("prepare", path)["size"] == 64
    with pytest.raises(ColorbenchError, match="lamda_edge"):
        load_params(path)  # the whole file (the report stage reads every section)


def test_int_is_a_valid_float(tmp_path):
    path = _params(tmp_path, lambda p: p["train_fg"].update(lambda_edge=1))
    assert section("train_fg", path)["lambda_edge"] == 1


def test_train_stage_refuses_a_typo_in_one_line(tmp_path):
    _params(tmp_path, lambda p: p["train_fg"].update(lamda_edge=1))
    (tmp_path / "data" / "prepared").mkdir(parents=True)
    res = subprocess.run(  # dvc.yaml's train_colorizer@fg command
        [sys.executable, "-m", "colorbench", "train", "colorizer", "fg", "--params",
         "params.yaml", "--prepared", "data/prepared", "--crops", "data/crops",
         "--checkpoints", "checkpoints", "--logs", "logs", "--out", "models/fg.pt"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "error: params.yaml: train_fg.lamda_edge: unknown key; did you mean 'lambda_edge'?"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lamda_edge=1", "--set train_fg.lamda_edge: unknown key; did you mean 'lambda_edge'?"),
        ("batch_size=32.7", "--set train_fg.batch_size: expected an integer, got 32.7"),
        ("batch_size=True", "--set train_fg.batch_size: expected an integer, got True"),
        ("generator.widht=4", "--set train_fg.generator.widht: unknown key; did you mean 'width'?"),
        ("batch_size.x=4", "--set: batch_size.x: batch_size is not a map"),
    ],
)
def test_cli_set_uses_the_same_schema(tmp_path, override, message):
    path = _params(tmp_path, lambda p: None)
    res = CliRunner().invoke(
        main,
        ["train", "colorizer", "fg", "--params", str(path), "--set", override,
         "--prepared", str(tmp_path), "--crops", str(tmp_path / "crops"), "--checkpoints",
         str(tmp_path / "c"), "--logs", str(tmp_path / "l"), "--out", str(tmp_path / "fg.pt")],
    )  # fmt: skip
    assert res.exit_code != 0
    assert res.output.strip().splitlines()[-1].endswith(message), res.output
    assert "Traceback" not in res.output
