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
