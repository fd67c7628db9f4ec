"""Run lab notebooks in local mode: executed notebook, HTML rendering, a summary table and the site.

Used by `./workshop labs` and by the notebook tests, so both run a lab the same way. While a lab runs,
`./workshop labs` prints which lab and step are running and how long they have taken (a line when a slow
step ends, and a heartbeat while one goes on); the summary says what each lab left behind.
"""
import json
import subprocess
import threading
import time
from pathlib import Path

from . import cleanup, docker_run, images, paths, results
from .paths import LABS, OUTPUT


def lab_notebooks(selected=()):
    """labs/NN[x]_topic/NN[x]_topic.ipynb in order; SELECTED filters by folder name or number (`03` selects
    03a, 03b and 03c; `03a` only 03a)."""
    found = sorted(p for p in LABS.glob("[0-9][0-9]*_*/[0-9][0-9]*_*.ipynb") if p.stem == p.parent.name)
    if selected:
        found = [p for p in found if any(p.stem == s or p.stem.split("_")[0].startswith(s) for s in selected)]
    return found


# ---- progress ---------------------------------------------------------------------------------------------

def say_now(text):
    """print, flushed: progress reaches a CI log (a pipe) when it happens, not when the buffer fills."""
    print(text, flush=True)


def format_duration(seconds):
    """45s, 2m10s, 1h02m: short enough for a log line."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _step_title(cell, limit=50):
    """A heading's text, or a code cell's first line that is not a marker comment."""
    for line in cell.get("source", "").splitlines():
        line = line.strip()
        if cell.get("cell_type") == "markdown":
            if line.startswith("#"):
                return _clip(line.lstrip("#").strip(), limit)
        elif line and not line.startswith("# NBVAL"):
            return _clip(line, limit)
    return ""


def _clip(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Progress:
    """Prints `[lab 3/8] 03a_pytorch_script_mode: step 12/30 ...` lines for one lab, in any terminal or CI log.

    A step is a code cell. A line is printed when a step that took at least SLOW seconds ends, and, while
    a step goes on, at most one heartbeat line every EVERY seconds: a few dozen lines for the whole run.
    """

    def __init__(self, position, total, lab, say=None, every=30, slow=10, clock=time.monotonic):
        self.prefix = f"[lab {position}/{total}] {lab}"
        self.say, self.every, self.slow, self.clock = say or say_now, every, slow, clock
        self.started = self.last_line = clock()
        self.steps, self.total_steps = {}, 0  # cell index -> (step number, title)
        self.current = None  # (cell index, start time) of the running step
        self.lock = threading.Lock()

    def notebook(self, cells):
        """Number the code cells; name each by its section (the last heading above it) and its first line."""
        section, number = "", 0
        for index, cell in enumerate(cells):
            if cell.get("cell_type") == "markdown":
                section = _step_title(cell, 40) or section
            elif cell.get("cell_type") == "code":
                number += 1
                self.steps[index] = (number, section, _step_title(cell))
        self.total_steps = number

    def _line(self, text):
        self.last_line = self.clock()
        self.say(f"{self.prefix}: {text}")

    def _where(self, index):
        number, section, first_line = self.steps[index]
        return f"step {number}/{self.total_steps}" + (f" [{section}]" if section else "") + \
            (f" {first_line}" if first_line else "")

    def begin(self):
        self._line("started (local mode)")

    def cell_started(self, index):
        with self.lock:
            self.current = (index, self.clock()) if index in self.steps else None

    def cell_finished(self, index):
        with self.lock:
            if self.current and self.current[0] == index:
                took = self.clock() - self.current[1]
                if took >= self.slow:
                    self._line(f"{self._where(index)} done in {format_duration(took)}; "
                               f"lab {format_duration(self.clock() - self.started)} so far")
            self.current = None

    def tick(self):
        """Called every few seconds: a heartbeat when nothing was printed for EVERY seconds."""
        with self.lock:
            now = self.clock()
            if self.current and now - self.last_line >= self.every:
                index, since = self.current
                self._line(f"{self._where(index)} running for {format_duration(now - since)}; "
                           f"lab {format_duration(now - self.started)} so far")

    def end(self, row):
        self._line(f"{row['status']} in {format_duration(row['seconds'])}; {row['key_metric']}"
                   + (f"; {row['error']}" if row["error"] else ""))


def _progress_engine():
    """papermill's nbclient engine, reporting each cell's start and end to a Progress."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, progress=None, **kwargs):
            if progress is not None:
                progress.notebook(nb_man.nb.cells)
                start, complete = nb_man.cell_start, nb_man.cell_complete

                def cell_start(cell, cell_index=None, **kw):
                    progress.cell_started(cell_index)
                    return start(cell, cell_index, **kw)

                def cell_complete(cell, cell_index=None, **kw):
                    progress.cell_finished(cell_index)
                    return complete(cell, cell_index, **kw)

                nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register("workshop-progress", ProgressEngine)
    return "workshop-progress"


