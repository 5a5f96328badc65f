"""The playground's HTTP server: the standard library's ThreadingHTTPServer with
Server-Sent Events. Every request runs in its own thread, so an open event
stream never blocks other requests; training runs in one background thread
that gives each running session a short time slice in turn.

API (JSON unless said):
  POST /api/sessions                    body: configuration -> {"id", "state"}
  GET  /api/sessions/ID                 the state (loss, epoch, heat maps, data)
  POST /api/sessions/ID/config          body: configuration; 400 and no change if invalid
  POST /api/sessions/ID/start|pause|step|reset
  GET  /api/sessions/ID/events          text/event-stream of states while it changes
  GET  /api/sessions/ID/neuron?layer=L&index=I
  GET  /api/sessions/ID/explain?x1=..&x2=..&format=html|text|markdown&lang=en|zh
  GET  /api/sessions/ID/export?format=model|python   a glassnet model file, or a script that rebuilds it
  POST /api/sessions/ID/predict         body: {"pixels": 64 numbers in [0, 1]} (digits mode)
  POST /api/sessions/ID/explain_digit   body: {"pixels", "format", "lang"}: explain a drawing (digits mode)
  GET  /  and  /static/NAME             the page, from the package's own files only
"""
import json
import os
import threading
import time
import uuid
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from .export import script
from .session import Config, ConfigError, Session

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_SESSIONS = 32
MAX_BODY = 64 * 1024
TEXT_TYPES = {"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8",
              "markdown": "text/plain; charset=utf-8"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


class Playground:
    """The sessions and the trainer thread."""

    def __init__(self):
        self.sessions = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.trainer = threading.Thread(target=self._train_loop, name="glassnet-trainer", daemon=True)
        self.trainer.start()

    def create(self, config):
        session = Session(config)
        with self.lock:
            if len(self.sessions) >= MAX_SESSIONS:  # drop the least recently used
                oldest = min(self.sessions, key=lambda k: self.sessions[k].last_used)
                del self.sessions[oldest]
            sid = uuid.uuid4().hex[:12]
            self.sessions[sid] = session
        return sid, session

    def get(self, sid):
        with self.lock:
            session = self.sessions.get(sid)
        if session is not None:
            session.last_used = time.monotonic()
        return session

    def _train_loop(self):
        while not self.stop.is_set():
            with self.lock:
                running = [s for s in self.sessions.values() if s.running]
            for session in running:
                session.tick()
            time.sleep(0.04)  # about 50 epochs a second: fast to learn, slow enough to watch


class Handler(BaseHTTPRequestHandler):
    server_version = "glassnet-playground"
    playground = None  # set by make_server

    def log_message(self, *args):  # quiet by default
        pass

    # -- helpers -----------------------------------------------------------------------
    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) if content_type == "application/json"
                                                      else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, message):
        self._send(status, {"error": message})

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ConfigError(f"request body too large ({length} bytes; at most {MAX_BODY})")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError as err:
            raise ConfigError(f"the body is not valid JSON: {err.msg}") from None

    def _session(self, sid):
        session = self.playground.get(sid)
        if session is None:
            self._error(404, f"no session {sid!r}")
        return session

    # -- routes ------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802 - the standard library's name
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            if not parts:
                return self._static("index.html")
            if parts[0] == "static" and len(parts) == 2:
                return self._static(parts[1])
            if parts[:2] == ["api", "sessions"] and len(parts) >= 3:
                session = self._session(parts[2])
                if session is None:
                    return None
                action = parts[3] if len(parts) > 3 else None
                if action is None:
                    return self._send(200, session.snapshot())
                if action == "events":
                    return self._events(session)
                if action == "neuron":
                    return self._send(200, session.neuron(int(_int(query, "layer")), int(_int(query, "index"))))
                if action == "explain":
                    fmt = _format(query.get("format", "html"))
                    text = session.explain([_float(query, "x1"), _float(query, "x2")], fmt, query.get("lang", "en"))
                    return self._send(200, text, TEXT_TYPES[fmt])
                if action == "export":
                    return self._export(session, query.get("format", "model"))
            return self._error(404, f"no such resource: {url.path}")
        except (ConfigError, ValueError) as err:
            return self._error(400, str(err))

    def do_POST(self):  # noqa: N802
        parts = [p for p in urlparse(self.path).path.split("/") if p]
        try:
            if parts == ["api", "sessions"]:
                sid, session = self.playground.create(Config.parse(self._body()))
                return self._send(200, {"id": sid, "state": session.snapshot()})
            if parts[:2] == ["api", "sessions"] and len(parts) == 4:
                # NOTE: the body is read before any answer: closing a socket with unread bytes
                # sends a reset, and the client may lose the answer.
                body = self._body()
                session = self._session(parts[2])
                if session is None:
                    return None
                action = parts[3]
                if action == "config":
                    session.reconfigure(Config.parse(body))
                elif action == "start":
                    session.running = True
                elif action == "pause":
                    with session.lock:
                        session.running = False
                        session.version += 1
                elif action == "step":
                    session.step(1)
                elif action == "reset":
                    session.reset()
                elif action in ("predict", "explain_digit"):
                    body = body if isinstance(body, dict) else {}
                    if action == "predict":
                        return self._send(200, session.predict_digit(body.get("pixels")))
                    fmt = _format(body.get("format", "html"))
                    return self._send(200, session.explain_digit(body.get("pixels"), fmt, body.get("lang", "en")),
                                      TEXT_TYPES[fmt])
                else:
                    return self._error(404, f"unknown action {action!r}")
                return self._send(200, session.snapshot())
            return self._error(404, f"no such resource: {self.path}")
        except ConfigError as err:
            return self._error(400, str(err))

    def _export(self, session, fmt):
        if fmt not in ("model", "python"):
            raise ConfigError(f"format must be model or python; received {fmt!r}")
        if fmt == "model":
            data, ctype, name = session.export_model(), "application/octet-stream", "playground.gnet"
        else:
            data, ctype, name = script(session.config, session.epoch).encode(), "text/x-python", "playground.py"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.end_headers()
        self.wfile.write(data)

    def _static(self, name):
        # NOTE: only names listed in the package's static folder are served: no path from the
        # request ever reaches the file system, so "..", "%2e%2e" or absolute paths cannot escape.
        if name not in set(os.listdir(STATIC)):
            return self._error(404, f"no such file: {name}")
        with open(os.path.join(STATIC, name), "rb") as f:
            data = f.read()
        return self._send(200, data, CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream"))

    def _events(self, session, max_seconds=600):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        sent, started = -1, time.monotonic()
        try:
            while time.monotonic() - started < max_seconds:
                if session.version != sent:
                    sent = session.version
                    self.wfile.write(f"data: {json.dumps(session.snapshot())}\n\n".encode())
                    self.wfile.flush()
                time.sleep(0.15)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _format(fmt):
    if fmt not in TEXT_TYPES:
        raise ConfigError(f"format must be html, text or markdown; received {fmt!r}")
    return fmt


def _int(query, name):
    if name not in query:
        raise ConfigError(f"missing query parameter {name}")
    try:
        return int(query[name])
    except ValueError:
        raise ConfigError(f"{name} must be an integer; received {query[name]!r}") from None


def _float(query, name):
    if name not in query:
        raise ConfigError(f"missing query parameter {name}")
    try:
        value = float(query[name])
    except ValueError:
        raise ConfigError(f"{name} must be a number; received {query[name]!r}") from None
    if not -10 <= value <= 10:
        raise ConfigError(f"{name} must be in [-10, 10]; received {value}")
    return value


def make_server(host="127.0.0.1", port=8765):
    """A server bound to ``host:port`` (port 0: any free port); call ``serve_forever()``."""
    playground = Playground()
    handler = type("BoundHandler", (Handler,), {"playground": playground})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.playground = playground
    return server


def serve(host="127.0.0.1", port=8765, open_browser=False):
    server = make_server(host, port)
    address = f"http://{host}:{server.server_address[1]}/"
    print(f"glassnet playground at {address} (Ctrl+C to stop)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: bound to {host}: other machines on the network can reach this page", flush=True)
    if open_browser:
        webbrowser.open(address)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.playground.stop.set()
        server.server_close()
