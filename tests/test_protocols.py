"""Evaluation protocols: the params schema, each selection rule against pandas written out,
colorize and evaluate per (method, protocol), and report tables naming protocol and N."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from colorbench import protocols as proto
from colorbench.colorize.stage import run_stage
from colorbench.data.manifest import COLUMNS
from colorbench.errors import ColorbenchError

SIZE = 16
REPO = Path(__file__).resolve().parents[1]


def _manifest(n: int = 60) -> pd.DataFrame:
    """Two main sources (a: test/train/excluded mixed, b: all test), 3 labels, background."""
    rows = []
    for i in range(n):
        source = "a" if i % 2 else "b"
        split = "test" if source == "b" or i % 3 else "train"
        gray = i % 7 == 0
        rows.append(
            dict(id=f"img{i:03d}", source=source, role="main",
                 split="excluded" if gray else split, grayscale=gray, label=str(i % 3),
                 orig_path="", orig_width=SIZE, orig_height=SIZE, width=SIZE, height=SIZE)
        )  # fmt: skip
    rows.append(dict(rows[0], id="bg0", source="bg", role="background", split="train"))
    return pd.DataFrame(rows, columns=COLUMNS)


def _p(name: str = "p", **spec) -> proto.Protocol:
    return proto.Protocol.from_params(name, spec)


def test_schema_and_errors() -> None:
    loaded = proto.load({"protocols": {"x": {"select": "random", "n": 3}, "y": {}}})
    assert list(loaded) == ["x", "y"]  # file order: x is the primary protocol
    assert loaded["x"].n == 3 and loaded["y"].select == "all" and loaded["y"].split == "test"
    assert list(proto.load({})) == ["test"]  # no section: the test split as before
    for bad, msg in [
        ({"select": "random"}, "needs n"),
        # the keys and types are params_schema's, with its one-line messages
        ({"select": "some"}, "protocols.x.select: 'some' is not one of all, random, per_class"),
        ({"split": "holdout"}, "protocols.x.split: 'holdout' is not one of train, val, test"),
        ({"grayscale": "maybe"}, "protocols.x.grayscale: 'maybe' is not one of"),
        ({"size": 3}, "protocols.x.size: unknown key"),
        ({"n": 2.5, "select": "random"}, "protocols.x.n: expected an integer, got 2.5"),
    ]:
        with pytest.raises(ColorbenchError, match=msg):
            proto.load({"protocols": {"x": bad}})
    with pytest.raises(ColorbenchError, match="unknown protocol 'z'"):
        proto.get({"protocols": {"x": {}}}, "z")


def test_all_sources_and_grayscale() -> None:
    m = _manifest()
    main = m[m["role"] == "main"]
    got = proto.select_ids(m, _p(), 0)
    assert got == sorted(main.loc[main["split"] == "test", "id"])
    got = proto.select_ids(m, _p(sources=["b"]), 0)
    assert got == sorted(main.loc[(main["source"] == "b") & (main["split"] == "test"), "id"])
    kept = proto.select_ids(m, _p(sources=["b"], grayscale="keep"), 0)
    assert kept == sorted(main.loc[main["source"] == "b", "id"])  # test + grayscale-excluded
    with pytest.raises(ColorbenchError, match="source"):
        proto.select_ids(m, _p(sources=["coco_val"]), 0)


def test_random_is_seeded() -> None:
    m = _manifest()
    pool = set(m.loc[(m["role"] == "main") & (m["split"] == "test"), "id"])
    a = proto.select_ids(m, _p(select="random", n=10), 0)
    assert len(a) == 10 and set(a) <= pool and a == sorted(a)
    assert proto.select_ids(m, _p(select="random", n=10), 0) == a
    assert proto.select_ids(m, _p(select="random", n=10), 1) != a
    assert proto.select_ids(m, _p("other", select="random", n=10), 0) != a  # own draw
    assert set(proto.select_ids(m, _p(select="random", n=999), 0)) == pool  # all there is


def test_per_class_balanced() -> None:
    m = _manifest()
    test = m[(m["role"] == "main") & (m["split"] == "test")]
    got = proto.select_rows(m, _p(select="per_class", n=4), 3)
    assert got["label"].value_counts().to_dict() == {"0": 4, "1": 4, "2": 4}
    assert set(got["id"]) <= set(test["id"])
    # a class with fewer images keeps them all
    few = m[~((m["label"] == "2") & (m["split"] == "test"))].copy()
    few.loc[few.index[:1], ["split", "label"]] = ["test", "2"]
    counts = proto.select_rows(few, _p(select="per_class", n=4), 3)["label"].value_counts()
    assert counts.to_dict() == {"0": 4, "1": 4, "2": 1}
    m.loc[m.index[1], "label"] = ""
    with pytest.raises(ColorbenchError, match="needs a label"):
        proto.select_rows(m, _p(select="per_class", n=2), 0)


def _prepared(root: Path) -> pd.DataFrame:
    m = _manifest(24)
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    for i in m["id"]:
        img = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(img).save(root / "images" / f"{i}.png")
    m.to_csv(root / "manifest.csv", index=False)
    return m


def test_colorize_and_evaluate_per_protocol(tmp_path: Path) -> None:
    from colorbench.metrics.stage import evaluate_protocols
    from colorbench.report import ReportConfig, build_report

    prepared = tmp_path / "prepared"
    m = _prepared(prepared)
    params = {
        "seed": 0,
        "protocols": {
            "full": {"sources": ["b"], "grayscale": "keep", "metrics": ["psnr", "ssim"]},
            "bal": {"select": "per_class", "n": 2, "metrics": ["psnr", "colorfulness"]},
        },
        "report": {"tables": {"scgan_table1": "bal"}},
    }
    expected = {}
    for name in ("full", "bal"):
        p = proto.get(params, name)
        dirs = {"prepared_dir": prepared, "outputs_dir": tmp_path / "outputs" / name}
        expected[name] = proto.select_ids(m, p, 0)
        for method in ("gray", "noisy"):
            if method == "noisy":  # an external method's outputs, imported per protocol
                ext = tmp_path / "ext"
                ext.mkdir(exist_ok=True)
                for i in m["id"]:
                    img = np.asarray(Image.open(prepared / "images" / f"{i}.png")) // 2 + 60
                    Image.fromarray(img.astype(np.uint8)).save(ext / f"{i}.png")
                run_stage("external", {"external": {"noisy": str(ext)}}, name="noisy",
                          protocol=p, **dirs)  # fmt: skip
            else:
                run_stage(method, {"num_workers": 0}, protocol=p, **dirs)
            out = tmp_path / "outputs" / name / method
            assert sorted(q.stem for q in out.iterdir()) == expected[name]

    result = evaluate_protocols(
        params,
        tmp_path / "outputs",
        prepared,
        tmp_path / "reports" / "metrics.json",
        tmp_path / "reports" / "per_image",
        bootstrap=50,
        num_workers=0,
        device="cpu",
        evaluator_path=None,
    )
    saved = json.loads((tmp_path / "reports" / "metrics_details.json").read_text())
    short = json.loads((tmp_path / "reports" / "metrics.json").read_text())  # headline
    assert short["protocol"] == "full" and list(short["protocols"]) == ["bal"]
    assert short["protocols"]["bal"]["n_images"] == 6
    assert short["protocols"]["bal"]["methods"]["noisy"]["psnr"] == pytest.approx(
        saved["protocols"]["bal"]["methods"]["noisy"]["psnr"]["mean"]
    )
    assert saved["protocol"] == "full" and list(saved["protocols"]) == ["full", "bal"]
    assert saved["n_images"] == len(expected["full"])
    assert saved["protocols"]["bal"]["n_images"] == len(expected["bal"]) == 6
    assert set(saved["protocols"]["bal"]["methods"]["noisy"]) >= {"psnr", "colorfulness"}
    assert "ssim" not in saved["protocols"]["bal"]["methods"]["noisy"]  # its own metrics
    assert result["protocols"]["full"]["about"].startswith("b, test split, all images")
    # psnr of one image, written out: 10 log10(255² / MSE) against the ground truth
    row = pd.read_csv(tmp_path / "reports" / "per_image" / "bal" / "noisy.csv").iloc[0]
    gt = np.asarray(Image.open(prepared / "images" / f"{row['image']}.png")).astype(float)
    pred = np.asarray(Image.open(tmp_path / "outputs/bal/noisy" / f"{row['image']}.png"))
    mse = ((gt - pred.astype(float)) ** 2).mean()
    assert row["psnr"] == pytest.approx(10 * np.log10(255**2 / mse), rel=1e-6)
    assert (tmp_path / "reports" / "per_image" / "noisy.csv").is_file()  # primary, as before

    cfg = ReportConfig(
        metrics=tmp_path / "reports" / "metrics_details.json",
        per_image=tmp_path / "reports" / "per_image",
        outputs=tmp_path / "outputs",
        prepared=prepared,
        logs=tmp_path / "logs",
        out=tmp_path / "reports",
        **{k: tmp_path / "missing" for k in ("saliency_pred", "saliency_gt", "study", "crops")},
        grid_images=2,
        baseline="gray",
    )
    build_report(cfg, params)
    scgan = (tmp_path / "reports" / "tables" / "scgan_table1.md").read_text()
    assert "Protocol: bal (all sources, test split, 2 per class (seeded)" in scgan
    assert "N = 6 images" in scgan
    para = (tmp_path / "reports" / "tables" / "paracolorizer_table1.md").read_text()
    assert "Protocol: full" in para and f"N = {len(expected['full'])} images" in para
    assert (tmp_path / "reports" / "figures" / "comparison_grid.png").is_file()

    params["report"]["tables"]["scgan_table1"] = "missing"
    with pytest.raises(ColorbenchError, match="names protocol 'missing'"):
        build_report(cfg, params)


def test_profiles_declare_report_protocols() -> None:
    """Every report.tables entry names a protocol of the same profile; synthetic keeps two."""
    for path in sorted((REPO / "profiles").glob("*.yaml")):
        params = yaml.safe_load(path.read_text())
        names = list(proto.load(params))
        assert set((params.get("report") or {}).get("tables", {}).values()) <= set(names), path
        if path.stem == "synthetic":
            assert len(names) == 2


def test_params_schema_checks_protocols(tmp_path: Path) -> None:
    from colorbench.params import load_params

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"protocols": {"x": {"select": "rnd", "n": 3}}}))
    with pytest.raises(ColorbenchError, match=r"protocols.x.select: 'rnd' is not one of"):
        load_params(path)
    path.write_text(yaml.safe_dump({"report": {"tables": {"scgan_tabel1": "x"}}}))
    with pytest.raises(ColorbenchError, match="did you mean 'scgan_table1'"):
        load_params(path)


def test_study_build_names_its_folders(tmp_path: Path, monkeypatch) -> None:
    """No default folder (paths are declared once, by the caller): study build needs
    --outputs (e.g. outputs/<protocol>) and --prepared, on the line or in --protocol."""
    from click.testing import CliRunner

    from colorbench.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs" / "main").mkdir(parents=True)
    r = CliRunner().invoke(main, ["study", "build", "--method", "fg", "--out", "s"])
    assert r.exit_code == 2 and "--outputs and --prepared" in r.output, r.output
    r = CliRunner().invoke(
        main, ["study", "build", "--outputs", "outputs/main", "--method", "fg", "--out", "s"]
    )
    assert r.exit_code == 2 and "needs --prepared" in r.output, r.output
