"""Evaluation protocols: named evaluation sets drawn from the prepared manifest.

Each paper measured on its own test set (ParaColorizer: COCO val2017, 5000 images, and 5k
random ImageNet images; SCGAN: 10 ImageNet val images per class, grayscale excluded).
params.yaml's `protocols` names them; colorize and evaluate run per (method, protocol),
writing outputs/<protocol>/<method>/ and one metrics block per protocol, and each report
table names the protocol it was computed on and its N.

A protocol:
  sources    manifest source names (prepare.sources[].name); absent = every main source
  split      the manifest split to draw from (default test)
  select     all | random (a seeded `n`) | per_class (a seeded `n` per label)
  n          see select
  grayscale  exclude (default: prepare's rule, grayscale content is out of every split) |
             keep (also the images prepare set aside for grayscale content; for sources that
             are an evaluation set as a whole, e.g. COCO val2017 in ParaColorizer's protocol)
  metrics    evaluate.metrics names for this set (default: evaluate.metrics)
The same manifest, seed and protocol always give the same ids (a hash of seed, protocol
name and id orders the candidates), so colorize and evaluate agree without a shared file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from colorbench.data.splits import hash_unit
from colorbench.errors import ColorbenchError

log = logging.getLogger(__name__)

# Without a `protocols` section: the whole test split, as before protocols existed.
DEFAULT = {"test": {"split": "test", "select": "all"}}


@dataclass(frozen=True)
class Protocol:
    name: str
    sources: tuple[str, ...] = ()
    split: str = "test"
    select: str = "all"
    n: int | None = None
    grayscale: str = "exclude"
    metrics: tuple[str, ...] | None = None

    @classmethod
    def from_params(cls, name: str, raw: Any) -> Protocol:
        """A protocol of params.yaml; its keys and types are params_schema's (one set of
        rules for every setting), plus the rule between keys: random/per_class need n."""
        from colorbench.params_schema import SECTIONS, check

        where = f"protocols.{name}"
        check(raw, SECTIONS["protocols"].value, where)
        select = str(raw.get("select", "all"))
        n = raw.get("n")
        if select != "all" and (n is None or int(n) < 1):
            raise ColorbenchError(f"{where}.select {select} needs n >= 1, got {n!r}")
        split = str(raw.get("split", "test"))
        gray = str(raw.get("grayscale", "exclude"))
        sources, metrics = raw.get("sources") or [], raw.get("metrics")
        return cls(
            name,
            tuple(sources),
            split,
            select,
            None if select == "all" else int(n),
            gray,
            None if metrics is None else tuple(metrics),
        )

    def describe(self) -> str:
        """One line for reports: where the images come from and how they were chosen."""
        where = ", ".join(self.sources) if self.sources else "all sources"
        rule = {
            "all": "all images",
            "random": f"a seeded random {self.n}",
            "per_class": f"{self.n} per class (seeded)",
        }[self.select]
        gray = "grayscale kept" if self.grayscale == "keep" else "grayscale excluded"
        return f"{where}, {self.split} split, {rule}, {gray}"


def load(params: Mapping[str, Any]) -> dict[str, Protocol]:
    """params.yaml's `protocols` (in file order; the first is the primary one)."""
    raw = params.get("protocols") or DEFAULT
    if not isinstance(raw, Mapping):
        raise ColorbenchError(f"protocols: expected a map of name -> set, got {raw!r}")
    out = {}
    for name, spec in raw.items():
        if not str(name).replace("_", "").isalnum():
            raise ColorbenchError(f"protocol name {name!r}: use letters, digits and _ only")
        out[str(name)] = Protocol.from_params(str(name), spec)
    return out


def get(params: Mapping[str, Any], name: str) -> Protocol:
    protocols = load(params)
    if name not in protocols:
        raise ColorbenchError(f"unknown protocol {name!r}; params defines {', '.join(protocols)}")
    return protocols[name]


def select_rows(manifest: pd.DataFrame, protocol: Protocol, seed: int) -> pd.DataFrame:
    """The manifest rows of the protocol's evaluation set, sorted by id."""
    rows = manifest[manifest["role"] == "main"]
    if protocol.sources:
        missing = sorted(set(protocol.sources) - set(rows["source"]))
        if missing:
            raise ColorbenchError(
                f"protocol {protocol.name}: no main images from source(s) {', '.join(missing)} "
                f"in the manifest; check prepare.sources"
            )
        rows = rows[rows["source"].isin(protocol.sources)]
    in_split = rows["split"] == protocol.split
    if protocol.grayscale == "keep":
        in_split |= (rows["split"] == "excluded") & rows["grayscale"].astype(bool)
    rows = rows[in_split]
    if rows.empty:
        raise ColorbenchError(
            f"protocol {protocol.name}: no images ({protocol.describe()}); check prepare.split"
        )
    rank = rows["id"].map(lambda i: hash_unit(seed, f"{protocol.name}:{i}"))
    rows = rows.assign(_rank=rank).sort_values(["_rank", "id"])
    if protocol.select == "random":
        if len(rows) < protocol.n:
            log.warning(
                "protocol %s: only %d images for n=%d", protocol.name, len(rows), protocol.n
            )
        rows = rows.head(protocol.n)
    elif protocol.select == "per_class":
        if (rows["label"] == "").any():
            raise ColorbenchError(
                f"protocol {protocol.name}: select per_class needs a label on every image; "
                f"give the source a `labels` file"
            )
        counts = rows.groupby("label")["id"].transform("size")
        short = sorted(set(rows.loc[counts < protocol.n, "label"]))
        if short:
            log.warning("protocol %s: fewer than %d images in class(es) %s",
                        protocol.name, protocol.n, ", ".join(short[:10]))  # fmt: skip
        rows = rows.groupby("label", sort=False).head(protocol.n)
    return rows.drop(columns="_rank").sort_values("id").reset_index(drop=True)


def select_ids(manifest: pd.DataFrame, protocol: Protocol, seed: int) -> list[str]:
    return [str(i) for i in select_rows(manifest, protocol, seed)["id"]]
