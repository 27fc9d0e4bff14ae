"""The human-evaluation kit without a browser: design, answer log, HTTP errors, scoring
against hand-computed values and ParaColorizer's Table III, the report tables."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from _study_data import METHODS, make_inputs
from click.testing import CliRunner

from colorbench.cli import main
from colorbench.errors import ColorbenchError
from colorbench.study.design import BuildConfig, build_study
from colorbench.study.scoring import (
    fooling_score,
    krippendorff_alpha,
    printed_formula,
    score_study,
)
from colorbench.study.server import make_server
from colorbench.study.store import AnswerLog, Study, normalize_answer, read_log
from colorbench.study.tables import NO_STUDY, write_study_reports

TABLE_III = [[6, 37, 52, 5], [12, 40, 40, 8], [6, 29, 55, 10], [7, 34, 49, 10]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    return make_inputs(tmp_path_factory.mktemp("in"), n=24)


def _build(inputs, out: Path, **kw) -> Study:
    cfg = dict(
        participants=3, batches=2, per_batch=2, trial=1, groups=2, fooling_checks=1, rating_checks=1
    )
    cfg.update(kw)
    build_study(
        BuildConfig(
            outputs=inputs[1], prepared=inputs[0], out=out, **{"methods": list(METHODS), **cfg}
        )
    )
    return Study.load(out, need_tokens=True)


def _answer(study: Study, pid: str, rule) -> None:
    """Write answers for every screen of a participant; rule(item) -> (correct, confident),
    ratings: rule(source) -> three values."""
    alog = AnswerLog(study.log_path(pid))
    for i, s in enumerate(study.plan(pid)):
        if s["kind"] == "fool":
            correct, confident = rule(study.item(s["item"]))
            truth = "real" if s["a"] == "real" else "recolorized"
            ans = truth if correct else ("real" if truth == "recolorized" else "recolorized")
            body = {"answer": ans, "confident": confident}
        else:
            cands = study.group(s["group"])["candidates"]
            body = {"ratings": [rule(cands[j]["source"]) for j in s["order"]]}
        assert alog.submit(normalize_answer(study, pid, i, body)) == "stored"


# ---- scoring, by hand ----------------------------------------------------------------------


def test_table_iii_counts_give_the_published_score() -> None:
    totals = np.sum(TABLE_III, axis=0)
    assert totals.tolist() == [31, 140, 196, 33]
    assert fooling_score(totals) == pytest.approx(215 / 400) == pytest.approx(0.5375)
    # The formula as printed (÷ b×N, 4 batches × 20 subjects) does not give 0.5375.
    assert printed_formula(totals, 4, 20) == pytest.approx(215 / 80)


def test_krippendorff_alpha_matches_the_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 observers x 12
    # units with missing values: nominal 0.743, interval 0.849.
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert krippendorff_alpha(np.array(data), "nominal")[0] == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(np.array(data), "interval")[0] == pytest.approx(0.849, abs=5e-4)
    alpha, why = krippendorff_alpha(np.array([[1.0, 0.0]]), "nominal")
    assert alpha is None and "two participants" in why


def test_table_iii_reproduced_through_a_study(inputs, tmp_path: Path) -> None:
    """20 participants x 4 batches x 5 pairs whose answers fall in Table III's cases."""
    study = _build(
        inputs,
        tmp_path / "s",
        methods=["unet"],
        participants=20,
        batches=4,
        per_batch=5,
        trial=0,
        fooling_checks=0,
        kinds=["fooling"],
    )
    cases = {
        b + 1: [c for c, n in enumerate(row) for _ in range(n)] for b, row in enumerate(TABLE_III)
    }
    given = {b: 0 for b in cases}
    for pid in study.participants:

        def rule(item):
            c = cases[item["batch"]][given[item["batch"]]]
            given[item["batch"]] += 1
            return (c < 2, c in (0, 3))  # cases 1,2 right; 1,4 confident

        _answer(study, pid, rule)
    s = score_study(study.folder, n_boot=200)
    r = s["fooling"]["methods"]["unet"]
    assert [r["batches"][str(b)] for b in range(1, 5)] == TABLE_III
    assert r["F"]["mean"] == pytest.approx(0.5375) and r["F"]["n"] == 400
    lo, hi = r["F"]["ci95"]
    assert lo < 0.5375 < hi  # participants differ a lot here (cases dealt in order)
    assert r["printed_formula"] == pytest.approx(2.6875)


