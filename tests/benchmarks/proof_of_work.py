"""How long a new voter's proof of work takes in a browser, desktop and phone-like.

    python -m tests.benchmarks.proof_of_work                 # ARENA_POW_MAX_NUMBER's default
    python -m tests.benchmarks.proof_of_work --max-number 100000

Runs the solving loop of static/js/arena.js (crypto.subtle SHA-256, batches of 1,000)
in Chromium over every number up to --max-number (the worst case; a real challenge's
answer is uniform, so it takes half on average), without throttling and with
Chrome's CPU throttling at 4x and 6x, the usual emulation of a mid-range and a slow
phone. The page comes from a loopback HTTP server (crypto.subtle needs a secure
context, and http://127.0.0.1 is one). Python's hashlib, which a bot would use, is
timed for comparison.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import re
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


def solving_loop() -> str:
    """arena.js's solve(), cut out of the file, as an async function of a challenge."""
    script = (REPO / "static" / "js" / "arena.js").read_text()
    body = re.search(r"async function solve\(challenge\) \{.*?\n  \}\n", script, re.S).group(0)
    return f"async (challenge) => {{ {body}\n try {{ await solve(challenge); }} catch (e) {{}} }}"


def full_scan_ms(page, max_number: int) -> float:
    # A challenge no number solves: the loop visits every number, then gives up.
    challenge = {"challenge": "00" * 32, "salt": "a1b2c3d4e5f6a1b2c3d4e5f6?expires=1&v=x&"}
    challenge["maxNumber"] = max_number
    started = page.evaluate("performance.now()")
    page.evaluate(solving_loop(), challenge)
    return page.evaluate("performance.now()") - started


def python_full_scan_ms(max_number: int) -> float:
    salt = "a1b2c3d4e5f6a1b2c3d4e5f6?expires=1&v=x&"
    started = time.perf_counter()
    for n in range(max_number + 1):
        hashlib.sha256(f"{salt}{n}".encode()).hexdigest()
    return (time.perf_counter() - started) * 1000


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-number", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="pairwise-pow-")
    Path(root, "index.html").write_text("<!doctype html><title>pow</title>")
    handler = functools.partial(QuietHandler, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            cdp = page.context.new_cdp_session(page)
            for rate in (1, 4, 6):
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
                runs = sorted(full_scan_ms(page, args.max_number) for _ in range(args.runs))
                print(
                    f"chromium, cpu x{rate}:  all {args.max_number:,} hashes in "
                    f"{runs[0]:.0f}-{runs[-1]:.0f} ms; a challenge takes half on average"
                )
            browser.close()
        print(
            f"python hashlib:     all {args.max_number:,} in "
            f"{python_full_scan_ms(args.max_number):.0f} ms (what a bot pays)"
        )
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
