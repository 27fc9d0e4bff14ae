"""Atomic outputs under stress: umask permissions, byte-stable checkpoints, stale temp
siblings of dead processes, concurrent writers, SIGTERM/SIGINT mid-stage."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorbench.atomic import atomic_dir, atomic_file, atomic_path, clear_stale
from colorbench.errors import ColorbenchError

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_respect_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        with atomic_dir(tmp_path / "d") as d:
            (d / "f.txt").write_text("x")
        with atomic_file(tmp_path / "f.json") as fh:
            fh.write("{}")
        with atomic_path(tmp_path / "m.pt") as p:
            torch.save({"a": 1}, p)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "m.pt").stat().st_mode) == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f.json", "m.pt"]


def test_checkpoints_are_byte_identical_for_identical_tensors(tmp_path):
    from colorbench.models.checkpoint import save_model
    from colorbench.models.registry import build_fusion
    from colorbench.train.checkpointing import save_checkpoint

    torch.manual_seed(0)
    net = build_fusion({"width": 4})
    a = save_model(tmp_path / "a" / "fusion.pt", "fusion", {"width": 4}, net).read_bytes()
    b = save_model(tmp_path / "b" / "fusion.pt", "fusion", {"width": 4}, net).read_bytes()
    assert a == b
    save_checkpoint(tmp_path / "a" / "last.pt", {"w": net.state_dict()})
    save_checkpoint(tmp_path / "b" / "last.pt", {"w": net.state_dict()})
    assert (tmp_path / "a" / "last.pt").read_bytes() == (tmp_path / "b" / "last.pt").read_bytes()


def test_stale_temp_siblings_of_dead_processes_are_cleared(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    for name in (f".out.tmp-{dead}-abc", ".out.tmp-legacy1", f".other.tmp-{dead}-x",
                 f".out.tmp-{alive}-live", f".out.old-{dead}"):  # fmt: skip
        (tmp_path / name).mkdir()
        (tmp_path / name / "partial.png").write_bytes(b"x")
    (tmp_path / f".model.pt.tmp-{dead}-q").mkdir()
    with atomic_dir(tmp_path / "out") as d:
        (d / "a").write_text("a")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f".out.tmp-{alive}-live", "out"])  # a live writer's is kept
    assert clear_stale(tmp_path / "out") == []


def test_concurrent_writer_of_one_output_is_refused(tmp_path):
    target = tmp_path / "prepared"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from colorbench.atomic import atomic_dir\n"
         f"with atomic_dir({str(target)!r}) as d:\n"
         "    print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        refused = pytest.raises(ColorbenchError, match="being written by another process")
        with refused, atomic_dir(target):
            pass
    finally:
        holder.kill()
        holder.wait()
    with atomic_dir(target) as d:  # the lock dies with its holder
        (d / "x").write_text("x")
    assert (target / "x").is_file()
    assert not list(tmp_path.glob(".prepared.lock"))


def _images(folder: Path, n: int) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(
            folder / f"{i}.png"
        )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_prepare_cleans_up_and_exits_quietly(tmp_path, sig, code):
    """A real `colorbench prepare` with 2 pool workers, signalled while it writes: exit
    128+signal, one line on stderr, no traceback from any worker, no temp folder left."""
    _images(tmp_path / "raw", 4000)  # long enough to be mid-run under load
    out = tmp_path / "prepared"
    proc = subprocess.Popen(
        [sys.executable, "-m", "colorbench.cli", "prepare", "--input", str(tmp_path / "raw"),
         "--out", str(out), "--size", "32", "--workers", "2"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        # An ignored SIGINT survives exec: start from a shell's default whatever earlier
        # in-process tests left in this xdist worker.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    # signal once the pool has written its first images: the workers are busy then
    while not list(tmp_path.glob(".prepared.tmp-*/images/*.png")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "prepare finished before the signal; give it more images"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert err.strip().splitlines()[-1] == ("terminated" if code == 143 else "interrupted")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]
