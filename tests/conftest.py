"""Shared test set-up: tests never touch the network (127.0.0.1 aside), never write inside
the repo, and find no pretrained weights unless a test injects them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("torch_home")
    os.environ["TORCH_HOME"] = str(home)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture
def repo_root() -> Path:
    return REPO