def test_scores_intervals_and_exclusion_by_hand(inputs, tmp_path: Path) -> None:
    study = _build(inputs, tmp_path / "s")
    gt, planted = [9, 9, 5], [1, 2, 9]

    def steady(x):  # right and confident; fixed ratings
        if isinstance(x, dict):
            return (True, True)
        return {"unet": [6, 5, 4], "scgan": [4, 7, 2], "ground_truth": gt, "planted": planted}[x]

    def unsure(x):  # wrong and not sure on scored items, right on checks and practice
        if isinstance(x, dict):
            return (True, True) if x["check"] or x["batch"] == 0 else (False, False)
        return {"unet": [8, 7, 6], "scgan": [2, 3, 4], "ground_truth": gt, "planted": planted}[x]

    def careless(x):  # fails every check
        if isinstance(x, dict):
            return (not x["check"], True)
        return [0, 0, 0] if x == "ground_truth" else [10, 10, 10]

    for pid, rule in zip(study.participants, (steady, unsure, careless), strict=True):
        _answer(study, pid, rule)
    s = score_study(study.folder, n_boot=300)
    people = s["participants"]
    assert [people[p]["failed"] for p in study.participants] == [0, 0, 2]
    assert s["included"] == ["P01", "P02"] and people["P03"]["excluded"]
    for m in METHODS:  # P01: case 1 (0), P02: case 3 (0.75), same number of items each
        f = s["fooling"]["methods"][m]["F"]
        assert f["mean"] == pytest.approx(0.375) and f["n_participants"] == 2
        assert f["ci95"] == pytest.approx([0.0, 0.75])
    means = s["rating"]["means"]
    assert means["unet"]["naturalness"]["mean"] == pytest.approx(7.0)
    assert means["scgan"]["bleeding"]["mean"] == pytest.approx(5.0)
    assert means["ground_truth"]["colourfulness"]["mean"] == pytest.approx(5.0)
    assert "planted" not in means
    assert s["fooling"]["alpha"] is not None or s["fooling"]["alpha_reason"]


# ---- design ----------------------------------------------------------------------------------


def test_build_is_seeded_blind_and_per_participant(inputs, tmp_path: Path) -> None:
    a = _build(inputs, tmp_path / "a", participants=4)
    b = _build(inputs, tmp_path / "b", participants=4)
    assert a.spec["plans"] == b.spec["plans"] and a.spec["images"].keys() == b.spec["images"].keys()
    assert a.tokens != b.tokens  # secrets, not derived from the seed
    plans = list(a.spec["plans"].values())
    assert len({json.dumps(p) for p in plans}) == 4  # each participant has an order of their own
    for plan in plans:
        fool = [s for s in plan if s["kind"] == "fool"]
        assert abs(sum(s["a"] == "real" for s in fool) * 2 - len(fool)) <= 1  # balanced sides
        assert a.item(fool[0]["item"])["batch"] == 0  # practice first
    images = sorted(p.name for p in (tmp_path / "a" / "images").iterdir())
    assert all(len(n) == 24 and n.endswith(".png") for n in images)  # opaque names
    fooled = [it["image"] for it in a.spec["fooling"]["items"]]
    rated = [g["image"] for g in a.spec["rating"]["groups"]]
    assert len(set(fooled + rated)) == len(fooled + rated)  # no image shown twice
    c = _build(inputs, tmp_path / "c", participants=4, seed=1)
    assert c.spec["plans"] != a.spec["plans"]


def test_image_sizes_do_not_tell_real_from_fake(inputs, tmp_path: Path) -> None:
    """Every served file has one byte size; the padding changes no pixel (checked against
    the source images decoded by PIL)."""
    from PIL import Image

    study = _build(inputs, tmp_path / "s", participants=2)
    files = sorted((tmp_path / "s" / "images").glob("*.png"))
    assert len({f.stat().st_size for f in files}) == 1
    for f in files:
        entry = study.spec["images"][f.stem]
        if entry["source"] in METHODS:
            src = inputs[1] / entry["source"] / f"{entry['image']}.png"
            want = np.asarray(Image.open(src).convert("RGB"))
            assert np.array_equal(np.asarray(Image.open(f).convert("RGB")), want)


