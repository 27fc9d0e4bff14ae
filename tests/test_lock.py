"""requirements.lock (what `make setup` installs) satisfies pyproject.toml's ranges: a
dependency added to pyproject without `make lock` fails here, not on a fresh machine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python 3.11+, like the lock

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    pins = dict(
        re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}", text, re.M)
    )
    assert len(pins) == text.count("=="), "every pin carries a sha256"
    return {canonicalize_name(k): v for k, v in pins.items()}


def test_lock_pins_every_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    pins = _pins()
    for line in wanted + backend:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier}: run `make lock`"
        )
