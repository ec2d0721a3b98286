#!/usr/bin/env python3
"""tests/webhook.py - a loopback webhook receiver for the events --sink tests (issue 7).

    webhook.py DIR [--fail N]

Listens on 127.0.0.1 on a kernel-picked port and writes it to DIR/port once it accepts. Each
POST's body must be a JSON array; every acknowledged element is appended to DIR/events.jsonl
as one compact line, and each request (acknowledged or not) adds a line "STATUS COUNT" to
DIR/requests. The first N POSTs (--fail N) are answered 500 without recording anything, as is
every POST while the file DIR/fail exists, so a test can make the receiver fail and recover.
"""
import argparse
import http.server
import json
import os
import sys
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--fail", type=int, default=0)
    args = ap.parse_args()
    state = {"fail": args.fail}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                try:
                    events = json.loads(body)
                    ok = isinstance(events, list)
                except ValueError:
                    ok = False
                if not ok:
                    status, events = 400, []
                elif state["fail"] > 0 or os.path.exists(os.path.join(args.dir, "fail")):
                    state["fail"] = max(0, state["fail"] - 1)
                    status = 500
                else:
                    status = 200
                    with open(os.path.join(args.dir, "events.jsonl"), "a") as f:
                        for ev in events:
                            f.write(json.dumps(ev, separators=(",", ":")) + "\n")
                with open(os.path.join(args.dir, "requests"), "a") as f:
                    f.write("%d %d\n" % (status, len(events)))
            self.answer(status)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = os.path.join(args.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, os.path.join(args.dir, "port"))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
