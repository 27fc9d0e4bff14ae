"""Speed cost of reference mode: the training probe (`colorbench.fingerprint.fingerprint`, a
Res-UNet's forward, backward and Adam steps) in default and reference mode, alternated in
fresh processes, CPU seconds of the steps (all threads), medians of the repeats.

    python benchmarks/bench_reference_mode.py [--repeats 3] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
sys.path.insert(0, SRC)


def probe(env: dict[str, str], steps: int) -> tuple[str, float]:
    code = (
        f"from colorbench.fingerprint import fingerprint; d, s = fingerprint({steps}); print(d, s)"
    )
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env, "PYTHONPATH": SRC},
                         check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
    return out[0], float(out[1])


def main() -> None:
    from colorbench.reference import environment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    modes = {
        "default": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"},
        "reference": environment(2),
    }
    times: dict[str, list[float]] = {m: [] for m in modes}
    digests: dict[str, set[str]] = {m: set() for m in modes}
    for _ in range(args.repeats):
        for mode, env in modes.items():
            digest, seconds = probe(env, args.steps)
            times[mode].append(seconds)
            digests[mode].add(digest)
    med = {m: statistics.median(t) for m, t in times.items()}
    for m in modes:
        print(f"{m:9s} median {med[m]:.2f} CPU s over {args.repeats} runs {times[m]}; "
              f"digests {sorted(d[:12] for d in digests[m])}")  # fmt: skip
    print(f"reference / default: {med['reference'] / med['default']:.2f}x")


if __name__ == "__main__":
    main()
