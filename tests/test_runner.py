"""The lab runner's progress lines and summary, and the workshop site, without Docker or a browser."""
import json

import nbformat
import pytest
from bs4 import BeautifulSoup

from smworkshop import runner, site


# ---- progress ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [(0, "0s"), (44.6, "45s"), (60, "1m00s"), (130, "2m10s"),
                                           (3599, "59m59s"), (3720, "1h02m")])
def test_durations_are_short(seconds, text):
    assert runner.format_duration(seconds) == text


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def notebook_cells():
    return [{"cell_type": "markdown", "source": "# Lab 03a\nintro"},
            {"cell_type": "code", "source": "# Parameters\nMODE = 'auto'"},
            {"cell_type": "markdown", "source": "Some text.\n\n## 5. Train on two instances"},
            {"cell_type": "code", "source": "# NBVAL_CHECK_OUTPUT\ntrainer.train()"},
            {"cell_type": "code", "source": "print('done')"}]


def run_cells(progress, clock, durations):
    """Cells start and end as papermill reports them; DURATIONS: seconds per cell index."""
    for index, seconds in enumerate(durations):
        progress.cell_started(index)
        for _ in range(int(seconds // 5)):  # the heartbeat thread ticks every 5 s
            clock.now += 5
            progress.tick()
        clock.now += seconds % 5
        progress.cell_finished(index)


def test_progress_prints_slow_steps_and_a_heartbeat_not_every_cell():
    clock, lines = Clock(), []
    progress = runner.Progress(3, 8, "03a_pytorch_script_mode", say=lines.append, every=30, slow=10, clock=clock)
    progress.notebook(notebook_cells())
    progress.begin()
    run_cells(progress, clock, [0, 2, 0, 75, 1])
    step = "[lab 3/8] 03a_pytorch_script_mode: step 2/3 [5. Train on two instances] trainer.train()"
    assert lines == ["[lab 3/8] 03a_pytorch_script_mode: started (local mode)",
                     f"{step} running for 30s; lab 32s so far",
                     f"{step} running for 1m00s; lab 1m02s so far",
                     f"{step} done in 1m15s; lab 1m17s so far"]


def test_a_step_is_named_by_its_section_and_first_line_clipped():
    progress = runner.Progress(1, 1, "lab", say=lambda line: None)
    progress.notebook([{"cell_type": "code", "source": "# NBVAL_CHECK_OUTPUT\nprint('contract')"},
                       {"cell_type": "markdown", "source": "## " + "A very long section title " * 3},
                       {"cell_type": "code", "source": "x = 1  # " + "y" * 60}])
    assert progress.steps[0] == (1, "", "print('contract')")
    number, section, first_line = progress.steps[2]
    assert number == 2 and len(section) == 40 and section.endswith("…") and len(first_line) == 50
    assert progress._where(0) == "step 1/2 print('contract')"


def test_progress_end_line_has_status_duration_metric_and_error():
    lines = []
    progress = runner.Progress(2, 2, "lab", say=lines.append)
    progress.end({"status": "failed", "seconds": 61, "key_metric": "-", "error": "PapermillExecutionError: boom"})
    assert lines == ["[lab 2/2] lab: failed in 1m01s; -; PapermillExecutionError: boom"]


def test_the_progress_engine_reports_cells_papermill_runs(tmp_path):
    """The real papermill engine with a tiny notebook (a kernel, no Docker): every code cell is a step."""
    import papermill

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## First"), nbformat.v4.new_code_cell("1 + 1"),
                                         nbformat.v4.new_code_cell("2 + 2")])
    source = tmp_path / "tiny.ipynb"
    nbformat.write(nb, source)
    seen = []

    class Recorder(runner.Progress):
        def cell_started(self, index):
            seen.append(("start", index))

        def cell_finished(self, index):
            seen.append(("end", index))

    progress = Recorder(1, 1, "tiny", say=lambda line: None)
    papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
                               engine_name=runner._progress_engine(), progress=progress)
    assert progress.total_steps == 2 and progress.steps[1] == (1, "First", "1 + 1")
    assert seen == [("start", 0), ("end", 0), ("start", 1), ("end", 1), ("start", 2), ("end", 2)]


