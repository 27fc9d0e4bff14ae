"""A study folder on disk and its answer logs.

Folder: study.json (the design and every hidden truth: never served), tokens.json (one secret
link token per participant), images/<opaque>.png, responses/<participant>.jsonl.

An answer log is append-only: one JSON line per answered screen, written with flush + fsync
before the server replies, so an acknowledged answer survives a crash. The first answer to a
screen wins; sending it again (a double click, a replayed request) changes nothing.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from colorbench.errors import ColorbenchError
from colorbench.study.design import CRITERIA, FORMAT

FOOL_ANSWERS = ("real", "recolorized")


class BadAnswer(ValueError):
    """A malformed or out-of-place answer; the message is safe to show the participant."""


@dataclass
class Study:
    folder: Path
    spec: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | os.PathLike, need_tokens: bool = False) -> Study:
        folder = Path(folder)
        path = folder / "study.json"
        if not path.is_file():
            raise ColorbenchError(f"{folder} is not a study folder (no study.json)")
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ColorbenchError(f"{path} is unreadable: {exc}") from None
        if not isinstance(spec, dict) or spec.get("format") != FORMAT:
            raise ColorbenchError(f"{path}: not a study of format {FORMAT}")
        tokens: dict[str, str] = {}
        tpath = folder / "tokens.json"
        if tpath.is_file():
            tokens = json.loads(tpath.read_text(encoding="utf-8"))
        elif need_tokens:
            raise ColorbenchError(f"{tpath} not found: the links cannot be served")
        return cls(folder, spec, tokens)

    @property
    def participants(self) -> list[str]:
        return list(self.spec["participants"])

    def plan(self, participant: str) -> list[dict[str, Any]]:
        return self.spec["plans"][participant]

    def item(self, item_id: str) -> dict[str, Any]:
        return next(it for it in self.spec["fooling"]["items"] if it["id"] == item_id)

    def group(self, group_id: str) -> dict[str, Any]:
        return next(g for g in self.spec["rating"]["groups"] if g["id"] == group_id)

    def image_path(self, key: str) -> Path:
        return self.folder / "images" / f"{key}.png"

    def log_path(self, participant: str) -> Path:
        return self.folder / "responses" / f"{participant}.jsonl"


def normalize_answer(study: Study, participant: str, index: int, body: dict) -> dict[str, Any]:
    """The record stored for an answer to screen `index` (0-based) of a participant's plan,
    or BadAnswer. Ratings are stored per image key, so the log is independent of the order
    in which the candidates were shown."""
    screen = study.plan(participant)[index]
    if screen["kind"] == "fool":
        answer, confident = body.get("answer"), body.get("confident")
        if answer not in FOOL_ANSWERS or not isinstance(confident, bool):
            raise BadAnswer("expected answer 'real' or 'recolorized' and confident true/false")
        return {
            "screen": index,
            "item": screen["item"],
            "a": screen["a"],
            "answer": answer,
            "confident": confident,
        }
    ratings = body.get("ratings")
    cands = study.group(screen["group"])["candidates"]
    if (
        not isinstance(ratings, list)
        or len(ratings) != len(cands)
        or not all(
            isinstance(r, list)
            and len(r) == len(CRITERIA)
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10 for v in r)
            for r in ratings
        )
    ):
        raise BadAnswer(
            f"expected ratings: {len(cands)} lists of {len(CRITERIA)} whole numbers from 0 to 10"
        )
    shown = [cands[j]["key"] for j in screen["order"]]
    return {
        "screen": index,
        "group": screen["group"],
        "ratings": {k: r for k, r in zip(shown, ratings, strict=True)},
    }


def read_log(path: Path) -> tuple[dict[int, dict[str, Any]], int]:
    """{screen: first record} of a log, and the number of unreadable lines (a line cut by a
    crash mid-write is skipped, never fatal)."""
    answers: dict[int, dict[str, Any]] = {}
    bad = 0
    if not path.is_file():
        return answers, 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            answers.setdefault(int(rec["screen"]), rec)
        except (ValueError, KeyError, TypeError):
            bad += 1
    return answers, bad


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k != "t"} == {k: v for k, v in b.items() if k != "t"}


class AnswerLog:
    """One participant's log, guarded by a lock; `answers` mirrors what is on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.answers, _ = read_log(path)

    def next_index(self, total: int) -> int:
        return next((i for i in range(total) if i not in self.answers), total)

    def submit(self, record: dict[str, Any]) -> str:
        """'stored', 'duplicate' (the same answer again: nothing written) or 'conflict'
        (a different answer to an answered screen: nothing written)."""
        with self.lock:
            old = self.answers.get(record["screen"])
            if old is not None:
                return "duplicate" if _same(old, record) else "conflict"
            rec = {**record, "t": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            self._append(json.dumps(rec, sort_keys=True))
            self.answers[record["screen"]] = rec
            return "stored"

    def _append(self, line: str) -> None:
        new = not self.path.exists()
        with open(self.path, "ab") as fh:
            # A line cut short by an earlier crash must not swallow this one.
            if not new and fh.tell() > 0:
                with open(self.path, "rb") as rd:
                    rd.seek(-1, os.SEEK_END)
                    if rd.read(1) != b"\n":
                        fh.write(b"\n")
            fh.write(line.encode("utf-8") + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        if new:  # the new directory entry must be durable too
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
