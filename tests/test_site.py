"""The workshop site in a real headless browser: Chromium from Debian, driven over the DevTools protocol.

The site is built from one real, cheap lab run (Lab 01, through runner.run_labs as `./workshop labs` runs it)
plus the runs the lab tests made earlier in the session, then every page reachable from index.html is opened in Chromium: it loads, every <img> has decoded (a non-zero
naturalWidth), every link resolves to a file inside the site (and its #fragment to an id there), and external
links are listed, not fetched (the browser resolves no host names). Screenshots of the main pages and of each
notebook's first figure are kept under build/artifacts/site/ for CI to publish.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from lab_runs import completed_runs
from smworkshop import runner, site
from smworkshop.paths import BUILD

pytestmark = [pytest.mark.docker, pytest.mark.notebook]
LAB = "01_bring_your_own_container"
ARTIFACTS = BUILD / "artifacts" / "site"
SCREENSHOT_PAGES = ("index.html", "course.html", "readme.html", f"{LAB}.html")


# ---- Chromium -------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium_binary():
    """Debian's chromium: installed with apt-get when missing and running as root (CI), else a clear failure."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("the site test needs Chromium: on Debian/Ubuntu run `apt-get install chromium` as root "
                    "(CI installs it itself when it runs as root)", pytrace=False)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    started = time.monotonic()
    result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not shutil.which("chromium"):
        pytest.fail(f"apt-get install chromium failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}", pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "chromium-install.txt").write_text(f"apt-get install chromium: {time.monotonic() - started:.0f} s\n")
    return shutil.which("chromium")


