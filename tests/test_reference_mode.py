"""Reference mode pins the kernel paths: the training probe's weights do not change when the
host's instruction sets change (emulated with MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA,
ATEN_CPU_CAPABILITY, NPY_DISABLE_CPU_FEATURES), and the default mode gives identical weights
run after run on one machine."""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from colorbench import reference

SRC = str(Path(__file__).resolve().parents[1] / "src")
# An older x86 host (SSE4.2 kernels, no AVX/AVX2/AVX-512), emulated on this one: its default
# kernels differ from an AVX2 host's as well as an AVX-512 host's, so the comparison below
# means something on either kind of machine.
OLD_HOST = {
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "ATEN_CPU_CAPABILITY": "default",
    "NPY_DISABLE_CPU_FEATURES": "AVX512_SPR AVX512_ICL X86_V4 X86_V3",
}


@functools.cache
def _probe(env_items: tuple[tuple[str, str], ...]) -> str:
    code = "from colorbench.fingerprint import fingerprint; print(fingerprint(steps=6)[0])"
    base = {k: v for k, v in os.environ.items() if k not in OLD_HOST and k != reference.FLAG}
    proc = subprocess.run([sys.executable, "-c", code], env={**base, **dict(env_items), "PYTHONPATH": SRC},
                          check=True, capture_output=True, text=True, timeout=600)  # fmt: skip
    return proc.stdout.strip()


def probe(env: dict[str, str], *, fresh: bool = False) -> str:
    """The probe's weight fingerprint in a subprocess with `env` (cached unless `fresh`)."""
    items = tuple(sorted(env.items()))
    return _probe.__wrapped__(items) if fresh else _probe(items)


def test_same_machine_default_mode_gives_identical_weights() -> None:
    env = {"OMP_NUM_THREADS": "2"}
    assert probe(env, fresh=True) == probe(env)


@pytest.mark.cost(20)
def test_reference_mode_ignores_the_host_instruction_sets() -> None:
    default = {"OMP_NUM_THREADS": "2"}
    if probe(default) == probe({**OLD_HOST, **default}):
        pytest.skip("this host already runs the emulated old host's kernels: nothing to compare")
    pinned = reference.environment(2)
    assert probe(pinned) == probe({**OLD_HOST, **pinned, "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"})


# The probe's weights in reference mode with 2 threads, on x86-64 with the locked environment
# (requirements.lock). Recorded on the development machine; CI runs on another one, so this
# checks that reference-mode training agrees across machines. Changing the Res-UNet's code or
# the probe changes it (print `probe(reference.environment(2))` and update it).
REFERENCE_FINGERPRINT = "64f0a8a08529168c11d7804a5b4377745a9ba65dcaa8305673abeb629ed2de14"


# Default mode, 2 threads, per kind of CPU (model name, torch's kernel level): machines of
# one kind must agree (the committed dvc.lock was made in default mode).
DEFAULT_FINGERPRINTS = {
    ("AMD EPYC", "AVX512"): "293ec6755f1d673951e40d4dc82ce4ddce0c9096839cb7fb92d4b7595745b3ee",
}


def _cpu_kind() -> tuple[str, str]:
    """(vendor and family: the model name's first two words, e.g. "AMD EPYC" for "AMD EPYC
    7763 64-Core Processor" and for a VM's masked "AMD EPYC"; torch's kernel level)."""
    import torch

    model = ""
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((ln.split(":", 1)[1] for ln in lines if ln.startswith("model name")), "")
    return " ".join(model.split()[:2]), torch.backends.cpu.get_cpu_capability()


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the recorded weights are x86-64's")
def test_reference_mode_weights_equal_the_recorded_ones() -> None:
    assert probe(reference.environment(2)) == REFERENCE_FINGERPRINT


def test_default_mode_weights_equal_those_of_a_machine_of_the_same_kind() -> None:
    kind = _cpu_kind()
    if kind not in DEFAULT_FINGERPRINTS:
        pytest.skip(f"no weights recorded for a {kind} machine")
    assert probe({"OMP_NUM_THREADS": "2"}) == DEFAULT_FINGERPRINTS[kind]


def test_environment_and_in_process_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    env = reference.environment(3)
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["MKL_CBWR"] == "COMPATIBLE"
    with pytest.raises(ValueError):
        reference.environment(0)
    monkeypatch.delenv(reference.FLAG, raising=False)
    reference.apply_torch()  # outside reference mode: nothing changes
    assert torch.backends.mkldnn.enabled
    monkeypatch.setenv(reference.FLAG, "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    try:
        reference.apply_torch()
        assert not torch.backends.mkldnn.enabled and torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.backends.mkldnn.enabled = True
        torch.use_deterministic_algorithms(False)
        torch.set_num_threads(threads)


def test_cli_runs_commands_in_reference_mode() -> None:
    from click.testing import CliRunner

    from colorbench.cli import main

    out = CliRunner().invoke(main, ["reference", "--threads", "3"]).output
    assert "export MKL_CBWR='COMPATIBLE'" in out and "export OMP_NUM_THREADS='3'" in out
    cmd = [
        sys.executable,
        "-m",
        "colorbench.cli",
        "reference",
        "--",
        sys.executable,
        "-c",
        "import os, sys; sys.exit(0 if os.environ['ATEN_CPU_CAPABILITY'] == 'default' else 3)",
    ]
    assert subprocess.run(cmd, env={**os.environ, "PYTHONPATH": SRC}).returncode == 0
    fail = [*cmd[:5], sys.executable, "-c", "raise SystemExit(5)"]
    assert subprocess.run(fail, env={**os.environ, "PYTHONPATH": SRC}).returncode == 5
