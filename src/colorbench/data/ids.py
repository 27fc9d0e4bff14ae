"""Image ids: the file stem, made unique deterministically where stems collide.

Within one source, colliding files climb a ladder until unique:
  stem (`x`) -> relative path without suffix (`a/x` -> `a_x`) -> with suffix (`a_x_jpg`)
  -> with a hash of the relative path (`a_x_jpg_1a2b3c4d`).
Across sources, ids that still collide get the source name as prefix (`coco_x`), then a hash.
Collisions are judged case-insensitively, so ids stay distinct file names on every OS.
Only colliding files change: adding a file never renames an unrelated one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _within_source(rel: str, level: int) -> str:
    parts = rel.split("/")
    name = parts[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:  # no suffix (or a name like "x."/".x")
        stem, suffix = name, ""
    if level == 0:
        return stem
    path_id = "_".join([*parts[:-1], stem])
    if level == 1:
        return path_id
    with_suffix = f"{path_id}_{suffix}" if suffix else path_id
    return with_suffix if level == 2 else f"{with_suffix}_{_short_hash(rel)}"


def _resolve(n: int, candidate: Callable[[int, int], str], top: int) -> list[str]:
    """Raise every member of a colliding group one level until all ids are unique."""
    levels = [0] * n
    ids = [candidate(i, 0) for i in range(n)]
    while True:
        counts = Counter(s.casefold() for s in ids)
        clashing = [i for i, s in enumerate(ids) if counts[s.casefold()] > 1]
        if not clashing:
            return ids
        if all(levels[i] == top for i in clashing):
            raise RuntimeError(f"cannot make ids unique: {sorted(ids[i] for i in clashing)[:5]}")
        for i in clashing:
            if levels[i] < top:
                levels[i] += 1
                ids[i] = candidate(i, levels[i])


def assign_ids(sources: Sequence[tuple[str, Sequence[str]]]) -> list[list[str]]:
    """`sources`: (source name, relative posix paths); returns the ids in the same shape."""
    per_source = [
        _resolve(len(rels), lambda i, lv, rels=rels: _within_source(rels[i], lv), 3)
        for _, rels in sources
    ]
    flat = [(s, k) for s, ids in enumerate(per_source) for k in range(len(ids))]

    def across(j: int, level: int) -> str:
        s, k = flat[j]
        name, base = sources[s][0], per_source[s][k]
        if level == 0:
            return base
        prefixed = f"{name}_{base}"
        return (
            prefixed if level == 1 else f"{prefixed}_{_short_hash(name + '/' + sources[s][1][k])}"
        )

    resolved = _resolve(len(flat), across, 2)
    out = [[""] * len(ids) for ids in per_source]
    for j, (s, k) in enumerate(flat):
        out[s][k] = resolved[j]
    return out