class Chromium:
    """Headless Chromium over the DevTools protocol (websocket-client, which Jupyter already installs)."""

    def __init__(self, binary, profile, width=1280, height=1600):
        import websocket

        self.log = open(profile / "chromium.log", "w")
        self.proc = subprocess.Popen(
            [binary, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", f"--window-size={width},{height}",
             "--host-resolver-rules=MAP * ~NOTFOUND",  # external links are listed, never fetched
             "about:blank"], stdout=self.log, stderr=subprocess.STDOUT)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(f"Chromium did not start: {(profile / 'chromium.log').read_text()[-2000:]}", pytrace=False)
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page, = [t for t in targets if t["type"] == "page"]
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id, self.events = 0, []
        self.call("Page.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message.get("method"))

    def open(self, url):
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        assert "errorText" not in result, f"{url}: {result['errorText']}"
        while "Page.loadEventFired" not in self.events:
            message = json.loads(self.ws.recv())
            self.events.append(message.get("method"))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"]["value"]

    def screenshot(self, path):
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# Waits for every image to finish (loaded or failed), then reports what the page shows.
PAGE_FACTS = """(async () => {
  await Promise.all([...document.images].map(i => i.complete ? null :
                     new Promise(done => { i.onload = i.onerror = done; })));
  return {title: document.title, text: document.body ? document.body.innerText.trim().length : 0,
          images: [...document.images].map(i => ({src: (i.getAttribute('src') || '').slice(0, 60),
                                                  width: i.naturalWidth, height: i.naturalHeight})),
          links: [...document.querySelectorAll('a[href]')].map(a => a.href),
          resources: [...document.querySelectorAll('script[src], link[href], img[src]')].map(e => e.src || e.href)
                     .filter(url => !url.startsWith('data:')),
          ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name'))};
})()"""


# ---- the site, from one real lab run, crawled once ------------------------------------------------------

@pytest.fixture(scope="module")
def lab_run(docker_engine, tmp_path_factory):
    """Lab 01 run as `./workshop labs` runs it, then the site rebuilt with every other lab this test session
    has already executed (the lab tests run first): so the browser sees every lab's notebook and figures."""
    output = tmp_path_factory.mktemp("site")
    lines = []
    rows = runner.run_labs([LAB], parameters={"LATENCY_REQUESTS": 10}, output_dir=output, say=lines.append)
    for run in completed_runs():
        if run["lab"] != LAB and run["status"] == "passed" and run.get("html"):
            html = Path(run["html"])
            for produced in (html, html.with_suffix(".ipynb")):
                shutil.copy(produced, output / produced.name)
            rows.append(run)
    site.build_site(output, rows)
    return {"root": output, "rows": rows, "lines": lines}


@pytest.fixture(scope="module")
def crawl(lab_run, chromium_binary, tmp_path_factory):
    """Open every page reachable from index.html; returns {page: facts} and the links seen."""
    root = lab_run["root"].resolve()
    if ARTIFACTS.exists():
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = Chromium(chromium_binary, tmp_path_factory.mktemp("chromium-profile"))
    pages, queue, links = {}, ["index.html"], []
    try:
        while queue:
            name = queue.pop(0)
            if name in pages:
                continue
            browser.open((root / name).as_uri())
            facts = pages[name] = browser.evaluate(PAGE_FACTS)
            if name in SCREENSHOT_PAGES or re.fullmatch(r"\d\d[a-z]?_\w+\.html", name):  # main pages, every lab
                facts["screenshot"] = str(browser.screenshot(ARTIFACTS / name.replace(".html", ".png")))
                if facts["images"]:  # the first figure, scrolled into view
                    browser.evaluate("document.images[0].scrollIntoView(); true")
                    facts["figure"] = str(browser.screenshot(ARTIFACTS / name.replace(".html", "-figure.png")))
            for href in facts["links"] + facts["resources"]:
                parts = urlsplit(href)
                links.append((name, href))
                if parts.scheme == "file":
                    target = Path(unquote(parts.path))
                    if target.suffix == ".html" and target.is_file() and target.is_relative_to(root):
                        queue.append(target.relative_to(root).as_posix())
    finally:
        browser.close()
    external = sorted({href for _, href in links if urlsplit(href).scheme in ("http", "https")})
    (ARTIFACTS / "external-links.txt").write_text("".join(f"{href}\n" for href in external))
    return {"root": root, "pages": pages, "links": links}


# ---- what the run printed and the index says -------------------------------------------------------------

def test_the_run_passed_and_printed_its_progress(lab_run):
    row = lab_run["rows"][0]  # Lab 01, run here by run_labs
    assert row["status"] == "passed", row["error"]
    lines = lab_run["lines"]
    assert lines[0] == f"[lab 1/1] {LAB}: started (local mode)"
    assert any(line.startswith(f"[lab 1/1] {LAB}: passed in ") for line in lines)
    assert any("the workshop site:" in line for line in lines)


def test_the_index_has_the_summary_table(lab_run):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((lab_run["root"] / "index.html").read_text(), "html.parser")
    row = next(tr for tr in soup.find("tbody").find_all("tr") if tr.find("a", href=f"{LAB}.html"))
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    lab, status, duration, metric, built, used, left = cells
    assert lab == LAB and soup.find("a", href=f"{LAB}.html")
    assert status == "passed" and duration.endswith("s")
    assert metric.startswith("accuracy = 0.9")
    assert "sagemaker-workshop/sklearn-byoc:latest" in used  # local mode served the lab's own image
    assert left == "nothing"
    assert soup.find("a", href="course.html") and soup.find("a", href="readme.html")
    summary = (lab_run["root"] / "summary.md").read_text()
    assert "Left behind: nothing." in summary


# ---- in the browser ----------------------------------------------------------------------------------

def test_every_page_loads(crawl):
    pages = crawl["pages"]
    for name in ("index.html", "course.html", "readme.html", f"{LAB}.html"):
        assert name in pages, f"{name} is not reachable from index.html"
    site = json.loads((crawl["root"] / "site.json").read_text())
    assert set(site["pages"]) <= set(pages), "pages the site wrote but nothing links"
    empty = [name for name, facts in pages.items() if not facts["title"] or facts["text"] < 20]
    assert empty == []


def test_every_figure_renders(crawl):
    pages = crawl["pages"]
    assert len(pages[f"{LAB}.html"]["images"]) >= 1, "the executed notebook shows no figure"
    undecoded = [(name, image["src"]) for name, facts in pages.items() for image in facts["images"]
                 if image["width"] == 0 or image["height"] == 0]
    assert undecoded == []


def test_every_lab_the_session_ran_has_its_page_with_figures(lab_run, crawl):
    labs = [row["lab"] for row in lab_run["rows"]]
    assert labs[0] == LAB and len(labs) == len(set(labs))
    without_figures = [lab for lab in labs if not crawl["pages"].get(f"{lab}.html", {}).get("images")]
    assert without_figures == []


def test_no_broken_link(crawl):
    root, pages = crawl["root"], crawl["pages"]
    problems = []
    for page, href in crawl["links"]:
        parts = urlsplit(href)
        if parts.scheme in ("http", "https", "data", "mailto"):
            continue  # external: listed in external-links.txt, not fetched
        if parts.scheme != "file":
            problems.append((page, href, "unexpected scheme"))
            continue
        target = Path(unquote(parts.path))
        if not target.is_relative_to(root):
            problems.append((page, href, "leaves the site"))
        elif not target.exists():
            problems.append((page, href, "missing"))
        elif parts.fragment and target.suffix == ".html":
            ids = pages.get(target.relative_to(root).as_posix(), {}).get("ids", [])
            if parts.fragment not in ids and unquote(parts.fragment) not in ids:  # as HTML finds a fragment
                problems.append((page, href, "no such anchor"))
    assert problems == []
    assert json.loads((root / "site.json").read_text())["broken"] == [], "links in the sources to nothing"


def test_screenshots_are_kept_and_not_blank(crawl):
    from PIL import Image

    shots = [facts[key] for facts in crawl["pages"].values() for key in ("screenshot", "figure") if key in facts]
    assert len(shots) >= len(SCREENSHOT_PAGES) + 1  # the main pages and the notebook's first figure
    for shot in shots:
        with Image.open(shot) as image:
            assert image.size[0] >= 1000
            colours = image.convert("RGB").getcolors(maxcolors=4096)
            assert colours is None or len(colours) > 32, f"{shot} looks blank ({len(colours)} colours)"