def test_build_errors_are_one_line(inputs, tmp_path: Path) -> None:
    with pytest.raises(ColorbenchError, match="needs 87 distinct"):
        _build(inputs, tmp_path / "x", groups=80)
    with pytest.raises(ColorbenchError, match="reserved"):
        _build(inputs, tmp_path / "y", methods=["ground_truth"])
    study = _build(inputs, tmp_path / "z")
    _answer(study, "P01", lambda x: (True, True) if isinstance(x, dict) else [5, 5, 5])
    with pytest.raises(ColorbenchError, match="already holds responses"):
        _build(inputs, tmp_path / "z")
    r = CliRunner().invoke(
        main,
        [
            "study",
            "build",
            "--prepared",
            str(inputs[0]),
            "--outputs",
            str(inputs[1]),
            "--method",
            "nope",
            "--out",
            str(tmp_path / "w"),
        ],
    )
    assert r.exit_code == 1 and "no outputs for method 'nope'" in r.output
    proto = tmp_path / "p.yaml"
    proto.write_text("participantz: 3\n")
    r = CliRunner().invoke(
        main, ["study", "build", "--protocol", str(proto), "--out", str(tmp_path / "w")]
    )
    assert r.exit_code == 1 and "unknown protocol keys ['participantz']" in r.output


# ---- answer log and HTTP ---------------------------------------------------------------------


def test_log_is_idempotent_and_survives_a_torn_line(inputs, tmp_path: Path) -> None:
    study = _build(inputs, tmp_path / "s")
    rec = normalize_answer(study, "P01", 0, {"answer": "real", "confident": True})
    alog = AnswerLog(study.log_path("P01"))
    assert alog.submit(rec) == "stored"
    assert alog.submit(dict(rec)) == "duplicate"
    assert alog.submit({**rec, "answer": "recolorized"}) == "conflict"
    with open(study.log_path("P01"), "ab") as fh:  # a crash in the middle of a write
        fh.write(b'{"screen": 1, "ite')
    alog = AnswerLog(study.log_path("P01"))
    rec1 = normalize_answer(study, "P01", 1, {"answer": "recolorized", "confident": False})
    assert alog.submit(rec1) == "stored"
    answers, bad = read_log(study.log_path("P01"))
    assert sorted(answers) == [0, 1] and bad == 1


