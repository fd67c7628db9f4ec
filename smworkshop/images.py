"""Container images, built offline: a base image, a wheelhouse, and a build that runs only when needed.

- Base: python:3.11-slim-bookworm when it is present or can be pulled; otherwise an equivalent
  Debian bookworm image made here with debootstrap + `docker import` (no registry needed).
- Python packages: the host's pip downloads wheels for the image's Python and platform into
  containers/NAME/wheelhouse/, and the Dockerfile installs them with --no-index. The same trick
  builds images for VPC-only SageMaker environments that have no internet.
- Rebuild: an image carries a hash of its inputs in a label; the same inputs mean no build at all.
- PyTorch: on PyPI the Linux `torch` wheel is the CUDA build (GBs with its nvidia-* packages). Set
  WORKSHOP_TORCH_INDEX=https://download.pytorch.org/whl/cpu (the default inside SageMaker, where a space
  may have 5 GB) and the CPU-only build is taken instead: `torch==2.13.0` admits `2.13.0+cpu`.
- Studio: builds use the `sagemaker` network there (engine.rules()).
- aws mode: push the local image to Amazon ECR and return the URI SageMaker pulls.
"""
import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import engine, mode
from .paths import BUILD, CONTAINERS

PULLED_BASE = "python:3.11-slim-bookworm"
LOCAL_BASE = "sagemaker-workshop/bookworm-python:3.11"
IMAGE_PREFIX = "sagemaker-workshop"
INPUTS_LABEL = "workshop.inputs-sha256"
IMAGE_PYTHON = "3.11"  # both bases run Python 3.11; wheels are chosen for it
DEBIAN_MIRROR = os.environ.get("WORKSHOP_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Newest first: the first tag with a wheel wins (2_28 first keeps the wheels the images were tested with).
# pip matches only the platform tags it is given, and does not expand the legacy aliases either: xgboost 1.7
# ships as manylinux2014 (the old name of manylinux_2_17), so that name is listed too.
MANYLINUX_TAGS = ("manylinux_2_28", "manylinux_2_27", "manylinux_2_24", "manylinux_2_17", "manylinux2014")
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
NOT_BUILD_INPUTS = {"wheelhouse", "__pycache__", ".pytest_cache", "README.md", "local_test"}


class BuildError(RuntimeError):
    pass


def local_tag(name):
    return f"{IMAGE_PREFIX}/{name}:latest"


def _docker(*args, check=True, capture=True, **kwargs):
    result = subprocess.run(["docker", *args], capture_output=capture, text=True, **kwargs)
    if check and result.returncode != 0:
        raise BuildError(f"`docker {' '.join(args)}` failed:\n{(result.stderr or '')[-3000:]}")
    return result


def image_id(tag):
    result = _docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def image_label(tag, label):
    result = _docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag, check=False)
    if result.returncode != 0:
        return None
    return (json.loads(result.stdout) or {}).get(label)


def _stream(cmd, prefix, env=None):
    """Run a slow command, echoing its output as progress; keep the tail for the error."""
    started = time.monotonic()
    tail = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-40:]
            if line.startswith("Step ") or line.startswith("Successfully") or "ERROR" in line:
                print(f"  {prefix} {line}", flush=True)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd[:3])} ... failed (exit {proc.returncode}):\n" + "\n".join(tail))
    return time.monotonic() - started


# ---- base image ---------------------------------------------------------------------------------

def base_image(say=print):
    """The name of a Python 3.11 Debian bookworm base image, making one if needed."""
    for name in (PULLED_BASE, LOCAL_BASE):
        if image_id(name):
            return name
    say(f"pulling {PULLED_BASE} ...")
    try:
        if _docker("pull", PULLED_BASE, check=False, timeout=600).returncode == 0:
            return PULLED_BASE
    except subprocess.TimeoutExpired:
        say("the registry did not answer within 10 minutes")
    say(f"no registry reachable: making {LOCAL_BASE} with debootstrap (about a minute)")
    _debootstrap_base(LOCAL_BASE, say)
    return LOCAL_BASE


