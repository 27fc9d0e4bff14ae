"""`colorbench profile check`: every DVC stage's command against a profile's settings, with
nothing run. (A leading underscore: cli.py registers no command from this module.)

dvc.yaml is rendered with the profile as params.yaml (DVC's own templating, in a temporary
folder), each `colorbench ...` cmd is parsed by the real command line, and the options its
command binds from the params file go through the same casting and schema checks as a run
(commands/_bind.py). A setting that a stage would refuse after hours of upstream work is
found in a second: a CLI choice list that drifted from the schema, a range the profile
leaves, a typo in a key.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from colorbench.errors import ColorbenchError


@contextlib.contextmanager
def _rendered(dvc_yaml: Path, params: Path) -> Iterator[tuple[Path, list[tuple[str, str]]]]:
    """(folder, [(stage name, cmd)]) of dvc_yaml rendered with `params` as params.yaml."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with tempfile.TemporaryDirectory(prefix="colorbench-check-") as tmp:
        root = Path(tmp)
        shutil.copyfile(dvc_yaml, root / "dvc.yaml")
        shutil.copyfile(params, root / "params.yaml")
        try:
            (root / ".dvc").mkdir()  # a bare DVC repository: enough to render dvc.yaml
            (root / ".dvc" / "config").write_text(  # its site cache too: nothing left behind
                f"[core]\n    no_scm = True\n    site_cache_dir = {root / 'site'}\n"
            )
            with Repo(tmp) as repo:
                stages = [(s.name, _joined(s.cmd)) for s in repo.index.stages]
        except DvcException as exc:
            raise ColorbenchError(f"dvc.yaml does not render with {params}: {exc}") from None
        yield root, stages


def _joined(cmd: str | list[str]) -> str:
    """A stage's cmd as one line (DVC also takes a list of commands; each is checked)."""
    return cmd if isinstance(cmd, str) else " && ".join(cmd)


@contextlib.contextmanager
def _paths_need_not_exist() -> Iterator[None]:
    """click.Path options accept paths that do not exist yet (a stage's inputs are made by
    the stages before it); every other check of the parse stays."""
    convert = click.Path.convert

    def lenient(self: click.Path, value: Any, param: Any, ctx: Any) -> Any:
        exists, self.exists = self.exists, False
        try:
            return convert(self, value, param, ctx)
        finally:
            self.exists = exists

    click.Path.convert = lenient  # type: ignore[method-assign]
    try:
        yield
    finally:
        click.Path.convert = convert  # type: ignore[method-assign]


def _leaf(group: click.Group, args: list[str]) -> tuple[click.Context, click.Command]:
    """The command `args` names (subcommand names first, as stage cmds spell them) and its
    context, parsed as a run parses it: types, choices, required options, no extra
    arguments (only paths need not exist). Nothing runs."""
    ctx, cmd, name, rest = None, group, "colorbench", list(args)
    while isinstance(cmd, click.Group):
        ctx = cmd.make_context(name, [], parent=ctx, resilient_parsing=True)
        if not rest:
            raise ColorbenchError(f"`{ctx.command_path}` needs a subcommand")
        name, rest = rest[0], rest[1:]
        sub = cmd.get_command(ctx, name)
        if sub is None:
            raise ColorbenchError(f"`{ctx.command_path}` has no command {name!r}")
        cmd = sub
    with _paths_need_not_exist():
        return cmd.make_context(name, rest, parent=ctx), cmd


def check_stage(cmd: str) -> str | None:
    """None when the stage's commands accept their settings, else the reason (one line).
    A command that is not `colorbench ...` is not checked."""
    from colorbench.cli import main

    for part in cmd.split(" && "):
        args = shlex.split(part)
        if not args or args[0] != "colorbench":
            continue
        try:
            ctx, command = _leaf(main, args[1:])
            check = getattr(command.callback, "check_settings", None)
            if check is not None:
                with ctx:
                    check(ctx)
        except ColorbenchError as exc:
            return str(exc)
        except click.ClickException as exc:
            return exc.format_message()
        except Exception as exc:  # noqa: BLE001 - one stage's failure is reported, not raised
            return f"{type(exc).__name__}: {exc}"
    return None


def check_profile(dvc_yaml: Path, params: Path) -> tuple[int, list[tuple[str, str]]]:
    """(stages checked, [(stage, reason)]) for dvc_yaml's stages under `params`; the
    whole file's schema and its evaluation protocols are checked first ("params")."""
    from colorbench.params import load_params
    from colorbench.protocols import load

    failed = []
    try:
        load(load_params(params))
    except ColorbenchError as exc:
        failed.append(("params", str(exc)))
    with _rendered(dvc_yaml, params) as (root, stages):
        here = Path.cwd()
        os.chdir(root)  # cmds spell paths relative to the repository root
        try:
            failed += [(name, why) for name, cmd in stages if (why := check_stage(cmd))]
        finally:
            os.chdir(here)
    return len(stages), failed
