"""docs/add_a_method.md, followed in a temporary copy of the repository: one new file and its
params entry make a method that the real pipeline colorizes, evaluates and reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from test_pipeline_e2e import _copy_repo, _tiny_params

pytestmark = pytest.mark.slow

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "add_a_method.md"
TOY = '''
"""Method `toy`: the gray input's L with a constant ab (a reddish tint)."""

from __future__ import annotations

from pathlib import Path

from colorbench.methods.base import ColorizeJob, Method

NAMES = ("toy",)


class Toy(Method):
    name, label, order = "toy", "toy (constant ab tint)", 5
    help = "a constant reddish ab on the input's L"

    def colorize(self, job: ColorizeJob) -> list[Path]:
        import numpy as np
        from PIL import Image

        from colorbench.lab import gray_rgb

        outs = []
        for src, ident in zip(job.inputs, job.ids, strict=True):
            rgb = gray_rgb(np.asarray(Image.open(src).convert("RGB"))).astype(np.int16)
            rgb[..., 0] += 30  # a tint, so the method differs from gray
            out = job.out_dir / f"{ident}.png"
            Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(out)
            outs.append(out)
        return outs


METHODS = [Toy()]
'''


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`cmd` in the copy, importing the copy's src/ (where the new method is)."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONPATH=str(cwd / "src"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_guide_names_what_this_test_does() -> None:
    text = GUIDE.read_text()
    assert "src/colorbench/methods/<name>.py" in text and "methods: [blur]" in text
    assert "NAMES = (" in text and "METHODS = [" in text


@pytest.mark.cost(70)
def test_a_toy_method_is_one_file_and_reaches_the_report(repo_root: Path, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    _copy_repo(repo_root, work)
    # the guide's two steps: one file, one params entry
    (work / "src/colorbench/methods/toy.py").write_text(textwrap.dedent(TOY).lstrip())
    params = _tiny_params(yaml.safe_load((work / "params.yaml").read_text()))
    params["acquire"]["synthetic"].update(n=40, n_background=4)
    params["train_evaluator"]["epochs"] = 1
    params["colorize"]["methods"] = ["toy"]
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    _run(["git", "init", "-q"], work)
    # the guide's third step: the stages that read the registry now depend on toy.py
    _run([sys.executable, "tools/stage_deps.py", "--write"], work)
    _run([sys.executable, "tools/stage_deps.py", "--check"], work)
    _run([*git, "add", "-A"], work)
    _run([*git, "commit", "-qm", "init"], work)  # dvclive needs a commit

    stages = [
        "acquire@synthetic", "prepare", "crops", "saliency", "train_evaluator",
        *(f"colorize_gray@{p}" for p in params["protocols"]),
        *(f"colorize_method@toy-{p}" for p in params["protocols"]),
        "evaluate", "study", "report",
    ]  # fmt: skip
    _run(["dvc", "repro", "--single-item", *stages], work)  # only what the report needs

    details = json.loads((work / "reports/metrics_details.json").read_text())
    assert set(details["methods"]) == {"gray", "toy"}
    assert details["methods"]["toy"]["psnr"]["n"] == details["n_images"]
    report = (work / "reports/README.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| toy (constant ab tint)")]
    assert rows, "the toy method has no row with its label in reports/README.md"
    first = report.index("| gray (input)")  # order 5: after gray (0)
    assert first < report.index("| toy (constant ab tint)")
    # editing the method's file re-runs its stages and the registry's readers, no data or
    # training stage
    toy = {f"colorize_method@toy-{p}" for p in params["protocols"]}
    before = set(json.loads(_run(["dvc", "status", "--json"], work).stdout))
    assert not before & (toy | {"evaluate", "report"}), before  # the stages not run differ
    with open(work / "src/colorbench/methods/toy.py", "a") as fh:
        fh.write("# edited\n")
    after = set(json.loads(_run(["dvc", "status", "--json"], work).stdout))
    assert toy <= after - before
    assert all(s.startswith(("colorize_", "study", "report")) for s in after - before), after


def test_registry_reads_names_without_importing(tmp_path: Path) -> None:
    from colorbench.errors import ColorbenchError
    from colorbench.methods.registry import literal_names

    plain = tmp_path / "a.py"
    plain.write_text('NAMES = ("a", "a2")\nPATTERNS = ["a_<x>"]\n')
    assert literal_names(plain, "NAMES") == ("a", "a2") and literal_names(plain, "PATTERNS") == (
        "a_<x>",
    )
    annotated = tmp_path / "b.py"
    annotated.write_text('NAMES: tuple[str, ...] = ("blur",)\n')
    assert literal_names(annotated, "NAMES") == ("blur",)
    assert literal_names(annotated, "PATTERNS") == ()
    computed = tmp_path / "c.py"
    computed.write_text("NAMES = tuple(GENERATORS)\n")
    with pytest.raises(ColorbenchError, match="NAMES must be a literal tuple of strings"):
        literal_names(computed, "NAMES")