def _debootstrap_base(tag, say):
    if not shutil.which("debootstrap"):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise BuildError(
                f"cannot pull {PULLED_BASE} and debootstrap is not installed: pull the base image "
                "once where a registry is reachable, or install debootstrap"
            )
        subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=True, capture_output=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    BUILD.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD, prefix="rootfs-") as rootfs:
        cmd = ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
               "bookworm", rootfs, DEBIAN_MIRROR]
        seconds = _stream(cmd, "debootstrap")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in Path(rootfs, junk).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        changes = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "ENV LANG=C.UTF-8", 'CMD ["python3"]']
        args = ["docker", "import"] + [a for c in changes for a in ("--change", c)] + ["-", tag]
        subprocess.run(args, stdin=tar.stdout, check=True, capture_output=True)
        tar.wait()
    say(f"made {tag} in {seconds:.0f} s")


# ---- wheelhouse ---------------------------------------------------------------------------------

def _platform():
    arch = _docker("info", "--format", "{{.Architecture}}").stdout.strip()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(arch, arch)


def torch_index():
    """The extra package index for PyTorch's CPU-only build, or None (WORKSHOP_TORCH_INDEX; '' = off)."""
    chosen = os.environ.get("WORKSHOP_TORCH_INDEX")
    if chosen is None:
        return CPU_TORCH_INDEX if mode.in_sagemaker() else None
    return chosen.strip() or None


def index_args():
    index = torch_index()
    return ["--extra-index-url", index] if index else []


def fill_wheelhouse(context, say=print):
    """Download wheels for the image's Python and platform into CONTEXT/wheelhouse."""
    requirements = Path(context) / "requirements.txt"
    constraints = Path(context) / "requirements.lock"  # optional: pins for everything requirements pull in
    wheelhouse = Path(context) / "wheelhouse"
    if not requirements.exists():
        return wheelhouse
    wheelhouse.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:", "--implementation", "cp", "--python-version", IMAGE_PYTHON,
           # pip matches only the platforms it is given: bookworm's glibc (2.36) runs all of these
           *[arg for tag in MANYLINUX_TAGS for arg in ("--platform", f"{tag}_{_platform()}")],
           *index_args(), "-r", str(requirements), *(["-c", str(constraints)] if constraints.exists() else []),
           "-d", str(wheelhouse)]
    say(f"  wheelhouse: pip download for Python {IMAGE_PYTHON} / {_platform()} ...")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip download failed for {requirements}:\n{result.stderr[-3000:]}")
    # optional: packages an image installs with --no-deps (their declared dependencies are not wanted)
    no_deps = Path(context) / "requirements-no-deps.txt"
    if no_deps.exists():
        cmd = [*cmd[:cmd.index("-r")], "--no-deps", "-r", str(no_deps), "-d", str(wheelhouse)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"pip download failed for {no_deps}:\n{result.stderr[-3000:]}")
    return wheelhouse


# ---- build --------------------------------------------------------------------------------------

