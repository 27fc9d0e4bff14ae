"""End to end in a real headless Chromium (Debian's `chromium`, driven by Playwright): two
participants take a built study through `colorbench study serve`'s page, one with the
keyboard alone, the other with the mouse on a phone-sized screen, reloading mid-study.
Then the stored answers, the scores and the absence of any leak in what was served."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _study_data import ID_PREFIX, METHODS, make_inputs

from colorbench.study.design import BuildConfig, build_study
from colorbench.study.scoring import score_study
from colorbench.study.server import links, make_server
from colorbench.study.store import Study

# Set to a folder to save a screenshot of each kind of screen (the README's pictures).
SHOTS = (
    Path(os.environ["COLORBENCH_STUDY_SCREENSHOTS"])
    if os.environ.get("COLORBENCH_STUDY_SCREENSHOTS")
    else None
)
CHROMIUM = os.environ.get("COLORBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Scripted answers per hidden source: fooling (correct?, confident?) and ratings.
FOOL = {
    "P01": {"unet": (True, True), "scgan": (False, False)},
    "P02": {"unet": (True, False), "scgan": (False, True)},
}
RATE = {
    "P01": {"unet": [7, 6, 5], "scgan": [3, 4, 8], "ground_truth": [9, 9, 6], "planted": [1, 5, 9]},
    "P02": {
        "unet": [5, 5, 5],
        "scgan": [4, 4, 4],
        "ground_truth": [8, 8, 8],
        "planted": [0, 0, 10],
    },
}


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).is_file():
        msg = f"needs the playwright package and {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):  # CI installs both (.ci/run): a missing one is a failure
            pytest.fail(msg)
        pytest.skip(msg)
    return sync_playwright


def _expected_answer(study: Study, pid: str, screen: dict) -> dict:
    """What the script answers on a screen, from the hidden truth (the test is the experimenter)."""
    if screen["kind"] == "fool":
        it = study.item(screen["item"])
        scripted = it["check"] or it["batch"] == 0  # checks and practice: right and sure
        correct, confident = (True, True) if scripted else FOOL[pid].get(it["method"], (True, True))
        truth = "real" if screen["a"] == "real" else "recolorized"
        other = "recolorized" if truth == "real" else "real"
        return {"answer": truth if correct else other, "confident": confident}
    cands = study.group(screen["group"])["candidates"]
    return {"ratings": [RATE[pid].get(cands[j]["source"], [5, 5, 5]) for j in screen["order"]]}


def _record(r) -> tuple[str, dict, str, bytes]:
    """URL, headers, content type and body of a response, read at once (a reload would
    make the body unavailable later)."""
    ctype = r.headers.get("content-type", "")
    return r.url, r.all_headers(), ctype, b"" if "image" in ctype else r.body()


def _active(page) -> dict:
    return page.evaluate(
        """() => { const a = document.activeElement;
        return {tag: a.tagName, type: a.type || '', name: a.name || '', value: a.value || '',
                text: (a.labels && a.labels[0] ? a.labels[0].innerText : a.innerText || '').trim()}; }"""
    )


def _wait_images(page) -> None:
    """Every image decoded (polled from Python: the page's CSP forbids Playwright's eval)."""
    for _ in range(100):
        if page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("images did not load")


def _tab_to(page, want) -> dict:
    for _ in range(80):
        page.keyboard.press("Tab")
        a = _active(page)
        if want(a):
            return a
    raise AssertionError("keyboard focus never reached the control")


def _key_radio(page, group: str, index: int) -> None:
    """Tab into a radio group, check its first option with Space, arrow to option `index`."""
    _tab_to(page, lambda a: a["type"] == "radio" and a["name"] == group)
    page.keyboard.press("Space")
    for _ in range(index):
        page.keyboard.press("ArrowRight")
    checked = page.locator(f"input[name='{group}']")
    assert [checked.nth(j).is_checked() for j in range(checked.count())].index(True) == index


def _answer_keyboard(page, ans: dict, kind: str) -> None:
    if kind == "fool":
        _key_radio(page, "answer", 0 if ans["answer"] == "real" else 1)
        _key_radio(page, "confident", 0 if ans["confident"] else 1)
    else:
        for n, vals in enumerate(ans["ratings"]):
            for k, v in enumerate(vals):
                _key_radio(page, f"c{n}_{k}", v)
    _tab_to(page, lambda a: a["tag"] == "BUTTON" and a["text"] == "Next")
    page.keyboard.press("Enter")


def _answer_mouse(page, ans: dict, kind: str) -> None:
    if kind == "fool":
        page.get_by_role(
            "radio", name="Real" if ans["answer"] == "real" else "Recolorized", exact=True
        ).check()
        page.get_by_role(
            "radio", name="Confident" if ans["confident"] else "Not sure", exact=True
        ).check()
    else:
        for n, vals in enumerate(ans["ratings"]):
            for k, v in enumerate(vals):
                group = page.locator("fieldset").filter(has=page.locator(f"input[name=c{n}_{k}]"))
                group.get_by_role("radio", name=str(v), exact=True).check()
    page.get_by_role("button", name="Next").click()


def _run_participant(browser, study: Study, pid: str, url: str, keyboard: bool, seen: list) -> None:
    viewport = {"width": 1000, "height": 900} if keyboard else {"width": 390, "height": 844}
    page = browser.new_page(viewport=viewport)
    page.on("response", lambda r: seen.append(_record(r)))
    page.goto(url)
    plan = study.plan(pid)
    page.get_by_role("heading", name="Welcome").wait_for()
    if keyboard:
        _tab_to(page, lambda a: a["text"] == "Start")
        page.keyboard.press("Enter")
    else:
        page.get_by_role("button", name="Start").click()
    for i, screen in enumerate(plan):
        page.get_by_text(f"{i} of {len(plan)} answered").wait_for()
        if not keyboard and i == 3:  # a reload mid-study resumes at the same screen
            page.reload()
            page.get_by_text(f"{i} of {len(plan)} answered").wait_for()
            assert page.get_by_role("heading", name="Welcome").count() == 0
        page.locator("form").wait_for()
        _wait_images(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        if SHOTS and keyboard and not (SHOTS / f"study_{screen['kind']}.png").exists():
            page.screenshot(path=str(SHOTS / f"study_{screen['kind']}.png"), full_page=True)
        ans = _expected_answer(study, pid, screen)
        (_answer_keyboard if keyboard else _answer_mouse)(page, ans, screen["kind"])
        if (
            study.spec["plans"][pid][i]["kind"] == "fool"
            and study.item(screen["item"])["batch"] == 0
        ):
            page.get_by_text("image A was").first.wait_for()  # practice: the answer is shown
            if keyboard:
                assert _active(page)["text"] == "Continue"
                page.keyboard.press("Enter")
            else:
                page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    if keyboard:
        return
    # A replayed request changes nothing.
    before = study.log_path(pid).read_text()
    replay = _expected_answer(study, pid, plan[-1])
    status = page.evaluate(
        """async ([u, body]) => { const r = await fetch(u, {method: 'POST',
           headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
           return [r.status, (await r.json()).status]; }""",
        [url.replace("/p/", "/api/") + "/answer", {"screen": len(plan) - 1, **replay}],
    )
    assert status == [200, "duplicate"] and study.log_path(pid).read_text() == before


@contextlib.contextmanager
def serving(folder: Path) -> Iterator:
    """`colorbench study serve` on a free port of 127.0.0.1, in a thread."""
    server = make_server(folder, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def complete_by_keyboard(folder: Path, pid: str = "P01") -> None:
    """One participant takes the whole study in Chromium with the keyboard alone (the
    scripted answers of FOOL/RATE; other methods' pairs answered right and confident)."""
    sync_playwright = _playwright()
    study = Study.load(folder, need_tokens=True)
    with serving(folder) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        _run_participant(browser, study, pid, links(server)[pid], True, [])
        browser.close()


def test_two_participants_in_chromium(tmp_path: Path) -> None:
    sync_playwright = _playwright()
    prepared, outputs = make_inputs(tmp_path / "in")
    folder = tmp_path / "studies" / "pilot"
    build_study(
        BuildConfig(
            outputs=outputs,
            prepared=prepared,
            out=folder,
            methods=list(METHODS),
            participants=2,
            batches=2,
            per_batch=2,
            trial=1,
            groups=2,
            fooling_checks=1,
            rating_checks=1,
        )
    )
    study = Study.load(folder, need_tokens=True)
    seen: list = []
    with serving(folder) as server, sync_playwright() as p:
        urls = links(server)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        _run_participant(browser, study, "P01", urls["P01"], True, seen)
        _run_participant(browser, study, "P02", urls["P02"], False, seen)
        port = server.server_address[1]
        bad = browser.new_page().request.get(f"http://127.0.0.1:{port}/api/not-a-token/state")
        assert bad.status == 404
        _check_no_leak(study, seen, tmp_path)  # bodies are readable while pages live
        browser.close()

    # Stored answers: one line per screen, in plan order, nothing twice.
    for pid in ("P01", "P02"):
        lines = [json.loads(x) for x in study.log_path(pid).read_text().splitlines()]
        assert [r["screen"] for r in lines] == list(range(len(study.plan(pid))))
    s = score_study(folder, n_boot=200)
    assert s["included"] == ["P01", "P02"]
    assert all(a["checks"] == 2 and a["failed"] == 0 for a in s["participants"].values())
    fool = s["fooling"]["methods"]
    assert fool["unet"]["F"]["mean"] == pytest.approx((0 + 0.25) / 2)  # cases 1 and 2
    assert fool["scgan"]["F"]["mean"] == pytest.approx((0.75 + 1) / 2)  # cases 3 and 4
    assert fool["unet"]["total"] == [2, 2, 0, 0] and fool["scgan"]["total"] == [0, 0, 2, 2]
    means = s["rating"]["means"]
    assert means["unet"]["naturalness"]["mean"] == pytest.approx(6.0)
    assert means["scgan"]["colourfulness"]["mean"] == pytest.approx(6.0)
    assert means["ground_truth"]["bleeding"]["mean"] == pytest.approx(8.5)


def _check_no_leak(study: Study, seen: list, tmp_path: Path) -> None:
    """No method name, hidden truth, image id, file name or path in any served URL, header
    or text body (the practice feedback aside, which shows the answer by design)."""
    secret_words = [
        *study.spec["methods"],
        "ground_truth",
        "truth",
        "planted",
        "fake",
        ID_PREFIX,
        "pilot",
        str(tmp_path),
        ".png",
        *study.spec["images"],
    ]
    for url, headers, ctype, body in seen:
        texts = [url, json.dumps(headers)]
        if "json" in ctype:
            obj = json.loads(body)
            obj.pop("feedback", None)
            texts.append(json.dumps(obj))
            assert "real" not in json.dumps(obj).lower(), url
        elif body:
            texts.append(body.decode("utf-8"))
        for t in texts:
            for w in secret_words:
                assert w.lower() not in t.lower(), (w, url)
    kinds = {c.split(";")[0] for _, _, c, _ in seen}
    assert {"text/html", "text/javascript", "text/css", "application/json", "image/png"} <= kinds
