"""The workshop site: the lab run's output folder (build/output/) as a small static site, opened from disk.

    index.html    the run's summary table; each lab links its executed notebook's HTML
    course.html   week1/README.md rendered        readme.html   README.md rendered
    <lab>.html    each executed notebook (nbconvert), its links rewritten to work inside the site
    repo/...      what those pages link to in the repository: Markdown rendered, a folder as its README or a
                  list of its files, other text files shown as source, images copied

Every link into the repository is rewritten to a page inside the folder, so the site also works as a CI
artifact away from the clone. A link to a lab's folder or notebook goes to its executed HTML when the run has
one. A link to something the repository does not have becomes plain text and is listed in site.json under
"broken" (the tests require none). External links are left as they are and listed, never fetched.

    python -m smworkshop.site [OUTPUT_DIR]    rebuild the site from OUTPUT_DIR/summary.json
"""
import html
import json
import os
import posixpath
import re
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from .paths import OUTPUT, REPO

PAGES = {"week1/README.md": "course.html", "README.md": "readme.html"}
IMAGE_SUFFIXES = {".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp"}
NOT_LISTED = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", "wheelhouse"}
MAX_SOURCE_BYTES = 200_000
SOURCE_ATTR = "data-repo-href"  # a link's original target: a rebuild rewrites from it again
NAV_ID = "workshop-site-nav"
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #222; }
nav { margin-bottom: 1em; font-size: 14px; } nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
img { max-width: 100%; height: auto; } th { background: #f0f3f6; } code, pre { background: #f6f8fa; } pre { padding: 8px; overflow-x: auto; }
.passed { color: #17692b; font-weight: bold; } .failed { color: #b3261e; font-weight: bold; }
.broken-link { color: #b3261e; text-decoration: line-through; } .small { font-size: 13px; color: #555; }
"""


def markdown_to_html(text):
    """GitHub-flavoured enough for the course pages: tables, strikethrough, bare URLs, raw HTML kept."""
    import mistune

    return mistune.create_markdown(escape=False, plugins=["table", "strikethrough", "url"])(text)


def slug(text, seen):
    """The id GitHub gives a heading (lower case, punctuation dropped, spaces to hyphens, -1, -2 on repeats)."""
    base = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
    name, n = base, 0
    while name in seen:
        n += 1
        name = f"{base}-{n}"
    seen.add(name)
    return name


def page(title, body, site_path):
    """A whole page at SITE_PATH, with the site's navigation (links relative to where the page lives)."""
    up = posixpath.relpath(".", posixpath.dirname(site_path) or ".")
    nav = "".join(f'<a href="{html.escape(posixpath.normpath(posixpath.join(up, target)))}">{label}</a>'
                  for target, label in (("index.html", "Workshop site"), ("course.html", "Course page"),
                                        ("readme.html", "README")))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<style>{STYLE}</style></head><body>\n<nav id="{NAV_ID}">{nav}</nav>\n{body}\n</body></html>\n')


class Site:
    def __init__(self, root, executed_labs):
        self.root = Path(root)
        self.executed = set(executed_labs)
        self.pending = []   # (repo path, kind, site path) still to write
        self.wanted = {}    # site path -> repo path
        self.broken = []    # {"page", "link"}: links to what the repository does not have
        self.external = set()

    # -- where a repository path lives in the site ---------------------------------------------------------
    def target(self, repo_path):
        """The site path (relative to the root) for REPO_PATH, or None when the repository has no such thing."""
        path = posixpath.normpath(repo_path)
        if path == ".." or path.startswith("../") or path.startswith("/"):
            return None
        full = REPO / path
        if not full.exists():
            return None
        parts = path.split("/")
        if parts[0] == "labs" and len(parts) >= 2 and (len(parts) == 2 or parts[2:] == [parts[1] + ".ipynb"]):
            if parts[1] in self.executed:
                return f"{parts[1]}.html"
            if len(parts) == 3:  # a lab notebook the run did not execute: its folder (README) instead
                return self.target(posixpath.dirname(path))
        if full.is_dir():
            if (full / "README.md").is_file():
                return self.target(posixpath.join(path, "README.md"))
            return self._want(path, "listing", "repo/index.html" if path == "." else f"repo/{path}/index.html")
        if path in PAGES:
            return self._want(path, "markdown", PAGES[path])
        if full.suffix == ".md":
            return self._want(path, "markdown", f"repo/{path[:-3]}.html")
        if full.suffix.lower() in IMAGE_SUFFIXES:
            return self._want(path, "copy", f"repo/{path}")
        return self._want(path, "source", f"repo/{path}.html")

    def _want(self, repo_path, kind, site_path):
        if site_path not in self.wanted:
            self.wanted[site_path] = repo_path
            self.pending.append((repo_path, kind, site_path))
        return site_path

    # -- links ----------------------------------------------------------------------------------------------
    def rewrite_links(self, soup, repo_dir, site_path):
        """Point every relative href/src in SOUP (written for a file in REPO_DIR) at its page in the site."""
        for el in soup.find_all(lambda t: t.has_attr(SOURCE_ATTR) or (t.name == "a" and t.has_attr("href"))
                                or (t.name == "img" and t.has_attr("src"))):
            if el.find_parent(id=NAV_ID) is not None:  # the site's own navigation
                continue
            attr = "src" if el.name == "img" else "href"
            original = el.get(SOURCE_ATTR) or el.get(attr)
            parts = urlsplit(original)
            if parts.scheme or parts.netloc:
                if parts.scheme in ("http", "https"):
                    self.external.add(original)
                continue
            if not parts.path:  # #fragment: this page
                continue
            target = self.target(posixpath.join(repo_dir, unquote(parts.path)))
            el[SOURCE_ATTR] = original
            if target is None:
                self.broken.append({"page": site_path, "link": original})
                el.attrs.pop(attr, None)
                el["class"] = "broken-link"
                el["title"] = f"not in the repository: {original}"
                continue
            relative = posixpath.relpath(target, posixpath.dirname(site_path) or ".")
            el[attr] = quote(relative) + (f"#{parts.fragment}" if parts.fragment else "")

    # -- pages ----------------------------------------------------------------------------------------------
    def notebook_page(self, lab):
        """Rewrite the links in the executed notebook's HTML (written by the runner) in place."""
        from bs4 import BeautifulSoup

        site_path = f"{lab}.html"
        soup = BeautifulSoup((self.root / site_path).read_text(), "html.parser")
        self.rewrite_links(soup, f"labs/{lab}", site_path)
        if soup.title is not None and soup.title.string == "Notebook":  # nbconvert's default title
            soup.title.string = lab
        if soup.body is not None and soup.find(id=NAV_ID) is None:
            link = 'style="color: #0645ad; text-decoration: underline"'
            nav = BeautifulSoup(f'<nav id="{NAV_ID}" style="padding: 4px 16px; font: 14px sans-serif">'
                                f'<a {link} href="index.html">Workshop site</a> · '
                                f'<a {link} href="course.html">Course page</a></nav>', "html.parser")
            soup.body.insert(0, nav)
        (self.root / site_path).write_text(str(soup))

    def write_pending(self):
        while self.pending:
            repo_path, kind, site_path = self.pending.pop(0)
            out = self.root / site_path
            out.parent.mkdir(parents=True, exist_ok=True)
            if kind == "copy":
                shutil.copyfile(REPO / repo_path, out)
                continue
            title, body, rewrite = getattr(self, f"_{kind}")(repo_path)
            self._write(out, site_path, title, body, posixpath.dirname(repo_path) if kind != "listing" else repo_path,
                        rewrite)

    def _write(self, out, site_path, title, body, repo_dir, rewrite):
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(page(title, body, site_path), "html.parser")
        seen = set()
        for heading in soup.find_all(re.compile(r"^h[1-6]$")):
            if not heading.has_attr("id"):
                heading["id"] = slug(heading.get_text(), seen)
        if rewrite:
            self.rewrite_links(soup, repo_dir, site_path)
        out.write_text(str(soup))

    def _markdown(self, repo_path):
        text = (REPO / repo_path).read_text()
        first = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), repo_path)
        source = f'<p class="small">Source: <code>{html.escape(repo_path)}</code></p>'
        return first, markdown_to_html(text) + source, True

    def _source(self, repo_path):
        full = REPO / repo_path
        header = f"<h1><code>{html.escape(repo_path)}</code></h1>"
        try:
            if full.stat().st_size > MAX_SOURCE_BYTES:
                raise ValueError("large")
            text = full.read_text()
        except ValueError:  # UnicodeDecodeError included
            return repo_path, header + f"<p>{full.stat().st_size} bytes, not shown here: see the file in the " \
                                       "repository.</p>", False
        return repo_path, header + f"<pre>{html.escape(text)}</pre>", False

    def _listing(self, repo_path):
        full = REPO / repo_path
        items = []
        for child in sorted(full.iterdir()):
            if child.name in NOT_LISTED or child.name.startswith("."):
                continue
            name = html.escape(child.name)
            if child.is_dir():
                items.append(f"<li><code>{name}/</code></li>")
            else:
                items.append(f'<li><a href="{html.escape(quote(child.name))}">{name}</a></li>')
        label = "the repository" if repo_path == "." else repo_path + "/"
        return label, f"<h1>Files in <code>{html.escape(label)}</code></h1><ul>{''.join(items)}</ul>", True


def _short_image(name):
    """An AWS image URI (a twin's tag) by its repository and tag; the whole URI stays in the tooltip."""
    short = name.split("/", 1)[1] if ".amazonaws.com/" in name else name
    return f'<code title="{html.escape(name)}">{html.escape(short)}</code>'


def _cell(items, empty="-"):
    return "<br>".join(_short_image(i) for i in items) if items else empty


def index_page(root, rows):
    from .runner import format_duration

    lines = []
    for r in rows:
        lab = html.escape(r["lab"])
        name = f'<a href="{lab}.html">{lab}</a>' if (root / f"{r['lab']}.html").exists() else lab
        status = f'<span class="{html.escape(r["status"])}">{html.escape(r["status"])}</span>'
        if r.get("error"):
            status += f'<br><span class="small">{html.escape(r["error"])}</span>'
        left = "<br>".join(html.escape(i) for i in r.get("left_behind") or []) or "nothing"
        lines.append(f"<tr><td>{name}</td><td>{status}</td><td>{format_duration(r.get('seconds') or 0)}</td>"
                     f"<td>{html.escape(str(r.get('key_metric', '-')))}</td><td>{_cell(r.get('images_built'))}</td>"
                     f"<td>{_cell(r.get('images_used'))}</td><td>{left}</td></tr>")
    passed = sum(r["status"] == "passed" for r in rows)
    anything_left = any(r.get("left_behind") for r in rows)
    body = (f"<h1>SageMaker workshop — Domain 3: Modeling</h1>"
            f"<p>The labs as the last <code>./workshop labs</code> run executed them in <code>local</code> mode: "
            f"{passed} of {len(rows)} passed. Read the "
            f'<a href="course.html">course page</a> for the day\'s plan, or the <a href="readme.html">README</a> '
            f"to run it yourself. Each lab's name opens the executed notebook.</p>"
            f"<table><thead><tr><th>lab</th><th>status</th><th>duration</th><th>key metric</th>"
            f"<th>images built</th><th>images used</th><th>left behind</th></tr></thead><tbody>{''.join(lines)}"
            f"</tbody></table><p>Left behind by the run: {'see the table' if anything_left else 'nothing'}.</p>"
            f'<p class="small">Images built: images this run built (an unchanged image is reused, not rebuilt). '
            f"Images used: the images of the containers started while the lab ran. "
            f"Site built {time.strftime('%Y-%m-%d %H:%M')}.</p>")
    return page("SageMaker workshop: lab run", body, "index.html")


def build_site(output_dir, rows):
    """Write the site into OUTPUT_DIR (which holds the runner's executed notebooks and HTML); returns index.html."""
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    site = Site(root, [r["lab"] for r in rows if (root / f"{r['lab']}.html").exists()])
    for lab in sorted(site.executed):
        site.notebook_page(lab)
    for repo_path in PAGES:
        site.target(repo_path)
    site.write_pending()
    index = root / "index.html"
    index.write_text(index_page(root, rows))
    pages = sorted(p for p in site.wanted if p.endswith(".html")) + [f"{lab}.html" for lab in sorted(site.executed)]
    (root / "site.json").write_text(json.dumps({"pages": pages, "files": sorted(set(site.wanted) - set(pages)),
                                                "broken": site.broken, "external": sorted(site.external)}, indent=2))
    return index


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else OUTPUT
    summary = root / "summary.json"
    if not summary.exists():
        print(f"no {summary}: run ./workshop labs first", file=sys.stderr)
        return 1
    index = build_site(root, json.loads(summary.read_text()))
    broken = json.loads((root / "site.json").read_text())["broken"]
    for item in broken:
        print(f"broken link on {item['page']}: {item['link']}", file=sys.stderr)
    print(f"the workshop site: {index}" + (f" ({len(broken)} broken link(s))" if broken else ""))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
