"""`colorbench reference`: run a command in reference mode (kernel paths pinned for
cross-machine agreement), print its environment, or print this machine's fingerprint."""

from __future__ import annotations

import os
import subprocess
import sys

import click


@click.command(
    "reference", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1),
              help="Fixed thread count (machines agree only at the same count).")  # fmt: skip
@click.option("--fingerprint", is_flag=True,
              help="Print the weights digest of a short training probe, in reference mode "
                   "and in the default mode, and the CPU time each took.")  # fmt: skip
@click.argument("cmd", nargs=-1, type=click.UNPROCESSED)
def command(threads: int, fingerprint: bool, cmd: tuple[str, ...]) -> None:
    """Run CMD with torch, oneDNN, MKL and numpy pinned to CPU-independent kernels.

    \b
    Without CMD, prints the variables as `export` lines. Training in reference mode
    gives the same weights on every x86-64 machine at the same --threads, and is
    slower (see the README); DVC does not track the mode, so commit a dvc.lock made
    in one mode only.

    \b
    Examples:
      colorbench reference -- dvc repro          (or: make repro-reference)
      colorbench reference --fingerprint         compare the digest across machines
    """
    from colorbench.reference import environment

    env = environment(threads)
    if fingerprint:
        for label, extra in (("reference", env), ("default", {})):
            code = ("from colorbench.fingerprint import fingerprint\n"
                    "d, s = fingerprint()\nprint(d, f'{s:.2f}')")  # fmt: skip
            out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **extra},
                                 check=True, capture_output=True, text=True).stdout.split()  # fmt: skip
            click.echo(f"{label:9s} {out[0]}  ({out[1]} CPU s)")
        return
    if not cmd:
        for k, v in env.items():
            click.echo(f"export {k}='{v}'")
        return
    sys.exit(subprocess.run(list(cmd), env={**os.environ, **env}, check=False).returncode)
