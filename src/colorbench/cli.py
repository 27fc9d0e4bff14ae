"""The `colorbench` command line. Commands live in colorbench.commands.<name>."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from colorbench import __version__, commands
from colorbench.errors import ColorbenchError


class _Group(click.Group):
    """Turns ColorbenchError into one clear line and exit code 1, never a traceback;
    Ctrl-C and SIGTERM clean up and exit 130 / 143 (click alone would exit 1). DVC stages
    run through here too (dvc.yaml: `colorbench <command> --params params.yaml ...`)."""

    def invoke(self, ctx: click.Context):
        from colorbench import reference
        from colorbench.interrupts import exit_interrupted, handle_sigterm

        handle_sigterm()
        reference.apply_torch()  # only under `colorbench reference` (imports torch then only)
        try:
            return super().invoke(ctx)
        except ColorbenchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as exc:
            exit_interrupted(exc)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="colorbench")
def main() -> None:
    """colorbench: data preparation, training and benchmarking for image colorization.

    \b
    Typical use:
      dvc repro                       rebuild everything (dataset -> report)
      colorbench synth --out D        make the embedded synthetic dataset
      colorbench prepare --input D --out P
      colorbench evaluate --pred OUT --gt GT --out metrics.json
      colorbench weights status       which pretrained files are present
    """


def _register() -> None:
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        cmd = getattr(module, "command", None)
        if isinstance(cmd, click.Command):
            main.add_command(cmd)


_register()

if __name__ == "__main__":
    main()
