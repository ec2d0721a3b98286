#!/usr/bin/env python3
"""tests/fakereg.py - a small misbehaving registry (OCI distribution API v2 subset) for the
registry client's unit tests. Python 3 standard library only, loopback only, exits by itself
after --lifetime seconds. Prints the port it listens on as stdout's first line.

Content:
  --blob FILE                 served at /v2/<any repo>/blobs/sha256:<digest of FILE>
  --manifest REF=FILE[:TYPE]  served at /v2/<any repo>/manifests/REF and .../manifests/<digest>
                              with Content-Type TYPE (default the OCI manifest type); by
                              digest, the first --manifest of that content wins
TLS:
  --tls CERT:KEY              the main listener speaks https (the second one stays plain http)
  --tls-client-ca FILE        and requires a client certificate FILE issued
Auth:
  --auth none|basic|bearer    bearer: a token endpoint at /token on the same listener
  --user USER:PASS            the accepted credentials (basic: required; bearer: the token
                              endpoint requires them when given, else issues tokens to anyone)
  --token-expires N           expires_in in token responses (omitted when not given; the
                              server then treats tokens as valid for 60 s)
  --token-key token|access_token
  --token-life SECS           how long the server accepts a token (default: --token-expires, else
                              60 s); shorter than expires_in, a client meets a 401 mid-way
Faults (--fault [KIND/]NAME[=ARG][@TIMES], TIMES a number or "always", default once; KIND
"blobs" or "manifests" limits it to those GETs, else it applies to both, on the main listener):
  429=SECS, 503=SECS          that status with Retry-After: SECS; 503=date:SECS sends an HTTP date
  500                         a bare 500
  break=N                     send the headers and N bytes of the body, then close the connection
                              (only bodies longer than N count)
  stall=N                     send the headers and N bytes of the body, then nothing for 30 s
  norange                     ignore Range: answer 200 with the whole body
  badrange                    answer 206 with a Content-Range that starts one byte late
  redirect                    307 to the same path on a second listener reached as localhost:PORT2
  redirect-self               307 to the same path on this listener (with ?hop=1)
  redirect-loop               307 to ?loop=1, which redirects to ?loop=2, and so on forever
  corrupt                     flip the first byte of the body
  nolength                    no Content-Length: the body ends when the connection closes
  slow=MS                     send the body in 16 KiB pieces, MS milliseconds apart
Debug (never authenticated, never logged):
  GET /_debug/requests        the request log: [{listener, method, path, range, auth, status}]
  GET /_debug/auth-leaks      {"requests": N, "leaks": N}: requests the second listener got, and
                              how many carried an Authorization header
"""
import argparse
import base64
import email.utils
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SLOW_CHUNK = 16384
STALL_SECS = 30
PATH_RE = re.compile(r"^/v2/(.+)/(manifests|blobs)/([^/]+)$")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.requests = []
        self.tokens = {}  # token -> expiry (time.monotonic)
        self.n_tokens = 0
        self.other_requests = 0
        self.leaks = 0
        self.other_port = 0
        self.tls = None  # the main listener's ssl.SSLContext, or None
        self.blobs = {}
        self.manifests = {}
        self.faults = []  # [name, arg, times left (-1: always), kind or None]
        for path in args.blob:
            with open(path, "rb") as f:
                data = f.read()
            self.blobs["sha256:" + hashlib.sha256(data).hexdigest()] = data
        for spec in args.manifest:
            ref, rest = spec.split("=", 1)
            path, _, mt = rest.partition(":")
            with open(path, "rb") as f:
                data = f.read()
            entry = (data, mt or OCI_MANIFEST)
            self.manifests[ref] = entry
            self.manifests.setdefault("sha256:" + hashlib.sha256(data).hexdigest(), entry)
        for spec in args.fault:
            times = 1
            if "@" in spec:
                spec, t = spec.rsplit("@", 1)
                times = -1 if t == "always" else int(t)
            kind = None
            if "/" in spec.split("=", 1)[0]:
                kind, spec = spec.split("/", 1)
            name, _, arg = spec.partition("=")
            self.faults.append([name, arg, times, kind])

    def take(self, name, kind, applies=None):
        """The fault's argument (or "") when it applies to this request, else None. applies(arg)
        can decline a request, which then does not use the fault up."""
        with self.lock:
            for f in self.faults:
                if f[0] != name or f[2] == 0 or (f[3] is not None and f[3] != kind):
                    continue
                if applies is not None and not applies(f[1]):
                    continue
                if f[2] > 0:
                    f[2] -= 1
                return f[1]
            return None


