#!/usr/bin/python3
"""The report in a real browser: Debian's headless chromium, driven over the DevTools protocol.

usage: browser_report.py [--report FILE.html --runs N] [--screenshot FILE.png]

Without --report, writes the report of the committed fixture sweep (plots/test/data/sweep, 3
runs) side by side with itself into a temporary folder and opens that. Checks, and exits 1 on
the first that fails: the page loads from its file:// URL with no console error, no uncaught
exception and no request for anything but the page itself and data: URIs (the network is
switched off too); every runs table has one row per run (and N rows in all); a click on a
column's header sorts the rows by it, a second click reverses them; the filter hides rows.
A screenshot of the page is written (--screenshot, else beside --report, else
report-browser.png in the current folder).

The protocol runs over a pipe (--remote-debugging-pipe: fds 3 and 4, JSON messages ended by
NUL), so the test needs no port, no websocket library and nothing from npm. Without chromium it
prints "SKIPPED: chromium is missing" and exits 0 (ctest reports it skipped).
"""

import argparse
import base64
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.path.dirname(HERE)
FIXTURE = os.path.join(HERE, "data", "sweep")
# Per answer of the browser: a guard against a hung chromium on a loaded machine, not a timing
# (the examples' 13 MB page took 30 s to load at load average 17 on 2 cores).
TIMEOUT_SECONDS = 120

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-background-networking", "--disable-sync",
    "--remote-debugging-pipe", "--window-size=1400,1000",
)


class Browser:
    """One chromium process and one page of it, spoken to over the DevTools pipe."""

    def __init__(self, chromium, profile):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child must see the pipe ends as fds 3 and 4: copied out of the way first (either
        # may be 3 or 4 already), then onto them; pass_fds keeps 3 and 4 from close_fds.
        def place_fds():
            read_end, write_end = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)
        self.process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=place_fds, pass_fds=(3, 4),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method):
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))

    def _read(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable")
        self.send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def page_errors(events, page_url):
    """Console errors, uncaught exceptions and requests for anything but the page and data:."""
    out = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if url != page_url and not url.startswith("data:"):
                out.append(f"request for {url}")
    return out


# Sorts table `t` by its column `c` with a click on the header and returns that column's cells.
SORTED_COLUMN = """(function (t, c) {
  const table = document.getElementById(t);
  const ths = Array.from(table.tHead.rows[0].cells);
  const i = ths.findIndex(th => th.dataset.column === c);
  ths[i].click();
  return Array.from(table.tBodies[0].rows, r => r.cells[i].dataset.v);
})"""


def check_sorting(browser, table, column):
    ascending = browser.evaluate(f"{SORTED_COLUMN}({json.dumps(table)}, {json.dumps(column)})")
    descending = browser.evaluate(f"{SORTED_COLUMN}({json.dumps(table)}, {json.dumps(column)})")
    def numbers(cells):
        return [float(v) for v in cells if v != ""]
    if numbers(ascending) != sorted(numbers(ascending)) or len(set(ascending)) < 2:
        return [f"{table}: one click on {column} gave {ascending}, not an ascending order"]
    if numbers(descending) != sorted(numbers(ascending), reverse=True):
        return [f"{table}: a second click on {column} gave {descending}, not the reverse"]
    if ascending[-1] == "" and descending[-1] != "":
        return [f"{table}: empty cells of {column} not last after the second click"]
    return []


def check_filter(browser, table):
    shown = browser.evaluate(f"""(function () {{
      const input = document.querySelector('input[data-table="{table}"]');
      input.value = 'status=crashed';
      input.dispatchEvent(new Event('input'));
      const rows = document.getElementById('{table}').tBodies[0].rows;
      const n = Array.from(rows).filter(r => !r.hidden).length;
      input.value = '';
      input.dispatchEvent(new Event('input'));
      return [n, Array.from(rows).filter(r => !r.hidden).length];
    }})()""")
    return [] if shown[0] < shown[1] else [f"{table}: the filter status=crashed kept {shown}"]


def index_runs(folder):
    with open(os.path.join(folder, "index.csv"), newline="", encoding="utf-8") as f:
        return len(list(csv.DictReader(f)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="an existing report (default: the fixture's)")
    parser.add_argument("--runs", type=int, help="the number of runs the report must list")
    parser.add_argument("--screenshot", help="where the screenshot goes")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("SKIPPED: chromium is missing (`make browser-deps` installs Debian's chromium)")
        return 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="psgd-report-") as tmp:
        report, runs = args.report, args.runs
        if report is None:
            report = os.path.join(tmp, "report.html")
            subprocess.run([sys.executable, os.path.join(PLOTS, "report.py"), FIXTURE, FIXTURE,
                            "--out", report], check=True, stdout=subprocess.DEVNULL)
            runs = 2 * index_runs(FIXTURE)
        url = "file://" + os.path.abspath(report)
        browser = Browser(chromium, os.path.join(tmp, "profile"))
        try:
            browser.open_page()
            browser.send("Page.navigate", {"url": url})
            browser.wait_for("Page.loadEventFired")
            tables = browser.evaluate("""Array.from(document.querySelectorAll('table.runs'),
                t => [t.id, Number(t.dataset.runs), t.tBodies[0].rows.length])""")
            errors = [f"{t}: {n} rows for {expected} runs" for t, expected, n in tables
                      if n != expected]
            if runs is not None and sum(t[2] for t in tables) != runs:
                errors.append(f"{sum(t[2] for t in tables)} rows in all, {runs} runs expected")
            if not tables:
                errors.append("no runs table in the page")
            for table_id, _, rows in tables:
                if rows >= 2:
                    errors += check_sorting(browser, table_id, "final_train_loss")
                    errors += check_filter(browser, table_id)
            shot = browser.send("Page.captureScreenshot", {"format": "png"})
            screenshot = args.screenshot or (os.path.splitext(report)[0] + ".png" if args.report
                                             else "report-browser.png")
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            errors = page_errors(browser.events, url) + errors
        finally:
            browser.close()
    for error in errors:
        print(f"browser_report: {error}")
    print(f"browser_report: {url}: {len(tables)} table(s), {sum(t[2] for t in tables)} rows, "
          f"screenshot {screenshot}, {time.monotonic() - started:.1f} s: "
          f"{'FAILED' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
