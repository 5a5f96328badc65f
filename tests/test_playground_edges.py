"""The playground server under malformed and hostile requests: each gets a clear 4xx, never a
traceback, a hang or a dropped connection. Outcomes are tallied (the tallies fixture) and the
last test prints ``playground server: tried N / clear error N / ...``."""
import json
import socket
import threading
import time

import pytest

from glassnet.playground import registry
from glassnet.playground import server as server_module
from glassnet.playground.server import make_server


@pytest.fixture(scope="module")
def address():
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.playground.stop.set()
    server.shutdown()
    server.server_close()


def raw(address, head, body=b"", seconds=10):
    """(status or None, body text, hung) of one raw HTTP request."""
    with socket.create_connection(address, timeout=seconds) as conn:
        conn.sendall(head.encode() + body)
        data = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head_part, _, rest = data.partition(b"\r\n\r\n")
                    length = [int(line.split(b":")[1]) for line in head_part.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length and len(rest) >= length[0]:
                        break
        except socket.timeout:
            return None, "", True
    if not data:
        return None, "", False
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2].decode(errors="replace"), False


def post(address, path, body, headers=""):
    port = address[1]
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n")
    return raw(address, head, body)


def session_id(address):
    status, text, _ = post(address, "/api/sessions", {"dataset": "xor", "hidden": [2]})
    assert status == 200, text
    return json.loads(text)["id"]


def bad_requests(address):
    port = address[1]
    host = f"Host: 127.0.0.1:{port}\r\n"
    sid = session_id(address)
    deep = b"[" * 30000 + b"]" * 30000
    return {
        "Host: evil.example (DNS rebinding)": (f"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
                                              b"", 400, "not this server"),
        "Host on another port": (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: close\r\n\r\n", b"", 400,
                                 "not this server"),
        "cross-site text/plain POST": (f"POST /api/sessions/{sid}/start HTTP/1.1\r\n{host}Origin: http://evil.example"
                                       f"\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
                                       b"{}", 400, "cross-site"),
        "cross-site JSON POST": (f"POST /api/sessions HTTP/1.1\r\n{host}Origin: http://evil.example\r\n"
                                 f"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
                                 b"{}", 400, "cross-site"),
        "text/plain POST without Origin": (f"POST /api/sessions/{sid}/start HTTP/1.1\r\n{host}Content-Type: text/plain"
                                           f"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n", b"{}", 400,
                                           "application/json"),
        "30,000-deep JSON body": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                                  f"Content-Length: {len(deep)}\r\nConnection: close\r\n\r\n", deep, 400, "deep"),
        "5,000-digit integer": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                                f"Content-Length: {5000 + 10}\r\nConnection: close\r\n\r\n",
                                b'{"seed": ' + b"9" * 5000 + b"}", 400, "not valid JSON"),
        "Content-Length: abc": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                                f"Content-Length: abc\r\nConnection: close\r\n\r\n", b"{}", 400, "Content-Length"),
        "Content-Length: -1": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                               f"Content-Length: -1\r\nConnection: close\r\n\r\n", b"{}", 400, "Content-Length"),
        "Content-Length too large": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                                     f"Content-Length: 99999999\r\nConnection: close\r\n\r\n", b"{}", 400, "too large"),
        "chunked body": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                         f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", b"2\r\n{}\r\n0\r\n\r\n", 400,
                         "chunked"),
        "body shorter than Content-Length": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                                             f"Content-Length: 50\r\n\r\n", b"{}", None, None),
        "learning_rate: true": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                                f"Content-Length: 24\r\nConnection: close\r\n\r\n", b'{"learning_rate": true} ',
                                400, "learning_rate"),
        "not JSON": (f"POST /api/sessions HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
                     f"Content-Length: 5\r\nConnection: close\r\n\r\n", b"hello", 400, "not valid JSON"),
        "neuron?layer=x": (f"GET /api/sessions/{sid}/neuron?layer=x&index=0 HTTP/1.1\r\n{host}Connection: close\r\n\r\n",
                           b"", 400, "layer"),
        "explain?x1=nan": (f"GET /api/sessions/{sid}/explain?x1=nan&x2=0 HTTP/1.1\r\n{host}Connection: close\r\n\r\n",
                           b"", 400, "x1"),
        "unknown session": (f"GET /api/sessions/nope HTTP/1.1\r\n{host}Connection: close\r\n\r\n", b"", 404, "nope"),
    }


def test_malformed_requests_get_clear_answers(address, tallies, monkeypatch):
    tally = tallies["playground server"]
    monkeypatch.setattr(server_module.Handler, "timeout", 2)  # the short body: its socket timeout ends it
    for case, (head, body, status, fragment) in bad_requests(address).items():
        started = time.monotonic()
        got, text, hung = raw(address, head, body, seconds=8)
        if hung:
            tally.record(case, "hang")
        elif status is None:  # no answer is due; the thread must end in time
            tally.record(case, "clear error" if time.monotonic() - started < 8 else "hang")
        elif got is None:
            tally.record(case, "crash", "connection dropped")
        elif got == 200:
            tally.record(case, "silent", text[:200])
        elif got != status or fragment not in json.loads(text).get("error", ""):
            tally.record(case, "obscure error", f"{got} {text[:200]}")
        else:
            tally.record(case, "clear error")
    assert not tally.failures(), tally.failures()


def test_nan_state_is_valid_json(address):
    sid = session_id(address)
    port = address[1]
    status, text, _ = raw(address, f"GET /api/sessions/{sid} HTTP/1.1\r\nHost: localhost:{port}\r\n"
                                   "Connection: close\r\n\r\n")
    assert status == 200
    assert server_module._json({"loss": float("nan"), "x": [float("inf"), 1.0]}) == '{"loss": null, "x": [null, 1.0]}'
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in the state"))


def test_blind_creates_do_not_evict_a_live_session(address, monkeypatch):
    monkeypatch.setattr(registry, "MAX_SESSIONS", 3)
    sid = session_id(address)
    answers = [post(address, "/api/sessions", {})[0] for _ in range(40)]
    assert 503 in answers
    status, _, _ = raw(address, f"GET /api/sessions/{sid} HTTP/1.1\r\nHost: 127.0.0.1:{address[1]}\r\n"
                                "Connection: close\r\n\r\n")
    assert status == 200


def test_tally(capsys, tallies):
    """Last in the module: print the tally; every malformed request got a clear answer."""
    tally = tallies["playground server"]
    with capsys.disabled():
        print("\n" + tally.line())
    assert len(tally.cases) >= 17 and not tally.failures()


@pytest.mark.parametrize("gone", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"),
                                  TimeoutError("timed out")])
def test_a_client_that_went_away_prints_nothing(gone, capsys):
    """socketserver prints a traceback for every error in a request's thread; a client that closed its
    connection before the answer was written (BrokenPipeError in the test suite's output) is not one."""
    server = make_server("127.0.0.1", 0)
    try:
        for error in (gone, ValueError("a real bug")):
            try:
                raise error
            except Exception:  # noqa: BLE001 - what socketserver's request thread catches
                server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    printed = capsys.readouterr().err
    assert type(gone).__name__ not in printed
    assert "ValueError: a real bug" in printed  # other errors still print their traceback