class _Heartbeat(threading.Thread):
    def __init__(self, progress, interval=5):
        super().__init__(daemon=True)
        self.progress, self.interval, self.stopped = progress, interval, threading.Event()

    def run(self):
        while not self.stopped.wait(self.interval):
            self.progress.tick()


# ---- what a lab built, used and left behind ------------------------------------------------------------

class DockerWatch:
    """Images a lab built (new image IDs with the workshop's inputs label) and used (images of the containers
    the lab created while it ran, from `docker events`: local mode's containers under the lab's workspace or
    labelled with one of its sessions, and containers the helper package ran by hand)."""

    def __init__(self, lab):
        self.workspace = str(paths.workspace(lab).resolve())
        self.before = set(self._project_image_ids())
        self.events = None
        try:
            self.events = subprocess.Popen(
                ["docker", "events", "--format", "{{json .}}", "--filter", "type=container",
                 "--filter", "event=create"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            pass

    def belongs(self, labels):
        folder = labels.get(cleanup.COMPOSE_DIR_LABEL, "")
        session = labels.get(cleanup.SESSION_LABEL)
        return (folder == self.workspace or folder.startswith(self.workspace + "/") or docker_run.RUN_LABEL in labels
                or bool(session and Path(self.workspace, "runs", session).exists()))

    @staticmethod
    def _project_image_ids():
        try:
            out = subprocess.run(["docker", "images", "-q", "--no-trunc", "--filter",
                                  f"label={images.INPUTS_LABEL}"], capture_output=True, text=True)
        except OSError:  # no docker client: the lab itself will say so
            return []
        return out.stdout.split()

    def stop(self):
        """(images built, images used): sorted names."""
        used = []
        if self.events is not None:
            time.sleep(0.5)  # events of the last moments reach the stream
            self.events.terminate()
            out, _ = self.events.communicate()
            used = images_used(out.splitlines(), self.belongs)
        new = [i for i in self._project_image_ids() if i not in self.before]
        built = []
        if new:
            out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .RepoTags}}", *new],
                                 capture_output=True, text=True).stdout
            built = sorted({tag for line in out.splitlines() for tag in (json.loads(line) or [])})
        return built, used


def images_used(event_lines, belongs=lambda labels: True):
    """Image names of `docker events` container-create lines whose attributes (the container's labels, its
    image) pass BELONGS; bare IDs (a build's intermediate containers) are left out."""
    names = set()
    for line in event_lines:
        try:
            attributes = json.loads(line).get("Actor", {}).get("Attributes", {})
        except ValueError:
            continue
        image = attributes.get("image", "")
        if not belongs(attributes) or image.startswith("sha256:") or (len(image) in (12, 64) and _is_hex(image)):
            continue
        if image:
            names.add(image)
    return sorted(names)


def _is_hex(text):
    return all(c in "0123456789abcdef" for c in text)


def running_containers_described(ids, belongs=lambda labels: True):
    """'container NAME (IMAGE)' for the containers among IDS whose labels pass BELONGS."""
    if not ids:
        return []
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout
    return [f"container {c['Name'].lstrip('/')} ({c['Config']['Image']})" for c in json.loads(out or "[]")
            if belongs(c["Config"].get("Labels") or {})]