def _http(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    out = r.status, dict(r.getheaders()), r.read()
    conn.close()
    return out


def test_server_rejects_bad_requests_with_4xx(inputs, tmp_path: Path) -> None:
    study = _build(inputs, tmp_path / "s")
    server = make_server(study.folder, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port, tok = server.server_address[1], study.tokens["P01"]
    js = {"Content-Type": "application/json"}
    try:
        assert _http(port, "GET", f"/p/{tok}")[0] == 200
        status, headers, _ = _http(port, "GET", f"/api/{tok}/state")
        assert status == 200 and headers["Server"] == "study"
        cases = [
            ("GET", "/p/nope", None, {}),
            ("GET", f"/i/{tok}/0123456789abcdef01234567", None, {}),
            ("GET", "/s/../study.json", None, {}),
            ("GET", "/images/", None, {}),
            ("POST", f"/api/{tok}/answer", b"{not json", js),
            ("POST", f"/api/{tok}/answer", b'{"screen": 0}', {}),  # no JSON content type
            ("POST", f"/api/{tok}/answer", b'{"screen": "0"}', js),
            ("POST", f"/api/{tok}/answer", b'{"screen": 99}', js),
            (
                "POST",
                f"/api/{tok}/answer",
                b'{"screen": 3, "answer": "real", "confident": true}',
                js,
            ),
            ("POST", f"/api/{tok}/answer", b'{"screen": 0, "answer": "yes", "confident": 1}', js),
            ("POST", f"/api/{tok}/answer", b"x" * 20000, js),
            ("POST", "/api/nope/answer", b"{}", js),
            ("DELETE", f"/api/{tok}/state", None, {}),
            ("PATCH", "/", None, {}),
        ]
        for method, path, body, hdrs in cases:
            status, _, text = _http(port, method, path, body, hdrs)
            assert 400 <= status < 500, (method, path, status)
            assert b"Traceback" not in text
        assert not study.log_path("P01").exists()  # nothing stored by any of them
        ok = b'{"screen": 0, "answer": "real", "confident": true}'
        assert (
            json.loads(_http(port, "POST", f"/api/{tok}/answer", ok, js)[2])["status"] == "stored"
        )
        assert (
            json.loads(_http(port, "POST", f"/api/{tok}/answer", ok, js)[2])["status"]
            == "duplicate"
        )
        assert len(study.log_path("P01").read_text().splitlines()) == 1
    finally:
        server.shutdown()
        server.server_close()


# ---- report tables and CLI -------------------------------------------------------------------


def test_reports_without_and_with_a_study(inputs, tmp_path: Path) -> None:
    studies, out = tmp_path / "studies", tmp_path / "reports" / "study"
    assert write_study_reports(studies, out) == []
    assert NO_STUDY in (out / "README.md").read_text()
    study = _build(inputs, studies / "pilot")
    assert write_study_reports(studies, out) == []  # built but nobody answered yet
    _answer(
        study,
        "P01",
        lambda x: (True, True) if isinstance(x, dict) else [5 - 4 * (x == "planted")] * 3,
    )
    _answer(
        study,
        "P02",
        lambda x: (
            (False, False)
            if isinstance(x, dict) and not x["check"]
            else (True, True)
            if isinstance(x, dict)
            else [3, 3, 3]
            if x == "planted"
            else [6, 6, 6]
        ),
    )
    scores = write_study_reports(studies, out, n_boot=100)
    assert [s["name"] for s in scores] == ["pilot"]
    md = (out / "README.md").read_text()
    assert "as ParaColorizer Table III" in md and "as SCGAN Table I" in md
    assert "Krippendorff" in md and "Exclusion rule" in md
    assert (out / "study_pilot_table3.csv").read_text().startswith("method,batch,case1")
    assert (out / "study_pilot_perceptual.tex").is_file()
    r = CliRunner().invoke(
        main,
        [
            "study",
            "score",
            str(studies / "pilot"),
            "--bootstrap",
            "50",
            "--json",
            str(tmp_path / "s.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "fooling unet: F = " in r.output and "participants included: 2" in r.output
    assert json.loads((tmp_path / "s.json").read_text())["included"] == ["P01", "P02"]


def test_report_has_a_human_evaluation_section(inputs, tmp_path: Path) -> None:
    from test_report import metrics_json

    from colorbench.report import ReportConfig, build_report

    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "metrics.json").write_text(json.dumps(metrics_json(["gray", "fg"])))
    missing = tmp_path / "missing"
    cfg = ReportConfig(
        metrics=reports / "metrics.json",
        per_image=missing,
        outputs=missing,
        prepared=missing,
        logs=missing,
        out=reports,
        saliency_pred=missing,
        saliency_gt=missing,
        study=reports / "study",
        crops=missing,
    )
    build_report(cfg)
    assert "## Human evaluation\n\nNot scored: no " in (reports / "README.md").read_text()
    write_study_reports(tmp_path / "studies", reports / "study")
    build_report(cfg)
    assert NO_STUDY in (reports / "README.md").read_text()
    study = _build(inputs, tmp_path / "studies" / "pilot")
    _answer(
        study,
        "P01",
        lambda x: (True, False) if isinstance(x, dict) else [7 - 6 * (x == "planted")] * 3,
    )
    write_study_reports(tmp_path / "studies", reports / "study", n_boot=50)
    build_report(cfg)
    text = (reports / "README.md").read_text()
    assert "### Study `pilot`" in text and "| unet | All | 0 | 2 | 0 | 0 | 0.2500 |" in text
    assert "[study/](study/)" in text


def test_cli_build_from_a_protocol(inputs, tmp_path: Path) -> None:
    proto = tmp_path / "protocol.yaml"
    proto.write_text(
        f"prepared: {inputs[0]}\noutputs: {inputs[1]}\nmethods: [unet]\nkinds: [rating]\n"
        "participants: 2\ngroups: 3\n"
    )
    out = tmp_path / "s"
    r = CliRunner().invoke(
        main, ["study", "build", "--protocol", str(proto), "--participants", "3", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    study = Study.load(out)
    assert study.participants == ["P01", "P02", "P03"]  # the option overrides the protocol
    assert "fooling" not in study.spec and len(study.spec["rating"]["groups"]) == 3 + 1
    assert (out / ".gitignore").read_text() == "tokens.json\n"