def error_body(code, message):
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakereg/1"
    st = None  # State
    listener = "main"

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle(self):
        if self.st.tls:
            return super().handle()
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":
            # A TLS ClientHello on this plain listener: answer as Go's net/http does, so a
            # client sees TLS fail at once (and a loopback client falls back to http).
            try:
                self.connection.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                                        b"Client sent an HTTP request to an HTTPS server.\n")
            except OSError:
                pass
            return
        super().handle()

    def send_response(self, code, message=None):
        if getattr(self, "entry", None) is not None:
            self.entry["status"] = code
        super().send_response(code, message)

    def reply(self, code, body=b"", ctype="application/json", headers=None, length=True):
        self.send_response(code)
        if body or code >= 400 or code == 200:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):
        try:
            self.handle_get()
        except (ConnectionError, BrokenPipeError, socket.timeout):
            self.close_connection = True

    def handle_get(self):
        st = self.st
        url = urlsplit(self.path)
        self.entry = None
        if url.path.startswith("/_debug/"):
            return self.debug(url.path)
        auth = self.headers.get("Authorization")
        self.entry = {
            "listener": self.listener,
            "method": "GET",
            "path": self.path,
            "range": self.headers.get("Range"),
            "auth": auth.split(" ", 1)[0] if auth else None,
            "status": None,
        }
        with st.lock:
            st.requests.append(self.entry)
        if self.listener == "other":
            with st.lock:
                st.other_requests += 1
                if auth:
                    st.leaks += 1
            m = PATH_RE.match(url.path)
            if not m or m.group(2) != "blobs" or m.group(3) not in st.blobs:
                return self.reply(404, error_body("BLOB_UNKNOWN", "blob unknown to registry"))
            return self.serve(st.blobs[m.group(3)], "application/octet-stream", None)
        if url.path == "/token":
            return self.token(parse_qs(url.query))
        if not self.authorized(auth):
            return
        if url.path in ("/v2/", "/v2"):
            return self.reply(200, b"{}")
        m = PATH_RE.match(url.path)
        if not m:
            return self.reply(404, error_body("NOT_FOUND", "not found"))
        kind, ref = m.group(2), m.group(3)
        if url.query.startswith("loop="):
            loc = "%s?loop=%d" % (url.path, int(url.query[5:]) + 1)
            return self.reply(307, b"", headers={"Location": loc})
        if url.query != "hop=1" and self.fault_status(kind):
            return
        if kind == "manifests":
            if ref not in st.manifests:
                return self.reply(404, error_body("MANIFEST_UNKNOWN", "manifest unknown"))
            data, mt = st.manifests[ref]
            return self.serve(data, mt, kind)
        if ref not in st.blobs:
            return self.reply(404, error_body("BLOB_UNKNOWN", "blob unknown to registry"))
        if url.query != "hop=1":
            if st.take("redirect", kind) is not None:
                loc = "http://localhost:%d%s" % (st.other_port, url.path)
                return self.reply(307, b"", headers={"Location": loc})
            if st.take("redirect-self", kind) is not None:
                return self.reply(307, b"", headers={"Location": url.path + "?hop=1"})
            if st.take("redirect-loop", kind) is not None:
                return self.reply(307, b"", headers={"Location": url.path + "?loop=1"})
        return self.serve(st.blobs[ref], "application/octet-stream", kind)

    def fault_status(self, kind):
        st = self.st
        for code in ("429", "503"):
            arg = st.take(code, kind)
            if arg is not None:
                if arg.startswith("date:"):
                    ra = email.utils.formatdate(time.time() + int(arg[5:]), usegmt=True)
                else:
                    ra = arg
                self.reply(int(code), error_body("TOOMANYREQUESTS" if code == "429" else
                                                 "UNAVAILABLE", "slow down"),
                           headers={"Retry-After": ra} if ra else None)
                return True
        if st.take("500", kind) is not None:
            self.reply(500, error_body("INTERNAL", "internal error"))
            return True
        return False

    def authorized(self, auth):
        st = self.st
        mode = st.args.auth
        if mode == "none":
            return True
        if mode == "basic":
            want = "Basic " + base64.b64encode(st.args.user.encode()).decode()
            if auth == want:
                return True
            msg = "invalid username or password" if auth else "authentication required"
            self.reply(401, error_body("UNAUTHORIZED", msg),
                       headers={"WWW-Authenticate": 'Basic realm="fakereg"'})
            return False
        if auth and auth.startswith("Bearer "):
            with st.lock:
                exp = st.tokens.get(auth[7:])
            if exp is not None and exp > time.monotonic():
                return True
        host = self.headers.get("Host", "127.0.0.1")
        chal = 'Bearer realm="%s://%s/token",service="fakereg",scope="repository:x:pull"' % (
            "https" if st.tls else "http", host)
        self.reply(401, error_body("UNAUTHORIZED", "authentication required"),
                   headers={"WWW-Authenticate": chal})
        return False

    def token(self, q):
        st = self.st
        if st.args.user:
            want = "Basic " + base64.b64encode(st.args.user.encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.reply(401, json.dumps(
                    {"details": "incorrect username or password"}).encode())
        with st.lock:
            st.n_tokens += 1
            tok = "tok-%d-%s" % (st.n_tokens, q.get("scope", [""])[0])
            life = st.args.token_life or st.args.token_expires or 60
            st.tokens[tok] = time.monotonic() + life
        doc = {st.args.token_key: tok}
        if st.args.token_expires is not None:
            doc["expires_in"] = st.args.token_expires
        return self.reply(200, json.dumps(doc).encode())

    def serve(self, data, ctype, kind):
        """kind is "blobs" or "manifests" on the main listener (faults apply), else None."""
        faults = kind is not None
        st = self.st
        size = len(data)
        start = 0
        rng = self.headers.get("Range")
        if faults and st.take("corrupt", kind) is not None and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        nolength = faults and st.take("nolength", kind) is not None
        headers = {"Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()}
        code = 200
        if rng and not (faults and st.take("norange", kind) is not None):
            m = re.match(r"^bytes=(\d+)-(\d*)$", rng)
            if not m or int(m.group(1)) >= size:
                return self.reply(416, error_body("RANGE", "range not satisfiable"),
                                  headers={"Content-Range": "bytes */%d" % size})
            start = int(m.group(1))
            claimed = start
            if faults and st.take("badrange", kind) is not None:
                claimed = start + 1 if start + 1 < size else 0
            code = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (claimed, size - 1, size)
            data = data[claimed:]
        # A break applies to the first body long enough to be broken (a small config blob
        # before a layer does not use it up).
        brk = st.take("break", kind, lambda n: len(data) > int(n)) if faults else None
        stall = st.take("stall", kind, lambda n: len(data) > int(n)) if faults else None
        slow = st.take("slow", kind) if faults else None
        if brk is None and stall is None and slow is None:
            return self.reply(code, data, ctype=ctype, headers=headers, length=not nolength)
        body = data
        if brk is not None or stall is not None:
            body = data[:int(brk if brk is not None else stall)]
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in headers.items():
            self.send_header(k, v)
        if nolength:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if slow is None:
            self.wfile.write(body)
        else:
            for i in range(0, len(body), SLOW_CHUNK):
                self.wfile.write(body[i:i + SLOW_CHUNK])
                self.wfile.flush()
                time.sleep(int(slow) / 1000)
        self.wfile.flush()
        if stall is not None:
            time.sleep(STALL_SECS)
        if brk is not None or stall is not None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def debug(self, path):
        st = self.st
        with st.lock:
            if path == "/_debug/requests":
                doc = list(st.requests)
            elif path == "/_debug/auth-leaks":
                doc = {"requests": st.other_requests, "leaks": st.leaks}
            else:
                doc = None
        if doc is None:
            return self.reply(404, b"{}")
        return self.reply(200, json.dumps(doc).encode())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None

    def finish_request(self, request, client_address):
        if self.tls is not None:
            # The handshake runs in the connection's own thread; one that fails (a plain-HTTP
            # client, a missing client certificate) just closes the connection.
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except OSError:
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):  # a client that went away is normal
        pass


def main():
    ap = argparse.ArgumentParser(description="a misbehaving registry for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--blob", action="append", default=[])
    ap.add_argument("--manifest", action="append", default=[])
    ap.add_argument("--auth", choices=("none", "basic", "bearer"), default="none")
    ap.add_argument("--user")
    ap.add_argument("--token-expires", type=int)
    ap.add_argument("--token-key", choices=("token", "access_token"), default="token")
    ap.add_argument("--token-life", type=float)
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--tls", metavar="CERT:KEY", help="serve https on the main listener")
    ap.add_argument("--tls-client-ca", metavar="FILE",
                    help="require a client certificate issued by FILE")
    args = ap.parse_args()
    if args.auth == "basic" and not args.user:
        ap.error("--auth basic needs --user")
    st = State(args)

    main_h = type("MainHandler", (Handler,), {"st": st, "listener": "main"})
    other_h = type("OtherHandler", (Handler,), {"st": st, "listener": "other"})
    srv = Server(("127.0.0.1", args.port), main_h)
    if args.tls:
        import ssl  # only here: it costs start-up time every other test would pay

        cert, key = args.tls.split(":", 1)
        st.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        st.tls.load_cert_chain(cert, key)
        if args.tls_client_ca:
            st.tls.verify_mode = ssl.CERT_REQUIRED
            st.tls.load_verify_locations(args.tls_client_ca)
        srv.tls = st.tls
    other = Server(("127.0.0.1", 0), other_h)
    st.other_port = other.server_address[1]
    threading.Thread(target=other.serve_forever, daemon=True).start()
    # Bounded life: a test that dies never leaves a server behind for long.
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