def left_behind(running, recorded):
    """What a lab left: its containers still running after its kernel stopped, containers its own cleanup
    saw, and resources its cleanup could not delete (when the lab records `resources_left`)."""
    left = list(running)
    if recorded.get("containers_left"):
        left.append(f"{recorded['containers_left']} container(s) the lab's cleanup saw after it ran")
    left += [str(item) for item in recorded.get("resources_left", [])]
    return left


# ---- one lab, all labs -----------------------------------------------------------------------------------

def execute(notebook, output_dir=OUTPUT, parameters=None, timeout_per_cell=1800, progress=None):
    """Execute one lab with papermill in its own folder; return a summary row (never raises).

    PROGRESS (a Progress) is told when each cell starts and ends, and ticked by a heartbeat thread."""
    import papermill

    notebook = Path(notebook)
    lab = notebook.stem
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = output_dir / notebook.name
    results.clear(lab)
    row = {"lab": lab, "status": "passed", "error": None, "source": str(notebook), "executed": str(executed)}
    watch = DockerWatch(lab)
    engine = {}
    heartbeat = None
    if progress is not None:
        engine = {"engine_name": _progress_engine(), "progress": progress}
        progress.begin()
        heartbeat = _Heartbeat(progress)
        heartbeat.start()
    started = time.monotonic()
    try:
        papermill.execute_notebook(str(notebook), str(executed), parameters={"MODE": "local", **(parameters or {})},
                                   cwd=str(notebook.parent), kernel_name="python3", progress_bar=False,
                                   log_output=False, execution_timeout=timeout_per_cell, **engine)
    except Exception as err:  # papermill keeps the executed notebook up to the failing cell
        row.update(status="failed", error=f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}")
    except BaseException:  # Ctrl-C: stop watching docker events too
        watch.stop()
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stopped.set()
    row["seconds"] = round(time.monotonic() - started, 1)
    running = cleanup.workshop_containers()
    row["containers_left_running"] = len(running)
    recorded = results.load(lab) or {}
    key = recorded.get("key_metric")
    row["key_metric"] = f"{key} = {recorded[key]:.3f}" if key in recorded else "-"
    row["results"] = recorded
    row["images_built"], row["images_used"] = watch.stop()
    row["left_behind"] = left_behind(running_containers_described(running, watch.belongs), recorded)
    row["html"] = str(_to_html(executed)) if executed.exists() else None
    if progress is not None:
        progress.end(row)
    return row


def _to_html(executed):
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    target = executed.with_suffix(".html")
    target.write_text(body)
    return target


def _names(items):
    return ", ".join(items) if items else "-"


def summary_table(rows):
    lines = ["| lab | status | duration | key metric | images built | images used | left behind |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['lab']} | {r['status']} | {format_duration(r['seconds'])} | {r['key_metric']} | "
                     f"{_names(r.get('images_built'))} | {_names(r.get('images_used'))} | "
                     f"{'; '.join(r.get('left_behind') or []) or 'nothing'} |")
    return "\n".join(lines)


def left_behind_summary(rows):
    left = [f"{r['lab']}: {item}" for r in rows for item in r.get("left_behind") or []]
    return "Left behind: " + ("nothing." if not left else "\n" + "\n".join(f"- {item}" for item in left))


def run_labs(selected=(), parameters=None, output_dir=OUTPUT, say=say_now):
    from . import site

    notebooks = lab_notebooks(selected)
    if not notebooks:
        raise SystemExit(f"no lab notebooks match {list(selected)} under {LABS}")
    rows = []
    for position, notebook in enumerate(notebooks, 1):
        progress = Progress(position, len(notebooks), notebook.stem, say=say)
        rows.append(execute(notebook, output_dir, parameters, progress=progress))
    table = summary_table(rows)
    leftovers = left_behind_summary(rows)
    (output_dir / "summary.md").write_text("# Lab run summary (local mode)\n\n" + table + "\n\n" + leftovers + "\n")
    (output_dir / "summary.json").write_text(json.dumps(rows, indent=2, default=str))
    index = site.build_site(output_dir, rows)
    say("\n" + table + "\n\n" + leftovers + f"\n\nexecuted notebooks, HTML and summary: {output_dir}"
        f"\nthe workshop site: {index}")
    return rows
