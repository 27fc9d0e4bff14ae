"""`colorbench weights`: status, fetch and import of pretrained weights."""

from __future__ import annotations

import click


@click.group("weights")
def command() -> None:
    """Pretrained weights: where they live, download, air-gapped install.

    Files live in the torch hub cache (TORCH_HOME/hub/checkpoints, default
    ~/.cache/torch/hub/checkpoints), where torchvision, pytorch-fid and lpips look.
    Stages never download: a missing file fails with a message naming these commands.

    \b
    colorbench weights status              what is present, missing or corrupt (offline)
    colorbench weights fetch [NAME...]     download and verify (resumable)
    colorbench weights import DIR          install files found in DIR, after verifying them
    colorbench weights stand-ins DIR       random stand-ins + DIR/manifest.yaml (smoke tests)

    COLORBENCH_WEIGHTS_MANIFEST=m.yaml ({name: {path, sha256}}) overrides built-in pins.
    """


def _human(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)  # pragma: no cover


@command.command("status")
@click.argument("names", nargs=-1)
def status_cmd(names: tuple[str, ...]) -> None:
    """Table of every registered file (or NAMES): state, size, path. Works offline."""
    from colorbench import weights

    rows = weights.status(names or None)
    header = ("name", "file", "state", "size", "pinned by", "path")
    table = [header] + [(r.name, r.file, r.state, _human(r.size), r.pin, str(r.path)) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        click.echo(
            "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        )
    missing = [r.name for r in rows if r.state != "present"]
    if missing:
        click.echo(
            f"\n{len(missing)} not usable; `colorbench weights fetch NAME` downloads, "
            "`colorbench weights import DIR` installs files copied from elsewhere."
        )


@command.command("fetch")
@click.argument("names", nargs=-1)
def fetch_cmd(names: tuple[str, ...]) -> None:
    """Download NAMES (default: every entry with a public URL), verify, install.

    An interrupted download resumes from its .part file on the next run.
    """
    from colorbench import weights, weights_install
    from colorbench.errors import ColorbenchError

    todo = list(names) or [n for n, e in weights.REGISTRY.items() if e.url]
    failed = []
    for name in todo:
        try:
            weights_install.fetch(name, log=click.echo)
        except ColorbenchError as exc:
            click.echo(f"{name}: {exc}", err=True)
            failed.append(name)
    if failed:
        raise ColorbenchError(f"could not fetch {', '.join(failed)} (see messages above)")


@command.command("import")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("names", nargs=-1)
def import_cmd(src_dir: str, names: tuple[str, ...]) -> None:
    """Install registry files found in SRC_DIR (matched by file name, searched
    recursively) into the cache, after verifying their size and sha256."""
    from pathlib import Path

    from colorbench import weights, weights_install
    from colorbench.errors import ColorbenchError

    result = weights_install.import_dir(Path(src_dir), names or None)
    for name in result.installed:
        e = weights.entry(name)
        path = weights.cache_path(name)
        note = "" if e.expected_prefix else f" (unpinned: sha256 {weights.file_digest(path)})"
        click.echo(f"installed {name} -> {path}{note}")
    for line in result.mismatched:
        click.echo(f"MISMATCH {line}; not installed", err=True)
    if names:
        for name in result.not_found:
            click.echo(f"not found in {src_dir}: {weights.entry(name).file}", err=True)
    if result.mismatched:
        raise ColorbenchError(
            f"{len(result.mismatched)} file(s) failed verification and were not installed"
        )
    if names and result.not_found:
        raise ColorbenchError(f"{len(result.not_found)} requested file(s) not found in {src_dir}")
    if not result.installed:
        files = ", ".join(weights.entry(n).file for n in result.not_found)
        raise ColorbenchError(f"no registry file found in {src_dir}; expected any of: {files}")


@command.command("stand-ins")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.argument("names", nargs=-1)
@click.option("--seed", default=0, show_default=True, help="seed of the random initialisation")
def stand_ins_cmd(out_dir: str, names: tuple[str, ...], seed: int) -> None:
    """Write randomly initialised files for every registry entry (or NAMES) into OUT_DIR,
    built with the real constructors, plus OUT_DIR/manifest.yaml selecting them through
    COLORBENCH_WEIGHTS_MANIFEST. For smoke tests only: reports made with them are stamped
    "STAND-IN WEIGHTS: numbers are meaningless"."""
    from colorbench import weights
    from colorbench.weights_standins import make_stand_ins

    for name in names:
        weights.entry(name)  # unknown names: one clear line before any work
    make_stand_ins(out_dir, list(names) or None, seed=seed, log=click.echo)