# ---- what a lab used and left behind ------------------------------------------------------------------------

def test_images_used_come_from_container_create_events():
    events = [json.dumps({"Type": "container", "Action": "create", "Actor": {"Attributes": {"image": image}}})
              for image in ("sagemaker-workshop/sklearn-byoc:latest", "sha256:" + "a" * 64, "0123456789ab",
                            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                            "sagemaker-workshop/sklearn-byoc:latest")]
    assert runner.images_used(events + ["not json"]) == [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "sagemaker-workshop/sklearn-byoc:latest"]
    assert runner.images_used(events, belongs=lambda labels: "xgboost" in labels["image"]) == [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"]


def test_a_lab_owns_containers_in_its_workspace_its_sessions_and_hand_runs(tmp_path):
    from smworkshop import cleanup, docker_run

    watch = object.__new__(runner.DockerWatch)  # no docker: only the ownership rule
    watch.workspace = str((tmp_path / "01_lab").resolve())
    (tmp_path / "01_lab" / "runs" / "session-1").mkdir(parents=True)
    assert watch.belongs({cleanup.COMPOSE_DIR_LABEL: f"{watch.workspace}/runs/session-1/abc"})
    assert watch.belongs({cleanup.SESSION_LABEL: "session-1"})
    assert watch.belongs({docker_run.RUN_LABEL: "serve"})
    assert not watch.belongs({cleanup.COMPOSE_DIR_LABEL: "/elsewhere/01_lab/runs/session-1"})  # another clone's
    assert not watch.belongs({cleanup.SESSION_LABEL: "session-2"})
    assert not watch.belongs({})


def test_left_behind_is_empty_when_nothing_is_and_lists_what_is():
    assert runner.left_behind([], {"containers_left": 0}) == []
    assert runner.left_behind(["container algo-1 (img)"], {"containers_left": 2, "resources_left": ["endpoint e"]}) == [
        "container algo-1 (img)", "2 container(s) the lab's cleanup saw after it ran", "endpoint e"]


def rows():
    return [{"lab": "01_bring_your_own_container", "status": "passed", "error": None, "seconds": 95.0,
             "key_metric": "accuracy = 0.978", "images_built": [], "left_behind": [],
             "images_used": ["sagemaker-workshop/sklearn-byoc:latest"]},
            {"lab": "04_builtin_xgboost", "status": "failed", "error": "PapermillExecutionError: <boom>",
             "seconds": 30.0, "key_metric": "-", "images_built": ["sagemaker-workshop/xgboost-1.7-1:latest"],
             "images_used": [], "left_behind": ["container algo-1 (x)"]}]


def test_summary_says_nothing_explicitly_and_names_what_was_left():
    table = runner.summary_table(rows())
    assert "| 01_bring_your_own_container | passed | 1m35s | accuracy = 0.978 | - | " \
           "sagemaker-workshop/sklearn-byoc:latest | nothing |" in table
    assert "| container algo-1 (x) |" in table
    assert runner.left_behind_summary(rows()[:1]) == "Left behind: nothing."
    assert runner.left_behind_summary(rows()) == "Left behind: \n- 04_builtin_xgboost: container algo-1 (x)"


# ---- the site -----------------------------------------------------------------------------------------------

def notebook_html(links):
    anchors = "".join(f'<a href="{href}">{href}</a>' for href in links)
    return f"<html><head><title>Notebook</title></head><body><h1 id='Lab'>Lab</h1>{anchors}" \
           f"<img src='data:image/png;base64,iVBORw0KGgo='></body></html>"


@pytest.fixture
def built(tmp_path):
    links = ["../../containers/sklearn-byoc/", "../02_bring_your_own_model/", ".", "#Lab",
             "no_such_file.py", "https://docs.aws.amazon.com/sagemaker/", "../../README.md#layout"]
    (tmp_path / "01_bring_your_own_container.html").write_text(notebook_html(links))
    index = site.build_site(tmp_path, rows())
    return tmp_path, index


def hrefs(path):
    soup = BeautifulSoup(path.read_text(), "html.parser")
    return {a.get("data-repo-href", a.get("href")): a.get("href") for a in soup.find_all("a")}


def test_the_index_links_each_executed_notebook_and_the_course_page(built):
    root, index = built
    assert index == root / "index.html"
    soup = BeautifulSoup(index.read_text(), "html.parser")
    body = [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in soup.find("tbody").find_all("tr")]
    assert body[0] == ["01_bring_your_own_container", "passed", "1m35s", "accuracy = 0.978", "-",
                       "sagemaker-workshop/sklearn-byoc:latest", "nothing"]
    assert body[1][1] == "failed PapermillExecutionError: <boom>"  # escaped, shown as text
    assert body[1][4] == "sagemaker-workshop/xgboost-1.7-1:latest" and body[1][6] == "container algo-1 (x)"
    assert soup.find("a", href="01_bring_your_own_container.html")
    assert not soup.find("a", href="04_builtin_xgboost.html")  # no HTML for it: a name, not a broken link
    assert soup.find("a", href="course.html") and (root / "course.html").exists() and (root / "readme.html").exists()


def test_notebook_links_are_rewritten_into_the_site(built):
    root, _ = built
    links = hrefs(root / "01_bring_your_own_container.html")
    assert links["../../containers/sklearn-byoc/"] == "repo/containers/sklearn-byoc/README.html"
    assert links["../02_bring_your_own_model/"] == "repo/labs/02_bring_your_own_model/README.html"  # not executed
    assert links["."] == "01_bring_your_own_container.html"  # a lab's folder is its executed notebook
    assert links["#Lab"] == "#Lab"
    assert links["https://docs.aws.amazon.com/sagemaker/"] == "https://docs.aws.amazon.com/sagemaker/"
    assert links["../../README.md#layout"] == "readme.html#layout"
    assert links["no_such_file.py"] is None  # made plain text
    for target in ("repo/containers/sklearn-byoc/README.html", "repo/labs/02_bring_your_own_model/README.html"):
        assert (root / target).exists()
    report = json.loads((root / "site.json").read_text())
    assert report["broken"] == [{"page": "01_bring_your_own_container.html", "link": "no_such_file.py"}]
    assert "https://docs.aws.amazon.com/sagemaker/" in report["external"]
    assert BeautifulSoup((root / "01_bring_your_own_container.html").read_text(), "html.parser").title.string \
        == "01_bring_your_own_container"


def test_course_page_links_go_to_executed_labs_and_every_site_link_resolves(built):
    root, _ = built
    links = hrefs(root / "course.html")
    assert links["../labs/01_bring_your_own_container/"] == "01_bring_your_own_container.html"
    for page in root.rglob("*.html"):
        for target in BeautifulSoup(page.read_text(), "html.parser").find_all(["a", "img"]):
            href = target.get("href") or target.get("src") or ""
            if href and not href.startswith(("#", "http:", "https:", "data:", "mailto:")):
                assert (page.parent / href.split("#")[0]).resolve().exists(), (page, href)


def test_markdown_headings_get_github_ids():
    seen = set()
    assert site.slug("Week 1 — Domain 3: Modeling", seen) == "week-1--domain-3-modeling"
    assert site.slug("Tests", seen) == "tests" and site.slug("Tests", seen) == "tests-1"


def test_rebuilding_changes_nothing_and_the_command_line_rebuilds_from_summary_json(built, capsys):
    root, _ = built
    before = (root / "01_bring_your_own_container.html").read_text()
    (root / "summary.json").write_text(json.dumps(rows()))
    assert site.main([str(root)]) == 1  # the broken link above
    assert (root / "01_bring_your_own_container.html").read_text() == before
    assert "broken link on 01_bring_your_own_container.html: no_such_file.py" in capsys.readouterr().err
    assert site.main([str(root / "nowhere")]) == 1
