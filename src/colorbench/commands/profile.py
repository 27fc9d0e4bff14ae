"""`colorbench profile`: list, show and switch parameter profiles."""

from __future__ import annotations

import click


@click.group("profile")
def command() -> None:
    """Parameter profiles (profiles/*.yaml); the active one is params.yaml.

    \b
    colorbench profile list          profiles, the active one starred
    colorbench profile use paper     switch: then `dvc repro` re-runs what changed
    """


@command.command("list")
@click.option("--root", default=".", type=click.Path(file_okay=False), help="Repository root.")
def list_profiles(root: str) -> None:
    """List the profiles; * marks the active one."""
    from colorbench import profiles

    current = profiles.active(root)
    for name in profiles.available(root):
        click.echo(f"{'*' if name == current else ' '} {name}")


@command.command("use")
@click.argument("name")
@click.option("--root", default=".", type=click.Path(file_okay=False), help="Repository root.")
def use_profile(name: str, root: str) -> None:
    """Make profile NAME the active params.yaml."""
    from colorbench import profiles

    path = profiles.use(name, root)
    click.echo(f"{path}: profile '{name}' is active; run `dvc repro` (or `make repro`).")


@command.command("check")
@click.argument("name", required=False)
@click.option("--root", default=".", type=click.Path(file_okay=False), help="Repository root.")
def check_profile(name: str | None, root: str) -> None:
    """Check that every DVC stage accepts profile NAME's settings (default: params.yaml).

    Nothing runs and no data is needed: dvc.yaml is rendered with the profile, and each
    stage's `colorbench` command binds its settings as a run would (types, ranges, choices,
    unknown keys). Exit 1 listing each stage that would refuse them."""
    from pathlib import Path

    from colorbench.commands._stage_check import check_profile as check
    from colorbench.errors import ColorbenchError
    from colorbench.params import PARAMS_FILE, PROFILES_DIR

    params = Path(root) / (f"{PROFILES_DIR}/{name}.yaml" if name else PARAMS_FILE)
    if not params.is_file():
        raise ColorbenchError(f"{params} not found (profiles: `colorbench profile list`)")
    n, failed = check(Path(root) / "dvc.yaml", params)
    for stage, why in failed:
        click.echo(f"{stage}: {why}", err=True)
    if failed:
        raise ColorbenchError(f"{len(failed)} of {n} stages refuse the settings of {params}")
    click.echo(f"{params}: all {n} stages accept their settings")
