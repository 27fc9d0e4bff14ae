"""Layering: every module imports in a fresh interpreter, and the engine, the shared
networks and the training loop never reach up into the methods (nor models into infer)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SRC = REPO / "src"
PKG = SRC / "colorbench"
# lower layer -> packages/modules it must not import, even lazily
FORBIDDEN = {
    "colorbench.colorize.engine": ("colorbench.methods",),  # colorize.stage is above both
    "colorbench.colorize.checkpoints": ("colorbench.methods",),
    "colorbench.colorize.pairs": ("colorbench.methods",),
    "colorbench.colorize.workers": ("colorbench.methods",),
    "colorbench.models": ("colorbench.methods", "colorbench.infer", "colorbench.colorize"),
    "colorbench.train": ("colorbench.methods",),
    "colorbench.infer": ("colorbench.methods", "colorbench.colorize"),
    "colorbench.metrics": ("colorbench.methods", "colorbench.report"),
    "colorbench.methods.base": ("colorbench.methods.",),
    "colorbench.tables": ("colorbench.report", "colorbench.study", "colorbench.methods"),
    "colorbench.study": ("colorbench.report",),  # both write tables through colorbench.tables
}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_lower_layers_never_import_the_methods() -> None:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        name = _module(path)
        for layer, banned in FORBIDDEN.items():
            if name == layer or name.startswith(layer + "."):
                bad += [
                    f"{name} imports {imp}"
                    for imp in sorted(_imports(path))
                    if any(imp == b.rstrip(".") or imp.startswith(b) for b in banned)
                    and not imp.startswith(name)
                ]
    assert not bad, bad


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """An import cycle at module level fails here (a partially initialised module)."""
    names = [_module(p) for p in sorted(PKG.rglob("*.py")) if "__main__" not in p.name]
    code = (
        "import importlib, sys\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        "    for mod in [m for m in sys.modules if m.startswith('colorbench')]:\n"
        "        del sys.modules[mod]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        "        bad.append(f'{name}: {exc}')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(SRC), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


def test_the_registry_finds_every_method_and_only_its_declarations() -> None:
    from colorbench.methods import registry

    names = registry.names()
    assert names[:4] == ["gray", "unet", "fg", "bg"]  # table order
    assert {"overlay", "fused", "scgan", "scgan_l", "external"} <= set(names)
    assert registry.get("overlay_a0.25").name == "overlay"
    assert registry.order(["deoldify", "scgan", "overlay_a0.75", "overlay_a0.25", "gray"]) == [
        "gray", "overlay_a0.25", "overlay_a0.75", "scgan", "deoldify",
    ]  # fmt: skip
    assert registry.label("overlay_a0.5") == "overlay_a0.5 (α=0.5)"
    assert registry.label("deoldify") == "deoldify"
