"""`colorbench study serve`: the study as a local web page (standard library only).

Routes (TOKEN: a participant's secret; nothing else in a URL says who or what):
  GET  /p/TOKEN                 the page (the same static HTML for everybody)
  GET  /s/app.js, /s/app.css    static assets
  GET  /api/TOKEN/state         progress and the current screen
  POST /api/TOKEN/answer        {"screen": i, ...}: stored (fsync) before the reply
  GET  /i/TOKEN/NONCE           an image; NONCE is a random name per participant, screen and
                                slot, drawn at server start, so no URL repeats or says what
                                the image is
Bad tokens, unknown routes and malformed requests get a 4xx with a one-line JSON or text
body; an unexpected error a bare 500, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from colorbench.study.store import AnswerLog, BadAnswer, Study, normalize_answer

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
}


def _static(name: str) -> bytes:
    return resources.files("colorbench.study").joinpath("static", name).read_bytes()


class StudyApp:
    """Everything the handler needs: the study, one answer log per participant, and the
    opaque image names of every screen."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.by_token = {tok: pid for pid, tok in study.tokens.items()}
        self.logs = {p: AnswerLog(study.log_path(p)) for p in study.participants}
        self.secret = secrets.token_bytes(32)
        self.images: dict[str, dict[str, str]] = {p: {} for p in study.participants}
        self.labels = {p: self._labels(p) for p in study.participants}

    def _labels(self, pid: str) -> list[str]:
        """'Practice k of n' / 'Batch j of b' / 'Group k of n' per screen, in this
        participant's order (batch positions, never the fixed batch ids)."""
        plan, out = self.study.plan(pid), []
        trial = sum(1 for s in plan if s["kind"] == "fool" and self._batch(s) == 0)
        groups = sum(1 for s in plan if s["kind"] == "rate")
        n_b = self.study.spec["fooling"]["batches"] if "fooling" in self.study.spec else 0
        seen, pos, g = 0, 0, 0
        last = None
        for s in plan:
            if s["kind"] == "rate":
                g += 1
                out.append(f"Part 2 · group {g} of {groups}")
            elif self._batch(s) == 0:
                seen += 1
                out.append(f"Practice {seen} of {trial}")
            else:
                if self._batch(s) != last:
                    pos, last = pos + 1, self._batch(s)
                out.append(f"Part 1 · batch {pos} of {n_b}")
        return out

    def _batch(self, screen: dict[str, Any]) -> int:
        return self.study.item(screen["item"])["batch"]

    def url(self, pid: str, index: int, slot: str, key: str) -> str:
        token = self.study.tokens[pid]
        msg = f"{pid}/{index}/{slot}".encode()
        nonce = hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:24]
        self.images[pid][nonce] = key
        return f"/i/{token}/{nonce}"

    def state(self, pid: str) -> dict[str, Any]:
        plan = self.study.plan(pid)
        i = self.logs[pid].next_index(len(plan))
        parts = [k for k in ("fool", "rate") if any(s["kind"] == k for s in plan)]
        out: dict[str, Any] = {"done": i, "total": len(plan), "parts": parts}
        if i == len(plan):
            return {**out, "finished": True}
        s = plan[i]
        screen: dict[str, Any] = {"index": i, "kind": s["kind"], "label": self.labels[pid][i]}
        if s["kind"] == "fool":
            it = self.study.item(s["item"])
            first, second = (
                (it["real"], it["fake"]) if s["a"] == "real" else (it["fake"], it["real"])
            )
            screen["practice"] = it["batch"] == 0
            screen["images"] = [self.url(pid, i, "a", first), self.url(pid, i, "b", second)]
        else:
            g = self.study.group(s["group"])
            screen["input"] = self.url(pid, i, "in", g["input"])
            screen["images"] = [
                self.url(pid, i, str(n), g["candidates"][j]["key"])
                for n, j in enumerate(s["order"])
            ]
        return {**out, "screen": screen}

    def answer(self, pid: str, body: Any) -> tuple[int, dict[str, Any]]:
        plan, alog = self.study.plan(pid), self.logs[pid]
        if not isinstance(body, dict) or not isinstance(body.get("screen"), int):
            return 400, {"error": "expected a JSON object with an integer 'screen'"}
        i = body["screen"]
        if not 0 <= i < len(plan):
            return 400, {"error": "no such screen"}
        if i not in alog.answers and i != alog.next_index(len(plan)):
            return 409, {"error": "answer the current screen first"}
        try:
            record = normalize_answer(self.study, pid, i, body)
        except BadAnswer as exc:
            return 400, {"error": str(exc)}
        status = alog.submit(record)
        if status == "conflict":
            return 409, {"error": "this screen was already answered differently"}
        reply: dict[str, Any] = {"status": status, **self.state(pid)}
        if plan[i]["kind"] == "fool" and self.study.item(plan[i]["item"])["batch"] == 0:
            # Practice only: the answer is shown, as in ParaColorizer's trial run.
            truth = "real" if plan[i]["a"] == "real" else "recolorized"
            reply["feedback"] = {"correct": record["answer"] == truth, "a_was": truth}
        return 200, reply


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # a stalled client frees its thread
    app: StudyApp  # set on the subclass made by make_server

    def version_string(self) -> str:  # no Python version in the Server header
        return "study"

    def log_message(self, format: str, *args: Any) -> None:  # tokens stay out of the console
        log.debug("%s %s", self.command, self.path.split("/")[1] if "/" in self.path else "")

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # any other method: 405, not the default 501
            return lambda: self._send(
                405, b"method not allowed\n", "text/plain", {"Allow": "GET, POST"}
            )
        raise AttributeError(name)

    def _send(
        self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        headers = {
            "Content-Type": ctype,
            "Content-Length": str(len(body)),
            "Cache-Control": "no-store",
            **SECURITY_HEADERS,
            **(extra or {}),
        }
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj: dict[str, Any]) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def _route(self) -> tuple[str, str | None, str | None]:
        parts = self.path.split("?", 1)[0].split("/")[1:]
        kind = parts[0] if parts else ""
        pid = self.app.by_token.get(parts[1]) if len(parts) > 1 else None
        rest = "/".join(parts[2:]) if len(parts) > 2 else None
        return kind, pid, rest

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            self._get()
        except Exception:  # a bug must not print a traceback to the participant
            log.exception("GET failed")
            self._send(500, b"internal error\n", "text/plain")

    def do_POST(self) -> None:
        try:
            self._post()
        except Exception:
            log.exception("POST failed")
            self._send(500, b"internal error\n", "text/plain")

    def _get(self) -> None:
        kind, pid, rest = self._route()
        if kind == "s" and self.path.count("/") == 2 and self.path[3:] in STATIC:
            name = self.path[3:]
            return self._send(200, _static(name), STATIC[name] + "; charset=utf-8")
        if kind in ("p", "api", "i") and pid is None:
            return self._send(404, b"unknown or expired link\n", "text/plain")
        if kind == "p" and rest is None:
            return self._send(200, _static("index.html"), "text/html; charset=utf-8")
        if kind == "api" and rest == "state":
            return self._json(200, self.app.state(pid))
        if kind == "i" and rest in self.app.images[pid]:
            data = self.app.study.image_path(self.app.images[pid][rest]).read_bytes()
            return self._send(200, data, "image/png", {"Cache-Control": "private, max-age=86400"})
        self._send(404, b"not found\n", "text/plain")

    def _post(self) -> None:
        kind, pid, rest = self._route()
        if kind != "api" or pid is None or rest != "answer":
            return self._send(404, b"unknown or expired link\n", "text/plain")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return self._json(411, {"error": "Content-Length required"})
        if int(length) > MAX_BODY:
            return self._json(413, {"error": "request too large"})
        raw = self.rfile.read(int(length))
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            return self._json(415, {"error": "send application/json"})
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._json(400, {"error": "malformed JSON"})
        code, reply = self.app.answer(pid, body)
        self._json(code, reply)


def make_server(
    study_dir: str | Path, host: str = "127.0.0.1", port: int = 8000
) -> ThreadingHTTPServer:
    study = Study.load(study_dir, need_tokens=True)
    handler = type("StudyHandler", (Handler,), {"app": StudyApp(study)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def links(server: ThreadingHTTPServer, public_host: str | None = None) -> dict[str, str]:
    """{participant: link} for a running server."""
    host, port = server.server_address[:2]
    shown = public_host or ("127.0.0.1" if host in ("0.0.0.0", "") else host)
    app: StudyApp = server.RequestHandlerClass.app  # type: ignore[attr-defined]
    return {p: f"http://{shown}:{port}/p/{t}" for p, t in app.study.tokens.items()}
