"""End to end on the `paper-mini` profile, as a new user would run the paper set-up offline:
COCO-2017, Places365 and ILSVRC2012 archives in their real layouts on a 127.0.0.1 mirror (the
first transfer of train2017.zip is cut midway), stand-in weights selected through
COLORBENCH_WEIGHTS_MANIFEST, then `dvc repro` in a temporary copy of the repository, all the
way to the report. Every stage must run and every method (scgan included) must get a finite
value for every metric each evaluation protocol lists (coco_val5k: FID, LPIPS, ...;
imagenet_val10k: Top-1 by VGG-16 on ImageNet class indices; imagenet_5k: FID). One may be
absent with its reason: CNI is undefined for an output with no saturated pixel (gray; a
barely trained model's near-gray output). Each paper table names its protocol and N."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from paper_fixture import build_mirror, point_params_at
from test_download import _Handler
from test_pipeline_e2e import _copy_repo

from colorbench.metrics.pairing import resolve_metrics
from colorbench.weights import REGISTRY
from colorbench.weights_manifest import ENV, STAND_IN_STAMP

pytestmark = pytest.mark.slow

METHODS = ("gray", "unet", "fg", "bg", "fused", "scgan", "overlay_a0.5")


def _serve(www: Path, drop: str):
    """A Range-capable mirror of `www` that cuts the first transfer of `drop` midway."""
    import threading
    from http.server import ThreadingHTTPServer

    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.files = {f"/{p.relative_to(www).as_posix()}": p.read_bytes()
                 for p in www.rglob("*") if p.is_file()}  # fmt: skip
    srv.log, srv.fail, srv.drop, srv.ignore_range = [], {}, {drop: 1}, False
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    )
    return proc


def prepare_workspace(repo_root: Path, tmp: Path) -> tuple[Path, dict[str, str], object]:
    """The temp repository on paper-mini, pointed at a local mirror, with stand-in weights;
    returns (workspace, environment for dvc, server)."""
    from colorbench.weights_standins import make_stand_ins

    www = build_mirror(tmp / "www")
    srv, base = _serve(www, "/zips/train2017.zip")
    manifest = make_stand_ins(tmp / "weights", log=lambda _m: None)
    work = tmp / "repo"
    work.mkdir()
    _copy_repo(repo_root, work)
    env = dict(os.environ)
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
               DVC_NO_ANALYTICS="1", TORCH_HOME=str(tmp / "torch"), OMP_NUM_THREADS="1")  # fmt: skip
    env[ENV] = str(manifest)
    env.pop("COLORBENCH_DOWNLOADS", None)
    _run(["colorbench", "profile", "use", "paper-mini"], work, env)
    params = yaml.safe_load((work / "params.yaml").read_text())
    point_params_at(params, www, base)
    params["acquire"]["download"]["backoff"] = 0.0
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    _run(["git", "init", "-q"], work, env)
    _run([*git, "add", "-A"], work, env)
    _run([*git, "commit", "-qm", "paper-mini"], work, env)
    return work, env, srv


@pytest.mark.cost(420)
def test_paper_mini_dvc_repro_to_the_report(repo_root: Path, tmp_path: Path) -> None:
    work, env, srv = prepare_workspace(repo_root, tmp_path)
    try:
        _run(["dvc", "repro"], work, env)
    finally:
        srv.shutdown()
        srv.server_close()

    # The cut transfer was resumed with a Range request.
    train_zip = [rng for path, rng in srv.log if path == "/zips/train2017.zip"]
    assert len(train_zip) == 2 and train_zip[0] is None and train_zip[1].startswith("bytes=")
    # Every stage ran and nothing is left to do.
    names = _run(["dvc", "stage", "list", "--name-only"], work, env).stdout.split()
    lock = yaml.safe_load((work / "dvc.lock").read_text())["stages"]
    assert set(names) <= set(lock) and "train_scgan" in names and "crops" in names
    assert json.loads(_run(["dvc", "status", "--json"], work, env).stdout or "{}") == {}

    params = yaml.safe_load((work / "params.yaml").read_text())
    metrics = json.loads((work / "reports/metrics_details.json").read_text())
    assert metrics["protocol"] == "coco_val5k"
    n = {p: block["n_images"] for p, block in metrics["protocols"].items()}
    # ImageNet: val_per_class colour val images x 3 classes, and a random n of them
    per_class = params["acquire"]["imagenet"]["val_per_class"]
    assert n["imagenet_val10k"] == 3 * per_class and n["coco_val5k"] > 0
    assert n["imagenet_5k"] == params["protocols"]["imagenet_5k"]["n"] < 3 * per_class
    for protocol, block in metrics["protocols"].items():
        for method in METHODS:
            got = block["methods"][method]
            for key in resolve_metrics(params["protocols"][protocol]["metrics"]):
                value = got[key].get("mean")
                if key == "cni" and value is None:
                    # CNI is undefined for an image without a saturated skin/grass/sky pixel:
                    # gray by definition, and a 1-epoch 4-channel model's near-gray output.
                    assert "no image has a defined value" in got[key]["reason"], method
                else:
                    assert value is not None and math.isfinite(value), (protocol, method, key)
    for method in METHODS:
        got = metrics["methods"][method]
        assert got["fid"]["mean"] > 0 and got["lpips"]["mean"] > 0, method  # not degenerate
    assert metrics["methods"]["unet"]["cni"]["mean"] is not None
    assert metrics["fid_mode"] == params["evaluate"]["fid_mode"]

    report = (work / "reports/README.md").read_text()
    assert report.splitlines()[0] == f"**{STAND_IN_STAMP}**"
    for table, protocol in params["report"]["tables"].items():
        text = (work / "reports" / "tables" / f"{table}.md").read_text()
        assert f"Protocol: {protocol} (" in text and f"N = {n[protocol]} images" in text, table
    loaded = report[report.index("## Pretrained files loaded") :]
    for name in REGISTRY:  # every registry network was loaded, from the manifest
        assert f"| {name} |" in loaded, name
    assert loaded.count("(**stand-in**)") == len(REGISTRY)
    global_net = json.loads((work / "logs/train_global/global_labels.json").read_text())
    # pretrained on the ImageNet subset's devkit classes, not COCO's substitute
    assert global_net["kind"] == "class" and not global_net["substitutes_imagenet"]
    assert global_net["classes"] == 3 and global_net["train_images"] == 24
