"""`colorbench prepare` (CliRunner and a real subprocess), also as the DVC stage runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from click.testing import CliRunner
from PIL import Image

from colorbench.cli import main
from colorbench.data.manifest import read_manifest


def _folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for i in range(6):
        arr = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        (root / ("a" if i % 2 else "b")).mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(root / ("a" if i % 2 else "b") / f"p{i // 2}.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (root / "readme.txt").write_text("hello")
    return root


def _colorbench() -> str:
    exe = Path(sys.executable).parent / "colorbench"
    return str(exe) if exe.exists() else "colorbench"


def test_cli_runner_exits_zero_with_rejects(tmp_path: Path) -> None:
    src = _folder(tmp_path / "photos")
    (tmp_path / "labels.csv").write_text("file_name,label\na/p0.png,x\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["prepare", "--input", str(src), "--out", str(out), "--size", "16", "--workers", "0"]
        + ["--labels", str(tmp_path / "labels.csv"), "--val", "0", "--test", "0.5"],
    )
    assert result.exit_code == 0, result.output
    assert "kept 6 images" in result.output and "rejected 2 files" in result.output
    df = read_manifest(out).set_index("id")
    # stems p0..p2 collide between a/ and b/: the sub-folder makes them unique
    assert set(df.index) == {f"{d}_p{i}" for d in "ab" for i in range(3)}
    assert (df["source"] == "photos").all() and df.loc["a_p0", "label"] == "x"
    assert set(df["split"]) <= {"train", "test"}
    assert Image.open(out / "images" / "a_p0.png").size == (16, 16)
    assert (out / "rejects.csv").read_text().count("\n") == 3


def test_cli_options_role_split_and_help(tmp_path: Path) -> None:
    src = _folder(tmp_path / "photos")
    out = tmp_path / "out"
    args = ["prepare", "--input", str(src), "--out", str(out), "--size", "16", "--workers", "0"]
    result = CliRunner().invoke(main, [*args, "--role", "background", "--name", "bgs"])
    assert result.exit_code == 0, result.output
    df = read_manifest(out)
    assert (df["role"] == "background").all() and (df["split"] == "train").all()
    assert (df["source"] == "bgs").all()
    result = CliRunner().invoke(main, [*args, "--split", "test"])
    assert result.exit_code == 0 and (read_manifest(out)["split"] == "test").all()
    help_text = CliRunner().invoke(main, ["prepare", "--help"]).output
    for opt in ("--input", "--out", "--size", "--seed", "--workers", "--role", "--keep-grayscale"):
        assert opt in help_text
    assert "--gray-threshold" in help_text and "--labels" in help_text


def test_cli_subprocess_exit_codes(tmp_path: Path) -> None:
    src = _folder(tmp_path / "photos")
    out = tmp_path / "out"
    cmd = [_colorbench(), "prepare", "--input", str(src), "--out", str(out), "--size", "16"]
    proc = subprocess.run([*cmd, "--workers", "2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(read_manifest(out)) == 6 and "rejected 2" in proc.stdout
    # missing input and nothing keepable: non-zero, one clear line, no traceback
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.txt").write_text("no")
    for input_dir, message in (
        (tmp_path / "nope", "does not exist"),
        (bad, "no image could be kept"),
    ):
        proc = subprocess.run(
            [_colorbench(), "prepare", "--input", str(input_dir), "--out", str(tmp_path / "o2")]
            + ["--workers", "0"],  # in-process: no pool, no torch import when nothing decodes
            capture_output=True,
            text=True,
        )
        assert proc.returncode != 0
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "o2").exists()


def test_stage_script_reads_params(tmp_path: Path, repo_root: Path) -> None:
    raw = tmp_path / "data" / "raw"
    _folder(raw / "main")
    _folder(raw / "bg")
    (raw / "labels.csv").write_text("file_name,label\nb/p1.png,dog\n")
    params = {
        "seed": 3,
        "num_workers": 0,
        "prepare": {
            "size": 16,
            "sources": [
                {
                    "name": "main",
                    "path": "data/raw/main",
                    "role": "main",
                    "labels": "data/raw/labels.csv",
                },
                {"name": "bg", "path": "data/raw/bg", "role": "background"},
            ],
            "split": {"val": 0.2, "test": 0.2},
            "gray_chroma_threshold": 4.0,
            "keep_grayscale": False,
            "max_pixels": 10_000,
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorbench",
            "prepare",
            "--params",
            "params.yaml",
            "--out",
            "data/prepared",
        ],  # the dvc.yaml stage's command
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    df = read_manifest(tmp_path / "data" / "prepared")
    assert len(df) == 12 and set(df["source"]) == {"main", "bg"}
    assert df["id"].is_unique and df["id"].str.startswith(("main_", "bg_")).all()
    assert (df[df["source"] == "bg"]["split"] == "train").all()
    assert df.set_index("id").loc["main_b_p1", "label"] == "dog"
    assert df["orig_path"].str.startswith("data/raw/").all()  # relative, as params name them
