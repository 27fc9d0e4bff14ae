"""What a run was built from, for the top of the report: the pretrained files every stage
loaded (name, sha256, source: built-in pin or user manifest), a stamp when any of them was
a stand-in, and where SCGAN's global-feature network got its pretraining labels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from colorbench.weights_manifest import STAND_IN_STAMP, read_ledgers

GLOBAL_LABELS = Path("train_global/global_labels.json")
# the folder a ledger lies in -> the stage that wrote it (others are named after their stage)
STAGE_OF = {"per_image": "evaluate"}


def weights_section(ledger_roots: Sequence[Path]) -> tuple[bool, list[str]]:
    """(any stand-in?, markdown lines listing every pretrained file the run loaded)."""
    rows = read_ledgers([p for p in ledger_roots if p.exists()])
    lines = ["## Pretrained files loaded", ""]
    if not rows:
        return False, [*lines, "None: no stage of this run loaded pretrained weights.", ""]
    lines += ["| name | sha256 | source | used by | file |", "|---|---|---|---|---|"]
    for r in rows:
        source = str(r.get("source", "?")) + (" (**stand-in**)" if r.get("stand_in") else "")
        used = ", ".join(sorted({STAGE_OF.get(u, u) for u in r.get("used_by", [])}))
        lines.append(
            f"| {r.get('name')} | `{r.get('sha256')}` | {source} | {used} | `{r.get('file')}` |"
        )
    return any(r.get("stand_in") for r in rows), [*lines, ""]


def global_net_note(logs: Path) -> str | None:
    """One line on the global network's pretraining labels, from train_global's record."""
    try:
        info = json.loads((logs / GLOBAL_LABELS).read_text())
    except (OSError, ValueError):
        return None
    if not info.get("trained"):
        return f"SCGAN global-feature network: not pretrained ({info.get('reason', 'unused')})."
    note = f"SCGAN global-feature network pretrained on {info.get('description', '?')}"
    if info.get("substitutes_imagenet"):
        note += "; this **substitutes for the paper's ImageNet pretraining**"
    return note + "."


def stamp_lines(stand_in: bool) -> list[str]:
    return [f"**{STAND_IN_STAMP}**", ""] if stand_in else []
