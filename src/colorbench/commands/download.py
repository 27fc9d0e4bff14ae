"""`colorbench download`: one resumable, verified HTTP download."""

from __future__ import annotations

import click


@click.command("download")
@click.argument("url")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Destination file.")
@click.option("--md5", default=None, help="Expected md5 (hex).")
@click.option("--sha256", default=None, help="Expected sha256 (hex).")
@click.option("--size", default=None, type=int, help="Expected size in bytes.")
@click.option(
    "--retries", default=5, show_default=True, type=int, help="Retries on transient errors."
)
def command(
    url: str, out: str, md5: str | None, sha256: str | None, size: int | None, retries: int
) -> None:
    """Download URL to --out: resumes OUT.part (HTTP Range), retries transient errors,
    verifies size and checksums, renames into place only when verified."""
    from colorbench.data.download import download

    path = download(url, out, size=size, md5=md5, sha256=sha256, retries=retries)
    click.echo(str(path))
