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

Every request must name this server in its Host header (the bound address or a localhost name:
no DNS rebinding), and every POST must carry a JSON body (Content-Type application/json, which a
cross-site form cannot send without a CORS preflight this server never grants) and, when the
browser sends an Origin, come from this page's own origin. Bad requests get a 400 with
{"error": ...}; the answer is always valid JSON (non-finite numbers become null).
"""
import ipaddress
import json
import math
import os
import select
import socket
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from .export import script
from .registry import Busy, Playground
from .session import Config, ConfigError

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_BODY = 64 * 1024
MAX_THREADS = 64  # request threads at once; more connections wait in the listen backlog
SOCKET_TIMEOUT = 30.0
HEARTBEAT = 5.0  # seconds between an idle event stream's keepalive comments
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
TEXT_TYPES = {"html": "text/html; charset=utf-8", "text": "text/plain; charset=utf-8",
              "markdown": "text/plain; charset=utf-8"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


class BadRequest(ConfigError):
    """A malformed request (headers or body): answered 400, the connection then closed."""


class Handler(BaseHTTPRequestHandler):
    server_version = "glassnet-playground"
    playground = None  # set by make_server
    timeout = SOCKET_TIMEOUT  # a client that stops sending mid-request frees its thread

    def log_message(self, *args):  # quiet by default
        pass

    # -- helpers -----------------------------------------------------------------------
    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (_json(body) if content_type == "application/json"
                                                      else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, message):
        self._send(status, {"error": message})

    def _check_host(self):
        """Raise BadRequest unless the Host header names this server (DNS rebinding)."""
        host = (self.headers.get("Host") or "").strip().lower()
        name, port = _split_host(host)
        bound_host, bound_port = self.server.server_address[:2]
        if port is not None and port != bound_port:
            raise BadRequest(f"Host {host!r} is not this server (port {bound_port})")
        if name in LOCAL_NAMES or name == str(bound_host).lower():
            return
        if _is_wildcard(bound_host) and _is_ip(name):  # bound to every address: any of ours by number
            return
        raise BadRequest(f"Host {host!r} is not this server; open it as http://localhost:{bound_port}/")

    def _check_post(self):
        """Raise BadRequest for a cross-site or non-JSON POST (the page always sends JSON)."""
        origin = self.headers.get("Origin")
        if origin is not None:
            name, port = _split_host(urlparse(origin).netloc.lower())
            own_name, own_port = _split_host((self.headers.get("Host") or "").strip().lower())
            if origin == "null" or name != own_name or port != own_port:
                raise BadRequest(f"cross-site request refused (Origin {origin!r})")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise BadRequest(f"the body must be JSON with Content-Type application/json; received {ctype!r}")

    def _body(self):
        if self.headers.get("Transfer-Encoding"):
            raise BadRequest("chunked bodies are not accepted; send Content-Length")
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isdigit():
            raise BadRequest(f"Content-Length must be a non-negative integer; received {text!r}")
        length = int(text)
        if length > MAX_BODY:
            raise BadRequest(f"request body too large ({length} bytes; at most {MAX_BODY})")
        raw = self.rfile.read(length) if length else b"{}"
        if len(raw) < length:
            raise BadRequest(f"the body ended after {len(raw)} of {length} bytes")
        try:
            return json.loads(raw or b"{}")
        except RecursionError:
            raise BadRequest("the body nests too deeply") from None
        except ValueError as err:  # JSONDecodeError, or an integer of thousands of digits
            raise BadRequest(f"the body is not valid JSON: {getattr(err, 'msg', err)}") from None

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
            self._check_host()
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
        except BadRequest as err:
            self.close_connection = True
            return self._error(400, str(err))
        except (ConfigError, ValueError) as err:
            return self._error(400, str(err))

    def do_POST(self):  # noqa: N802
        parts = [p for p in urlparse(self.path).path.split("/") if p]
        try:
            self._check_host()
            self._check_post()
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
        except BadRequest as err:
            self.close_connection = True  # its body may be unread: the next request would start inside it
            return self._error(400, str(err))
        except ConfigError as err:
            return self._error(400, str(err))
        except Busy as err:
            return self._error(503, str(err))

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
        sent, started, beat = -1, time.monotonic(), time.monotonic()
        try:
            while time.monotonic() - started < max_seconds and not self._client_gone():
                session.last_used = time.monotonic()  # an open page keeps its session alive
                if session.version != sent:
                    sent, beat = session.version, time.monotonic()
                    self.wfile.write(f"data: {_json(session.snapshot())}\n\n".encode())
                    self.wfile.flush()
                elif time.monotonic() - beat > HEARTBEAT:  # a comment: finds a vanished client
                    beat = time.monotonic()
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                time.sleep(0.15)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        self.close_connection = True

    def _client_gone(self):
        """True once the client has closed its side of the connection (it sends nothing on a stream)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True


def _json(value):
    """``value`` as JSON a browser can parse: NaN and infinities become null."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _split_host(host):
    """("name", port or None) of a Host header value such as "localhost:8765" or "[::1]:80"."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = host.partition(":") if host.count(":") <= 1 else (host, "", "")
    return name, (int(port) if port.isdigit() else None)


def _is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def _is_wildcard(host):
    return str(host) in ("", "0.0.0.0", "::")


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer with a longer listen backlog and at most MAX_THREADS request threads."""

    request_queue_size = 128
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        self.slots = threading.BoundedSemaphore(MAX_THREADS)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        self.slots.acquire()  # the accept loop waits here; new connections queue in the backlog
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        """A client that went away mid-answer (a closed tab, a reload, a timeout) is no error of
        the server's: nothing is printed for it. Anything else prints its traceback as before."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


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
    server = Server((host, port), handler)
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
