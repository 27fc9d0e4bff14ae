"""`--params FILE` (colorbench.commands._bind): one bind/validate path for DVC stages and the
CLI. The file's section gives defaults, options given on the command line win, and every
value, from either place, is checked by params_schema with the same one-line errors."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from colorbench.cli import _Group
from colorbench.commands._bind import CommaList, bind_params


@click.group(cls=_Group)
def cli() -> None:
    pass


@cli.command("probe")
@click.option("--out", required=True)
@click.option("--backend", default="annotations")
@click.option("--top-k", default=8, type=click.IntRange(min=1))
@click.option("--workers", "num_workers", default=0, type=int)
@click.option("--baseline", default="gray")
@click.option("--metrics", type=CommaList(), default=None)
@click.option("--fid-mode", default=None)
@bind_params(
    "crops",
    keys={
        "baseline": "report.baseline",
        "metrics": "evaluate.metrics",
        "fid_mode": "evaluate.fid_mode",
    },
)
def probe(cfg: dict, **values: object) -> None:
    click.echo(yaml.safe_dump({"values": values, "cfg_top_k": cfg.get("top_k")}))


def _run(tmp_path: Path, params: dict | None, *args: str) -> tuple[int, dict | str]:
    argv = ["probe", "--out", "o", *args]
    if params is not None:
        (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
        argv += ["--params", str(tmp_path / "p.yaml")]
    res = CliRunner().invoke(cli, argv)
    return res.exit_code, yaml.safe_load(res.output)["values"] if res.exit_code == 0 else res.output


def test_defaults_without_a_params_file(tmp_path: Path) -> None:
    code, got = _run(tmp_path, None)
    assert code == 0
    assert got == {"out": "o", "backend": "annotations", "top_k": 8, "num_workers": 0,
                   "baseline": "gray", "metrics": None, "fid_mode": None}  # fmt: skip


def test_file_gives_defaults_and_the_command_line_wins(tmp_path: Path) -> None:
    params = {"num_workers": 3, "crops": {"top_k": 2, "backend": "maskrcnn"},
              "report": {"baseline": "fg"}, "evaluate": {"metrics": ["psnr", "ssim"]}}  # fmt: skip
    code, got = _run(tmp_path, params)
    assert code == 0, got
    assert (got["top_k"], got["backend"], got["num_workers"]) == (2, "maskrcnn", 3)
    assert (got["baseline"], got["metrics"]) == ("fg", ["psnr", "ssim"])  # other sections
    code, got = _run(tmp_path, params, "--top-k", "5", "--workers", "0", "--metrics", "lpips")
    assert code == 0, got
    assert (got["top_k"], got["num_workers"], got["metrics"]) == (5, 0, ["lpips"])
    assert got["backend"] == "maskrcnn"


@pytest.mark.parametrize(
    ("params", "args", "message"),
    [
        ({"crops": {"top_kk": 2}}, (), "crops.top_kk: unknown key; did you mean 'top_k'?"),
        ({"crops": {"top_k": 2.5}}, (), "crops.top_k: expected an integer, got 2.5"),
        ({"crops": {"top_k": 0}}, (), "crops.top_k: 0 is not in the range x>=1."),
        # a value given on the command line meets the same schema as the file's
        ({}, ("--backend", "yolo"), "crops.backend: 'yolo' is not one of annotations, maskrcnn"),
        (None, ("--backend", "yolo"), "crops.backend: 'yolo' is not one of annotations"),
        # a key of another section is named as the file spells it, not under `crops.`
        ({"evaluate": {"fid_mode": "nope"}}, (), "error: evaluate.fid_mode: 'nope' is not one of"),
        ({}, ("--fid-mode", "nope"), "error: evaluate.fid_mode: 'nope' is not one of"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, params, args, message) -> None:
    code, out = _run(tmp_path, params, *args)
    assert code == 1
    assert out.count("\n") == 1 and out.startswith("error: ") and message in out, out


def test_trainers_bind_their_section_with_set_overrides(tmp_path: Path) -> None:
    """`colorbench train` uses the one binder: --params is required, --set overrides a key of
    the section named by the command (train_NAME), checked by the schema."""
    from colorbench.cli import main

    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"train_fg": {"batch_size": 4}}))
    args = ["--prepared", str(tmp_path), "--checkpoints", "c", "--logs", "l", "--out", "m.pt"]
    res = CliRunner().invoke(main, ["train", "colorizer", "fg", *args, "--crops", "x"])
    assert res.exit_code == 2 and "--params" in res.output
    res = CliRunner().invoke(main, ["train", "colorizer", "fg", "--params", str(path), *args,
                                    "--crops", "x", "--set", "batch_sise=8"])  # fmt: skip
    assert res.exit_code == 1
    assert "--set train_fg.batch_sise: unknown key; did you mean 'batch_size'?" in res.output
