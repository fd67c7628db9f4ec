"""Diagrams for the docs and notebooks, drawn from code so they stay editable.

python -m smworkshop.diagrams [FOLDER]   rewrites images/*.png (or writes them into FOLDER)

Two of them are drawn from the repository itself, so they cannot drift from it: the image family
(`image_family`) from images.TWINS, the Dockerfiles' parent-image build args and the SDK's image URIs; the
secure network (`secure_network`) from labs/06_security/templates/network.yaml.
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from .paths import REPO  # noqa: E402

IMAGES = REPO / "images"
BLUE, ORANGE, GREEN, GREY = "#dbe9f6", "#fde3c8", "#dff0d8", "#eeeeee"


def _box(ax, x, y, w, h, text, color, size=9, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#555555", linewidth=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight, wrap=True)


def _arrow(ax, start, end, text="", color="#333333"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=color, linewidth=1.3))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.12, text, ha="center", fontsize=7.5,
                color=color)


def _canvas(width, height):
    figure, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return figure, ax


def opt_ml_contract():
    """What SageMaker puts under /opt/ml for `train`, what it takes back, and what `serve` sees."""
    figure, ax = _canvas(11, 5.6)
    ax.text(0.2, 5.3, "The /opt/ml contract: one image, two programs", fontsize=13, weight="bold")
    _box(ax, 0.2, 2.2, 2.3, 1.6, "Training job\nCreateTrainingJob /\nModelTrainer.train()", GREY, 9)
    _box(ax, 3.3, 0.5, 4.2, 4.4, "", BLUE)
    ax.text(5.4, 4.6, "docker run IMAGE train", ha="center", fontsize=10, weight="bold")
    rows = [("input/config/hyperparameters.json", "values are strings", ORANGE),
            ("input/config/inputdataconfig.json", "channels and content types", ORANGE),
            ("input/data/train/  (channel files)", "S3 or local files", ORANGE),
            ("model/  -> model.tar.gz", "written by train", GREEN),
            ("output/failure", "reason, if train fails", GREEN)]
    for i, (path, note, color) in enumerate(rows):
        y = 3.9 - i * 0.7
        _box(ax, 3.5, y, 3.8, 0.55, f"/opt/ml/{path}\n{note}", color, 8)
    _arrow(ax, (2.5, 3.3), (3.45, 3.9))
    ax.text(2.2, 4.1, "writes config + data", fontsize=7.5)
    _arrow(ax, (3.45, 1.2), (2.5, 2.4), "exit code, failure reason", "#b03030")
    _box(ax, 8.3, 2.2, 2.5, 1.6, "Endpoint container\ndocker run IMAGE serve\n/opt/ml/model = unpacked\nmodel.tar.gz",
         GREY, 8.5)
    _arrow(ax, (7.35, 2.0), (8.3, 2.7), "model.tar.gz")
    figure.tight_layout()
    return figure


def request_flow():
    """An invocation from a client to the model and back, and where each limit applies."""
    figure, ax = _canvas(11, 3.4)
    ax.text(0.2, 3.1, "An invocation, end to end", fontsize=13, weight="bold")
    width = 1.8
    boxes = [(0.2, "Client\nboto3 invoke_endpoint\n(sagemaker-runtime)", GREY),
             (2.4, "SageMaker endpoint\nauth, 6 MB payload,\n60 s timeout", ORANGE),
             (4.6, "Container :8080\ngunicorn, 1 sync\nworker per core", BLUE),
             (6.8, "WSGI app\n/ping  /invocations\nCSV in, CSV out", BLUE),
             (9.0, "Decision tree\nfrom /opt/ml/model", GREEN)]
    for x, text, color in boxes:
        _box(ax, x, 1.0, width, 1.3, text, color, 8.5)
    for (x1, _, _), (x2, _, _) in zip(boxes, boxes[1:]):
        _arrow(ax, (x1 + width, 1.8), (x2, 1.8))
        _arrow(ax, (x2, 1.4), (x1 + width, 1.4), color="#777777")
    ax.text(5.5, 0.45, "errors travel back the same way: 400 bad CSV, 406 bad Accept, 413 too large, "
            "415 wrong content type", ha="center", fontsize=8, color="#b03030")
    figure.tight_layout()
    return figure


def modes():
    """The same notebook in local and aws mode: only the session differs."""
    figure, ax = _canvas(11, 6.2)
    ax.text(0.2, 5.9, "One notebook, two modes", fontsize=13, weight="bold")
    _box(ax, 3.3, 4.6, 4.4, 0.9, "Lab notebook: the same cells in both modes\nMODE = \"auto\" | \"local\" | \"aws\"",
         GREY, 9.5, "bold")
    _box(ax, 3.3, 3.55, 4.4, 0.7, "smworkshop: lab = ws.start_lab(..., mode=MODE)\nthe one call that differs", BLUE, 8.5)
    _arrow(ax, (5.5, 4.6), (5.5, 4.25))
    lanes = (
        (0.2, "local: SageMaker local mode, no AWS account", [
            ("LocalSession clients, ModelTrainer(Mode.LOCAL_CONTAINER)\nfake role ARN, no credentials", BLUE),
            ("Docker on this machine\njob: docker run IMAGE train\nendpoint: Compose, serve on :8080", ORANGE),
            ("images built here (offline wheelhouse)\ntwins tagged with AWS's image URIs\nfile:// data and models", GREEN)]),
        (5.8, "aws: the SageMaker service", [
            ("boto3 sagemaker / sagemaker-runtime clients\nModelTrainer (training job), execution role", BLUE),
            ("Amazon SageMaker: training, processing and\ntransform jobs, endpoints on ml.* instances", ORANGE),
            ("S3 sagemaker-<region>-<account>/sagemaker-workshop/\nECR sagemaker-workshop/* or AWS's images", GREEN)]),
    )
    for x, title, boxes in lanes:
        ax.text(x + 2.5, 3.15, title, ha="center", fontsize=9.5, weight="bold")
        _arrow(ax, (5.5, 3.55), (x + 2.5, 3.35))
        for i, (text, color) in enumerate(boxes):
            y = 2.15 - i * 0.95
            _box(ax, x, y, 5.0, 0.8, text, color, 8)
            if i:
                _arrow(ax, (x + 2.5, y + 0.95), (x + 2.5, y + 0.8))
    ax.text(5.5, 0.0, "Every lab ends by deleting what it created; in aws mode everything also carries the tag "
            "workshop=sagemaker-domain3-modeling for ./workshop sweep", ha="center", fontsize=8, color="#555555")
    figure.tight_layout()
    return figure


# ---- the image family: generated from the repository --------------------------------------------

def image_family_data(region="us-east-1"):
    """Every image under containers/: its workshop parents (from its Dockerfile's
    `ARG X=sagemaker-workshop/NAME:latest` defaults) and, for a twin, the AWS image it stands for (from
    images.TWINS and the SDK's URIs). Returns {name: {"parents": {arg: name}, "aws": uri or None}}."""
    from . import images
    from .paths import CONTAINERS

    stands_for = {}
    for (framework, version, scope), name in images.TWINS.items():
        try:
            uri = images.aws_image_uri(framework, region, version, instance_type="ml.m5.xlarge",
                                       **({"image_scope": scope} if scope else {}))
        except Exception:  # an SDK without that image: name it by what TWINS says
            uri = f"{framework} {version}" + (f" ({scope})" if scope else "")
        stands_for[name] = uri
    return {d.parent.name: {"parents": images.parent_images(d.parent), "aws": stands_for.get(d.parent.name)}
            for d in sorted(CONTAINERS.glob("*/Dockerfile"))}


def _short_uri(uri):
    """'763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-cpu-py311' ->
    ('pytorch-training:2.5-cpu-py311', '763104351884')."""
    if "/" not in uri:
        return uri, ""
    registry, repository = uri.split("/", 1)
    return repository, registry.split(".")[0]


def image_family():
    """Each twin's place: the shared parents it builds on, and the AWS image it stands for."""
    data = image_family_data()
    primary = {name: (d["parents"].get("PARENT_IMAGE") or next(iter(d["parents"].values()), None))
               for name, d in data.items()}
    roots = [name for name in data if primary[name] is None]
    children = {root: [n for n in data if primary[n] == root] for root in roots}
    rows, y = {}, 0.0
    for root in roots:  # children on consecutive rows, their parent level with them
        kids = children[root]
        for kid in kids:
            rows[kid] = y
            y += 1
        rows[root] = (rows[kids[0]] + rows[kids[-1]]) / 2 if kids else y
        if not kids:
            y += 1
    height = 0.62 * y + 1.6
    figure, ax = _canvas(13, height)
    top = height - 1.0
    ypos = {name: top - 0.62 * row - 0.25 for name, row in rows.items()}
    ax.text(0.2, height - 0.45, "The workshop's images: what each twin stands for, and what it is built on",
            fontsize=12.5, weight="bold")
    for x, label in ((2.55, "built FROM the base"), (5.75, "built FROM a workshop image"),
                     (9.75, "AWS image it stands for (us-east-1)")):
        ax.text(x, top + 0.2, label, ha="center", fontsize=8.5, color="#555555")
    column = {name: (1 if primary[name] is None else 2) for name in data}
    xs = {1: 1.45, 2: 4.65}
    width, box_h = 2.2, 0.5
    _box(ax, 0.05, ypos[roots[0]] - 0.2 - (ypos[roots[0]] - ypos[roots[-1]]) / 2, 1.0, 0.9,
         "python:3.11-\nslim-bookworm\n(or debootstrap)", GREY, 6.5)
    base_y = ypos[roots[0]] - (ypos[roots[0]] - ypos[roots[-1]]) / 2 + 0.25
    for name, info in data.items():
        x, yy = xs[column[name]], ypos[name]
        twin = info["aws"] is not None
        color = ORANGE if twin else (GREY if name.endswith("-base") else BLUE)
        _box(ax, x, yy - box_h / 2, width, box_h, name + ("\n(local twin)" if twin else ""), color, 7.5,
             "bold" if twin else "normal")
        if column[name] == 1:
            ax.add_patch(FancyArrowPatch((1.05, base_y), (x, yy), arrowstyle="-|>", mutation_scale=8,
                                         color="#aaaaaa", linewidth=0.7))
        for arg, parent in info["parents"].items():
            px, py = xs[column[parent]] + width, ypos[parent]
            style = "-" if arg == "PARENT_IMAGE" or parent == primary[name] else "--"
            ax.add_patch(FancyArrowPatch((px, py), (x, yy), arrowstyle="-|>", mutation_scale=10, linestyle=style,
                                         color="#333333" if style == "-" else "#1f5fa8", linewidth=1.1,
                                         connectionstyle="arc3,rad=0.0" if style == "-" else "arc3,rad=-0.25"))
        if twin:
            repository, account = _short_uri(info["aws"])
            _box(ax, 8.4, yy - box_h / 2, 4.45, box_h, f"{repository}\n{account}", GREEN, 7.5)
            ax.plot([x + width, 8.4], [yy, yy], linestyle=":", color="#8a6d3b", linewidth=1)
    ax.text(0.2, 0.25, "solid arrow: FROM the parent image (installed once, shared)   dashed arrow: the server "
            "program copied from Lab 02's image   dotted line: tagged with that URI in local mode",
            fontsize=7.5, color="#333333")
    figure.tight_layout()
    return figure


# ---- the secure network: generated from Lab 06's template ----------------------------------------

NETWORK_TEMPLATE = Path(__file__).resolve().parent.parent / "labs" / "06_security" / "templates" / "network.yaml"


def _cloudformation(path):
    """A CloudFormation template as plain data: each short-form tag (!Ref, !Sub, ...) becomes its value."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, _suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_mapping(node)

    Loader.add_multi_constructor("!", any_tag)
    return yaml.load(Path(path).read_text(), Loader=Loader)


def network_data(path=NETWORK_TEMPLATE):
    """What the template builds: subnets (name, CIDR), VPC endpoints (service, type), and whether anything
    leads to the internet (internet or NAT gateways, routes to 0.0.0.0/0)."""
    template = _cloudformation(path)
    defaults = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
    resources = template["Resources"]

    def value(v):
        return defaults.get(v, v) if isinstance(v, str) else v

    by_type = {}
    for name, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append((name, resource.get("Properties", {})))
    endpoints = [(props["ServiceName"].split("}.", 1)[-1].replace("${AWS::Region}", "<region>"),
                  props.get("VpcEndpointType", "Gateway")) for _, props in by_type.get("AWS::EC2::VPCEndpoint", [])]
    return {
        "vpc_cidr": value(by_type["AWS::EC2::VPC"][0][1].get("CidrBlock")),
        "subnets": [(name, value(props.get("CidrBlock"))) for name, props in by_type.get("AWS::EC2::Subnet", [])],
        "endpoints": endpoints,
        "internet_paths": [name for name, resource in resources.items() if resource["Type"] in (
            "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::VPCGatewayAttachment",
            "AWS::EC2::EgressOnlyInternetGateway")] + [
            name for name, props in by_type.get("AWS::EC2::Route", [])
            if props.get("DestinationCidrBlock") == "0.0.0.0/0"],
        "security_groups": [name for name, _ in by_type.get("AWS::EC2::SecurityGroup", [])],
    }


def secure_network():
    """Lab 06's VPC: private subnets, no way out to the internet, VPC endpoints for the AWS APIs."""
    data = network_data()
    interface = [service for service, kind in data["endpoints"] if kind == "Interface"]
    gateway = [service for service, kind in data["endpoints"] if kind != "Interface"]
    height = max(5.6, 3.2 + 0.42 * len(interface))
    figure, ax = _canvas(12, height)
    ax.text(0.2, height - 0.4, "Lab 06: a VPC with no way to the internet (drawn from templates/network.yaml)",
            fontsize=12.5, weight="bold")
    vpc_top = height - 0.9
    _box(ax, 1.9, 0.5, 6.6, vpc_top - 0.5, "", "#f7fbff")
    ax.text(2.05, vpc_top - 0.3, f"VPC {data['vpc_cidr']}  (DNS support and host names on)", fontsize=9,
            weight="bold")
    n = len(data["subnets"])
    sub_h = (vpc_top - 2.1) / max(n, 1)
    for i, (name, cidr) in enumerate(data["subnets"]):
        y = vpc_top - 0.55 - (i + 1) * sub_h + 0.1
        _box(ax, 2.1, y, 3.0, sub_h - 0.2, f"{name}  {cidr}\nno public IPs\n\nStudio apps, notebooks,\ntraining and "
             "processing jobs\n(workload security group)", BLUE, 7.5)
    _box(ax, 2.1, 0.65, 3.0, 0.75, "route table: local route\n+ S3 gateway endpoint only", GREY, 7.5)
    ep_h = 0.36
    ep_top = vpc_top - 0.7
    ax.text(6.8, ep_top + 0.05, "interface endpoints (443 from\nthe workload group only)", ha="center", fontsize=7.5)
    for i, service in enumerate(interface):
        y = ep_top - (i + 1) * (ep_h + 0.06)
        _box(ax, 5.5, y, 2.6, ep_h, service, ORANGE, 7.5)
        _arrow(ax, (8.1, y + ep_h / 2), (9.0, y + ep_h / 2))
    for i, service in enumerate(gateway):
        y = 0.65 + i * 0.5
        _box(ax, 5.5, y, 2.6, 0.4, f"{service} (gateway endpoint)\npolicy: the lab bucket + ECR layers", GREEN, 7)
        _arrow(ax, (8.1, y + 0.2), (9.0, y + 0.2))
    _arrow(ax, (5.1, vpc_top - 1.2), (5.5, vpc_top - 1.2))
    _box(ax, 9.0, 0.6, 2.8, vpc_top - 1.0, "the AWS services\nthe endpoints name,\nreached over AWS's\nnetwork, never the\ninternet", GREY, 8.5)
    no_way = "none in the template" if not data["internet_paths"] else ", ".join(data["internet_paths"])
    _box(ax, 0.1, vpc_top / 2 - 0.8, 1.6, 1.6, f"Internet\n\nno internet gateway,\nno NAT gateway,\nno 0.0.0.0/0 route\n"
         f"({no_way})", "#f8d7da", 7)
    ax.plot([1.7, 2.1], [vpc_top / 2 + 0.2, vpc_top / 2 - 0.2], color="#b03030", linewidth=2)
    ax.plot([1.7, 2.1], [vpc_top / 2 - 0.2, vpc_top / 2 + 0.2], color="#b03030", linewidth=2)
    figure.tight_layout()
    return figure


DIAGRAMS = {
    "byoc_opt_ml_contract": opt_ml_contract,
    "byoc_request_flow": request_flow,
    "modes_local_vs_aws": modes,
    "image_family": image_family,
    "secure_network": secure_network,
}


def write_all(folder=None):
    """Draw every diagram into FOLDER (default images/); returns the files written."""
    folder = Path(folder) if folder else IMAGES
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in DIAGRAMS.items():
        figure = draw()
        target = folder / f"{name}.png"
        figure.savefig(target, dpi=110)
        plt.close(figure)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_all(sys.argv[1] if len(sys.argv) > 1 else None):
        print(path)
