#!/usr/bin/env python3
"""Measures what floods leave behind on the release build: stored sessions after
cookieless requests (language links, restarts, state reads, refused starts from one
IP), and connections held by silent sockets. Prints the numbers; asserts nothing.

    python3 scripts/flood.py [requests] [sockets]

Starts ./target/release/phone-verify on 127.0.0.1:3290 with a fresh DATA_DIR
(build it first: cargo leptos build --release).
"""
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
SOCKETS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ADDR = ("127.0.0.1", 3290)
BASE = f"http://{ADDR[0]}:{ADDR[1]}"
HEADER_TIMEOUT = 10


def start(data_dir):
    env = dict(os.environ)
    env.update(
        LEPTOS_SITE_ADDR=f"{ADDR[0]}:{ADDR[1]}",
        LEPTOS_SITE_ROOT="target/site",
        DATA_DIR=data_dir,
        HEADER_READ_TIMEOUT_SECS=str(HEADER_TIMEOUT),
        RUST_LOG="error",
    )
    app = subprocess.Popen(["./target/release/phone-verify"], env=env)
    for _ in range(200):
        try:
            urllib.request.urlopen(BASE + "/", timeout=1)
            return app
        except OSError:
            time.sleep(0.05)
    app.kill()
    sys.exit("the app did not start")


def post(path, body):
    request = urllib.request.Request(
        BASE + path,
        data=body.encode(),
        headers={
            "Sec-Fetch-Site": "same-origin",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    try:
        return urllib.request.urlopen(request, timeout=5).status
    except urllib.error.HTTPError as error:
        return error.code


def stored_sessions(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "phone-verify.sqlite3"))
    now = int(time.time() * 1000)
    (count,) = db.execute(
        "SELECT count(*) FROM kv WHERE key LIKE 'session:%' AND expires_at > ?", (now,)
    ).fetchone()
    return count


def main():
    data_dir = tempfile.mkdtemp(prefix="pv-flood-")
    app = start(data_dir)
    try:
        statuses = {}
        for i in range(REQUESTS):
            kind = i % 4
            if kind == 0:
                status = urllib.request.urlopen(BASE + "/?lang=de", timeout=5).status
            elif kind == 1:
                status = post("/api/verify/restart", "")
            elif kind == 2:
                status = post("/api/verify/state", "")
            else:
                status = post("/api/verify/start", "phone=12")
            statuses[status] = statuses.get(status, 0) + 1
        print(f"cookieless flood: {REQUESTS} requests (answers {statuses}) -> "
              f"{stored_sessions(data_dir)} stored sessions")

        held = []
        opening = time.monotonic()
        for _ in range(SOCKETS):
            held.append(socket.create_connection(ADDR))
        opened = time.monotonic() - opening
        print(f"silent sockets: {SOCKETS} opened in {opened:.2f} s, "
              f"{count_open(held)} open at once, ", end="", flush=True)
        time.sleep(HEADER_TIMEOUT + 1)
        print(f"{count_open(held)} open after the {HEADER_TIMEOUT} s header timeout + 1 s")
        for s in held:
            s.close()
    finally:
        app.terminate()
        app.wait()


def count_open(sockets):
    still = 0
    for s in sockets:
        s.setblocking(False)
        try:
            data = s.recv(1)
            still += 0 if data == b"" else 1
        except BlockingIOError:
            still += 1
        except OSError:
            pass
    return still


if __name__ == "__main__":
    main()