def inputs_hash(context, parents):
    """Hash of everything that goes into the image (files and parent image IDs): same hash, no build."""
    digest = hashlib.sha256(f"parents={parents}\n".encode())
    for path in sorted(Path(context).rglob("*")):
        relative = path.relative_to(context)
        if path.is_file() and not NOT_BUILD_INPUTS.intersection(relative.parts):
            digest.update(f"{relative.as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


PARENT_ARG = re.compile(rf"^ARG\s+(\w+)={IMAGE_PREFIX}/([\w.-]+):latest\s*$", re.MULTILINE)


def parent_images(context):
    """The workshop images a Dockerfile builds on: `ARG X=sagemaker-workshop/NAME:latest` where
    containers/NAME exists, as {build arg: container name}. The Dockerfile is the one place that says so."""
    dockerfile = (Path(context) / "Dockerfile").read_text()
    return {arg: name for arg, name in PARENT_ARG.findall(dockerfile) if (CONTAINERS / name / "Dockerfile").exists()}


def build(name, extra_tags=(), context=None, build_args=None, force=False, say=print):
    """Build CONTEXT (default containers/NAME) as sagemaker-workshop/NAME:latest unless up to date.

    Parent images the Dockerfile names (see parent_images) are built first, the same way.
    BUILD_ARGS may name other images (e.g. a parent image); their IDs count as inputs too.
    FORCE builds even when the inputs are unchanged (the layer cache still applies).
    """
    context = Path(context) if context else CONTAINERS / name
    if not (context / "Dockerfile").exists():
        raise BuildError(f"no Dockerfile in {context}")
    tag = local_tag(name)
    parents = {arg: build(parent, say=say) for arg, parent in parent_images(context).items()
               if arg not in (build_args or {})}
    args = {"BASE_IMAGE": base_image(say), **parents, **(build_args or {})}
    wanted = inputs_hash(context, " ".join(f"{k}={image_id(v) or v}" for k, v in sorted(args.items())))
    build_args = [flag for key, value in args.items() for flag in ("--build-arg", f"{key}={value}")]
    cmd = ["docker", "build", *engine.rules().network_args(), *build_args, "--label", f"{INPUTS_LABEL}={wanted}",
           "-t", tag, str(context)]
    if not force and image_label(tag, INPUTS_LABEL) == wanted:
        for extra in extra_tags:
            _docker("tag", tag, extra)
        say(f"image {tag} is up to date; it was built by\n  $ DOCKER_BUILDKIT=0 {shlex.join(cmd)}")
        return tag
    say(f"building {tag} (inputs changed or image missing):\n  $ DOCKER_BUILDKIT=0 {shlex.join(cmd)}")
    fill_wheelhouse(context, say)
    # The classic builder works with every engine this workshop meets (Debian's 20.10 included).
    seconds = _stream(cmd, name, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    for extra in extra_tags:
        _docker("tag", tag, extra)
    say(f"built {tag} in {seconds:.0f} s")
    return tag


# ---- local twins of AWS-managed images ----------------------------------------------------------------
# (framework, version, image scope) -> the folder under containers/ whose image honours that AWS image's
# contract. Each twin's README says which contract and where it differs; its tests cite the sources.
TWINS = {("xgboost", "1.7-1", None): "xgboost-1.7-1",
         ("clarify", "1.0", None): "clarify-1.0",
         ("pytorch", "2.5", "training"): "pytorch-2.5-training",
         ("pytorch", "2.5", "inference"): "pytorch-2.5-inference",
         ("tensorflow", "2.18", "training"): "tensorflow-2.18-training",
         ("tensorflow", "2.18", "inference"): "tensorflow-2.18-inference",
         ("mxnet", "1.9", "training"): "mxnet-1.9-training",
         ("mxnet", "1.9", "inference"): "mxnet-1.9-inference"}
TWIN_REGIONS = ("us-east-1",)  # tagged for these regions as well as the session's


def aws_image_uri(framework, region, version, **retrieve_args):
    """The image URI the pinned SageMaker SDK gives for an AWS-managed image (no network needed)."""
    from sagemaker.core import image_uris

    return image_uris.retrieve(framework, region, version, **retrieve_args)


def twin_container(framework, version, image_scope=None):
    try:
        return TWINS[(framework, version, image_scope)]
    except KeyError:
        known = ", ".join(f"{f} {v}" + (f" ({s})" if s else "") for f, v, s in TWINS)
        raise BuildError(f"the workshop has no local twin of {framework} {version}"
                         f"{f' ({image_scope})' if image_scope else ''}; twins exist for: {known}") from None


def twin_of(uri):
    """The containers/ folder of the twin of the AWS image URI (as image_uris.retrieve gives it): found by the
    image's repository and version, e.g. .../pytorch-training:2.5-cpu-py311 -> pytorch-2.5-training."""
    repository, _, tag = uri.rsplit("/", 1)[-1].partition(":")
    version = tag.split("-cpu")[0]
    named = {"xgboost": "sagemaker-xgboost", "clarify": "sagemaker-clarify-processing"}
    for (framework, twin_version, scope), container in TWINS.items():
        if (repository, version) == (f"{framework}-{scope}" if scope else named[framework], twin_version):
            return container
    known = ", ".join(f"{f} {v}" + (f" ({s})" if s else "") for f, v, s in TWINS)
    raise BuildError(f"the workshop has no local twin of {uri}; twins exist for: {known}")


def build_twin(framework, version, region, say=print, **retrieve_args):
    """Build the twin of an AWS image and tag it with the URIs the SDK returns for it (us-east-1 and REGION),
    so local mode finds it under the real name and never tries to pull. Returns the URI for REGION."""
    container = twin_container(framework, version, retrieve_args.get("image_scope"))
    uris = [aws_image_uri(framework, r, version, **retrieve_args) for r in dict.fromkeys((*TWIN_REGIONS, region))]
    build(container, extra_tags=uris, say=say)
    return uris[-1]


def project_images():
    """IDs of every image this repository built (they carry the inputs label), base included."""
    out = _docker("images", "-q", "--no-trunc", "--filter", f"label={INPUTS_LABEL}").stdout.split()
    base = image_id(LOCAL_BASE)
    return sorted(set(out) | ({base} if base else set()))


def with_descendants(ids):
    """IDS and every image built on top of them (the classic builder's cached steps included), children
    first: `docker rmi -f` still refuses an image that has children, so parents must go last."""
    every = sorted(set(_docker("images", "-a", "-q", "--no-trunc").stdout.split()))
    if not every:
        return []
    inspected = _docker("image", "inspect", "--format", "{{.Id}} {{.Parent}}", *every).stdout.splitlines()
    parent_of = {image: parent for image, _, parent in (line.partition(" ") for line in inspected)}
    wanted, chosen = set(ids), {}
    for image in parent_of:
        chain, step = [], image
        while step:
            chain.append(step)
            step = parent_of.get(step, "").strip()
        if wanted.intersection(chain):
            chosen[image] = len(chain)  # a child's chain is longer than its parent's
    return sorted(chosen, key=lambda image: (-chosen[image], image))


def remove_project_images(say=print):
    """Remove the workshop's images, their build cache and its made base, so the next build is a cold one.
    Says what could not be removed (an image a container still uses, say) instead of hiding it."""
    ordered = with_descendants(project_images())
    result = _docker("rmi", "-f", *ordered, check=False) if ordered else None
    left = project_images()
    say(f"removed {len(ordered) - len(left)} image(s)" + (
        f"; {len(left)} could not be removed:\n{result.stderr.strip()[-2000:]}" if left and result else ""))
    return left


# ---- aws mode: Amazon ECR -----------------------------------------------------------------------

def _ecr_login(ecr, docker, registry=None):
    """`docker login` with an ECR token to REGISTRY (default: the account's own registry); returns it.
    One token opens every ECR registry the caller may pull from, AWS's image accounts included."""
    auth = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(auth["authorizationToken"]).decode().split(":", 1)
    registry = registry or auth["proxyEndpoint"].split("://", 1)[-1]
    docker("login", "--username", user, "--password-stdin", registry, input=password)
    return registry


def login_to_aws_image_registry(image_uri, region, ecr_client=None, docker=_docker, say=print):
    """Log Docker in to the ECR registry of an AWS-managed image (e.g. 763104351884 for the Deep Learning
    Containers), so that a Dockerfile can build FROM it. Needs credentials allowed to pull from it."""
    import boto3

    registry = image_uri.split("/", 1)[0]
    if ".dkr.ecr." not in registry:
        raise BuildError(f"{image_uri} is not an Amazon ECR image URI")
    _ecr_login(ecr_client or boto3.client("ecr", region_name=region), docker, registry)
    say(f"docker is logged in to {registry}")
    return registry


def push_to_ecr(name, region, ecr_client=None, docker=_docker, tags=(), local_image=None, say=print):
    """Push LOCAL_IMAGE (default: the local tag of NAME) to ECR repository sagemaker-workshop/NAME,
    creating it once with TAGS, and return the pushed URI.

    Tags the image with its input hash, so an endpoint pins exactly what was built.
    """
    import boto3

    ecr = ecr_client or boto3.client("ecr", region_name=region)
    repository = f"{IMAGE_PREFIX}/{name}"
    # Each step is said as the AWS CLI / docker command it does (boto3 here, so no AWS CLI is needed).
    say(f"$ aws ecr create-repository --region {region} --repository-name {repository} "
        "--image-scanning-configuration scanOnPush=true --encryption-configuration encryptionType=AES256")
    try:
        ecr.create_repository(repositoryName=repository,
                              imageScanningConfiguration={"scanOnPush": True},
                              encryptionConfiguration={"encryptionType": "AES256"},
                              **({"tags": list(tags)} if tags else {}))
        say(f"created ECR repository {repository}")
    except ecr.exceptions.RepositoryAlreadyExistsException:
        say(f"ECR repository {repository} exists already")
    registry = _ecr_login(ecr, docker)
    say(f"$ aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {registry}")
    local_image = local_image or local_tag(name)
    version = (image_label(local_image, INPUTS_LABEL) or "latest")[:12]
    uri = f"{registry}/{repository}:{version}"
    say(f"$ docker tag {local_image} {uri}")
    docker("tag", local_image, uri)
    say(f"$ docker push {uri}")
    docker("push", uri)
    return uri
