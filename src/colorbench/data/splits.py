"""Deterministic splits from a hash of the id: stable under adding or removing images."""

from __future__ import annotations

import hashlib

from colorbench.errors import ColorbenchError

SPLIT_NAMES = ("train", "val", "test")


def hash_unit(seed: int, key: str) -> float:
    """sha1(f"{seed}:{key}") as a number uniform in [0, 1)."""
    digest = hashlib.sha1(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def check_fractions(split: dict) -> tuple[float, float]:
    """(val, test) from params' `split: {val, test}`, validated."""
    unknown = set(split) - {"val", "test"}
    if unknown:
        raise ColorbenchError(f"prepare.split has unknown keys {sorted(unknown)}; use val and test")
    try:
        val, test = float(split.get("val", 0.0)), float(split.get("test", 0.0))
    except (TypeError, ValueError):
        raise ColorbenchError(f"prepare.split fractions must be numbers, got {split}") from None
    if val < 0 or test < 0 or val + test > 1:
        raise ColorbenchError(
            f"prepare.split fractions must be >= 0 with val + test <= 1, got val={val} test={test}"
        )
    return val, test


def split_of(seed: int, image_id: str, val: float, test: float) -> str:
    """test if u < test, val if u < test + val, else train (u = hash_unit(seed, id))."""
    u = hash_unit(seed, image_id)
    if u < test:
        return "test"
    return "val" if u < test + val else "train"
