"""The course pages: every link into the repository resolves, external links are well formed (listed, not
fetched), every diagram a page shows is drawn by `python -m smworkshop.diagrams`, and the cost table in the
instructor guide is the one smworkshop/costs.py computes and stays under what each notebook promises."""
import json
import re
import struct
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from smworkshop import costs, diagrams, images
from smworkshop.paths import REPO

PAGES = sorted([REPO / "README.md", *REPO.glob("week1/*.md"), *REPO.glob("labs/*/README.md"),
                *REPO.glob("containers/*/README.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
BARE_URL = re.compile(r"(?<![(<\[])\bhttps?://[^\s)>\]`'\"]+")
FENCE = re.compile(r"```.*?```", re.S)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def links(page):
    """Markdown links and bare URLs of a page, code blocks and inline code left out."""
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)
    return LINK.findall(text) + BARE_URL.findall(text)


def is_external(target):
    return bool(urlsplit(target).scheme) or target.startswith("//")


def test_pages_exist():
    names = {p.relative_to(REPO).as_posix() for p in PAGES}
    assert {"README.md", "week1/README.md", "week1/instructor_guide.md"} <= names
    assert any(n.startswith("labs/") for n in names) and any(n.startswith("containers/") for n in names)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if is_external(target) or target.startswith("#") or target.startswith("mailto:"):
            continue
        path = unquote(target.split("#", 1)[0])
        if not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: links to missing files: {broken}"


def external_links():
    return {target for page in PAGES for target in links(page) if is_external(target)}


def test_external_links_are_well_formed(capsys):
    """Checked for form only (never fetched): https, a host with a dot, no spaces. The unique set is printed."""
    found = sorted(external_links())
    bad = [url for url in found
           if urlsplit(url).scheme != "https" or "." not in urlsplit(url).netloc or re.search(r"\s", url)]
    with capsys.disabled():
        print(f"\n{len(found)} unique external links in the course pages:\n  " + "\n  ".join(found))
    assert found, "no external links found: the link pattern is broken"
    assert not bad, f"external links that are not well-formed https URLs: {bad}"


def test_the_course_page_links_the_talk_and_the_further_reading():
    found = external_links()
    page = (REPO / "week1" / "README.md").read_text()
    for wanted in ("https://youtu.be/lCjDikW20IQ",
                   "https://docs.aws.amazon.com/wellarchitected/latest/machine-learning-lens/machine-learning-lens.html",
                   "https://docs.aws.amazon.com/sagemaker/latest/dg/docker-containers.html",
                   "https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-configure-processing-jobs.html",
                   "https://docs.aws.amazon.com/sagemaker/latest/dg/security.html"):
        assert wanted in found and wanted in page
    for lab in sorted(p.name for p in (REPO / "labs").iterdir() if p.is_dir()):
        assert f"../labs/{lab}/" in page, f"week1/README.md does not link lab {lab}"


# ---- diagrams -------------------------------------------------------------------------------------

def referenced_images():
    """images/*.png files the pages show."""
    names = set()
    for page in PAGES:
        for target in links(page):
            path = (page.parent / unquote(target.split("#", 1)[0])).resolve()
            if not is_external(target) and path.parent == (REPO / "images").resolve():
                names.add(path.name)
    return names


def png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """`python -m smworkshop.diagrams FOLDER`, run as the README says, into a temporary folder."""
    folder = tmp_path_factory.mktemp("diagrams")
    subprocess.run([sys.executable, "-m", "smworkshop.diagrams", str(folder)], cwd=REPO, check=True,
                   capture_output=True, timeout=300)
    return folder


def test_every_diagram_a_page_shows_is_generated(regenerated):
    shown = referenced_images()
    generated = {p.name for p in regenerated.glob("*.png")}
    assert {"modes_local_vs_aws.png", "image_family.png", "secure_network.png"} <= shown
    assert shown <= generated, f"shown but not drawn by smworkshop.diagrams: {shown - generated}"
    for name in generated:
        width, height = png_size(regenerated / name)
        assert width > 300 and height > 200, name


def test_images_folder_holds_exactly_what_the_generator_draws(regenerated):
    committed = {p.name for p in (REPO / "images").glob("*.png")}
    assert committed == {p.name for p in regenerated.glob("*.png")}
    for name in committed:
        png_size(REPO / "images" / name)
    stale = sorted(name for name in committed
                   if (REPO / "images" / name).read_bytes() != (regenerated / name).read_bytes())
    assert not stale, (f"images/ is out of date with its sources ({stale}): run "
                       "`.venv/bin/python -m smworkshop.diagrams` and commit the PNGs")


def figure_texts(figure):
    return "\n".join(t.get_text() for ax in figure.axes for t in ax.texts)


def test_the_image_family_shows_every_twin_and_the_aws_image_it_stands_for():
    data = diagrams.image_family_data()
    figure = diagrams.image_family()
    texts = figure_texts(figure)
    diagrams.plt.close(figure)
    for (framework, version, scope), name in images.TWINS.items():
        assert data[name]["aws"], name
        assert name in texts, f"twin {name} missing from the diagram"
        repository, _ = diagrams._short_uri(data[name]["aws"])
        assert repository in texts and framework in repository and version in repository
    for shared in ("pytorch-2.5-base", "tensorflow-2.18-base", "mxnet-1.9-base", "pytorch-byom-inference"):
        assert shared in texts
    # The Dockerfiles' parent images, as the diagram draws them.
    assert data["pytorch-2.5-training"]["parents"] == {"PARENT_IMAGE": "pytorch-2.5-base"}
    assert data["mxnet-1.9-inference"]["parents"] == {"PARENT_IMAGE": "mxnet-1.9-base",
                                                      "SERVER_IMAGE": "pytorch-byom-inference"}
    assert set(data) == {p.parent.name for p in (REPO / "containers").glob("*/Dockerfile")}


def test_the_network_diagram_is_lab_06s_template():
    data = diagrams.network_data()
    assert not data["internet_paths"], f"the template has a way to the internet: {data['internet_paths']}"
    assert len(data["subnets"]) >= 2
    services = {service for service, _ in data["endpoints"]}
    assert {"sagemaker.api", "sagemaker.runtime", "s3", "ecr.api", "ecr.dkr"} <= services
    figure = diagrams.secure_network()
    texts = figure_texts(figure)
    diagrams.plt.close(figure)
    for service in services:
        assert service in texts
    for name, cidr in data["subnets"]:
        assert name in texts and cidr in texts


def test_the_network_reader_sees_an_internet_gateway(tmp_path):
    """The check above can fail: a template with an internet gateway is reported."""
    template = diagrams.NETWORK_TEMPLATE.read_text().replace(
        "Resources:\n", "Resources:\n  Igw:\n    Type: AWS::EC2::InternetGateway\n", 1)
    (tmp_path / "network.yaml").write_text(template)
    assert diagrams.network_data(tmp_path / "network.yaml")["internet_paths"] == ["Igw"]


# ---- costs ----------------------------------------------------------------------------------------

def notebooks():
    return sorted(p for p in (REPO / "labs").glob("*/*.ipynb") if p.stem == p.parent.name)


def first_cell(notebook):
    return "".join(json.loads(notebook.read_text())["cells"][0]["source"])


def parameters_cell(notebook):
    for cell in json.loads(notebook.read_text())["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return "".join(cell["source"])
    raise AssertionError(f"{notebook.name} has no parameters cell")


def test_every_lab_has_a_cost_entry():
    assert {n.stem for n in notebooks()} == set(costs.LABS)


@pytest.mark.parametrize("notebook", notebooks(), ids=lambda p: p.stem)
def test_each_lab_costs_less_than_its_notebook_says(notebook):
    bound = costs.stated_bound(first_cell(notebook))
    assert bound is not None, f"{notebook.name}: the first cell states no cost in aws mode"
    computed = costs.lab_cost(notebook.stem)
    assert computed <= bound, (f"{notebook.name} says under US${bound:.2f} in aws mode; its jobs and endpoints "
                               f"({costs.LABS[notebook.stem]}) cost US${computed:.3f}")


@pytest.mark.parametrize("notebook", notebooks(), ids=lambda p: p.stem)
def test_costs_use_the_instance_type_the_notebook_uses(notebook):
    match = re.search(r'^INSTANCE_TYPE\s*=\s*"([^"]+)"', parameters_cell(notebook), re.M)
    assert match, f"{notebook.name}: no INSTANCE_TYPE parameter"
    used = {use.instance_type for use in costs.LABS[notebook.stem]} | {
        use.instance_type for use in costs.OPTIONS.get(notebook.stem, ("", []))[1]}
    assert used <= {match.group(1)}, f"{notebook.name} runs on {match.group(1)}, costs.py prices {used}"
    assert match.group(1) in costs.PRICES


def test_the_bound_parser():
    cell = "**Time** x\n**Cost in `aws` mode** one job: well under US$0.10, plus US$0.11 a month.\n**Prerequisites** y"
    assert costs.stated_bound(cell) == 0.10
    assert costs.stated_bound("**Cost in `aws` mode** an endpoint (a few cents), roughly US$0.11 a month") == 0.10
    assert costs.stated_bound("**Cost in `aws` mode** about US$0.01 per endpoint-hour, under US$0.25.") == 0.25
    assert costs.stated_bound("no cost line") is None


def test_the_guide_shows_exactly_the_computed_cost_table():
    guide = (REPO / "week1" / "instructor_guide.md").read_text()
    start, end = guide.index(costs.BEGIN) + len(costs.BEGIN), guide.index(costs.END)
    assert guide[start:end].strip() == costs.markdown(), (
        "week1/instructor_guide.md's cost table is out of date: run `.venv/bin/python -m smworkshop.costs --update`")


def test_the_cost_module_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "smworkshop.costs"], cwd=REPO, check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == costs.markdown()
    assert costs.PRICING_URL in out and costs.REGION in out and costs.PRICES_READ in out


def test_every_script_is_checked_out_with_lf_line_endings_on_any_clone():
    """A shebang line ending in CR makes the kernel look for "python3\\r" (exec fails inside the container).
    .gitattributes' eol=lf overrides core.autocrlf: https://git-scm.com/docs/gitattributes#_eol"""
    import subprocess

    from smworkshop.paths import REPO

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    scripts = [path for path in tracked if (REPO / path).is_file() and (REPO / path).read_bytes()[:2] == b"#!"]
    assert scripts
    attributes = subprocess.run(["git", "check-attr", "eol", "--", *scripts], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.splitlines()
    assert [line for line in attributes if not line.endswith(": eol: lf")] == []
