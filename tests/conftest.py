"""Shared test set-up: tests never touch the network (127.0.0.1 aside), never write inside
the repo, and find no pretrained weights unless a test injects them."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Costliest tests first (`@pytest.mark.cost(seconds)`, CPU-seconds on one core, others
    keep their order). `make test` (xdist `loadgroup`: every test its own unit, a worker
    topped up when 2 or fewer are queued) then starts the two longest end-to-end runs at
    once on different workers, instead of one worker finishing them alone after the other
    has run out of work."""

    def cost(item: pytest.Item) -> float:
        mark = item.get_closest_marker("cost")
        return float(mark.args[0]) if mark else 0.0

    items.sort(key=cost, reverse=True)  # stable: equal costs keep collection order


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("torch_home")
    os.environ["TORCH_HOME"] = str(home)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    # Subprocesses (dvc stages, CLIs) one thread each: `make test` runs 2 xdist workers on 2
    # cores, and torch's default of a thread per core oversubscribes them (spinning threads
    # burn CPU for nothing; measured 3x the CPU time of a 1-thread stage under load).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture(autouse=True)
def _own_torch_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """Each test its own empty TORCH_HOME: weights one test installs never reach another, so
    a "weights missing" test cannot pass (or fail) because of the order tests ran in."""
    home = tmp_path_factory.mktemp("torch_home_test")
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv("COLORBENCH_WEIGHTS_MANIFEST", raising=False)
    return home


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def files_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A static server over a directory (records request paths)."""
    root = tmp_path / "www"
    root.mkdir()
    seen: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", root, seen
    srv.shutdown()
    srv.server_close()
