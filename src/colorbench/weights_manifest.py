"""A user's weights manifest, and the ledger of pretrained files a process loaded.

`COLORBENCH_WEIGHTS_MANIFEST=path.yaml` maps registry names to files of the user's choosing
(a mirror, an air-gapped cluster's share, a fine-tuned backbone, stand-ins for CI):

    resnet18: {path: /models/resnet18-ft.pth, sha256: 3f2a...}   # 64 hex digits
    vgg16:    {path: vgg16.pth, sha256: ..., stand_in: true}     # relative to the manifest

An entry overrides the built-in pin of that name; its file is still verified, against the
manifest's sha256. `stand_in: true` marks randomly initialised files (`colorbench weights
stand-ins`): reports made with them are stamped as meaningless.

Every `weights.require` records what it returned (name, file, sha256, source); a stage writes
that ledger next to its outputs (`write_ledger`) and the report lists the union.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from colorbench.atomic import atomic_file
from colorbench.errors import ColorbenchError

ENV = "COLORBENCH_WEIGHTS_MANIFEST"
LEDGER_FILE = "weights_loaded.json"
STAND_IN_STAMP = "STAND-IN WEIGHTS: numbers are meaningless"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    path: Path
    sha256: str
    stand_in: bool
    manifest: Path


def parse_manifest(path: str | os.PathLike, known: set[str]) -> dict[str, ManifestEntry]:
    """Read and validate a manifest; relative paths are relative to the manifest's folder."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ColorbenchError(f"weights manifest {path} ({ENV}) cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ColorbenchError(f"weights manifest {path} is not valid YAML ({first})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ColorbenchError(f"weights manifest {path} must map names to {{path, sha256}}")
    out: dict[str, ManifestEntry] = {}
    for name, spec in data.items():
        where = f"weights manifest {path}, entry {name!r}"
        if name not in known:
            raise ColorbenchError(f"{where}: unknown name; known: {', '.join(sorted(known))}")
        if not isinstance(spec, dict) or not spec.get("path") or not spec.get("sha256"):
            raise ColorbenchError(f"{where}: needs `path` and `sha256`")
        digest = str(spec["sha256"]).strip().lower()
        if not _SHA256.match(digest):
            raise ColorbenchError(f"{where}: sha256 must be 64 hex digits, got {spec['sha256']!r}")
        file = Path(str(spec["path"])).expanduser()
        if not file.is_absolute():
            file = path.parent / file
        out[name] = ManifestEntry(name, file, digest, bool(spec.get("stand_in", False)), path)
    return out


_CACHE: dict[tuple[str, int], dict[str, ManifestEntry]] = {}


def active(known: set[str]) -> dict[str, ManifestEntry]:
    """The manifest named by $COLORBENCH_WEIGHTS_MANIFEST ({} when unset)."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return {}
    path = Path(value).expanduser().resolve()
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        raise ColorbenchError(f"{ENV}={value}: no such file") from None
    if key not in _CACHE:
        _CACHE[key] = parse_manifest(path, known)
    return _CACHE[key]


def write_manifest(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    with atomic_file(path) as fh:
        yaml.safe_dump(entries, fh, sort_keys=True)


# ---- the ledger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    name: str
    file: str
    sha256: str
    source: str  # "built-in pin" | "manifest <path>"
    stand_in: bool = False


_LOADED: dict[str, Loaded] = {}


def record(item: Loaded) -> None:
    _LOADED[item.name] = item


def loaded() -> list[dict[str, Any]]:
    """What this process loaded so far, one dict per registry name."""
    return [asdict(v) for _, v in sorted(_LOADED.items())]


def write_ledger(folder: str | os.PathLike) -> Path | None:
    """Write this process's ledger as FOLDER/weights_loaded.json (nothing if none loaded)."""
    items = loaded()
    if not items:
        return None
    path = Path(folder) / LEDGER_FILE
    with atomic_file(path) as fh:
        json.dump(items, fh, indent=2)
        fh.write("\n")
    return path


def read_ledgers(paths: list[Path]) -> list[dict[str, Any]]:
    """The union of the ledgers found under `paths` (files or folders searched recursively);
    one row per (name, sha256), with the places that loaded it."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(base.rglob(LEDGER_FILE))
        for f in files:
            try:
                items = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            for it in items if isinstance(items, list) else []:
                key = (str(it.get("name")), str(it.get("sha256")))
                row = rows.setdefault(key, {**it, "used_by": []})
                row["used_by"].append(f.parent.name if f.name == LEDGER_FILE else f.name)
    return [rows[k] for k in sorted(rows)]
