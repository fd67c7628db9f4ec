"""Where things live: the repository, its build folder, and a workspace local mode may mount."""
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTAINERS = REPO / "containers"
LABS = REPO / "labs"
BUILD = Path(os.environ.get("WORKSHOP_BUILD_DIR", REPO / "build"))
OUTPUT = BUILD / "output"

# SageMaker local mode refuses to bind-mount these host folders into a container
# (sagemaker.core.local.utils), so data and job roots must live elsewhere.
REFUSED_MOUNT_PREFIXES = ("/root", "/etc", "/var/lib", "/usr", "/bin", "/sbin", "/boot", "/proc", "/sys", "/dev")


def mountable(path):
    resolved = str(Path(path).resolve())
    return not any(resolved == p or resolved.startswith(p + "/") for p in REFUSED_MOUNT_PREFIXES)


def workspace(lab=None):
    """A folder for one lab's data and local-mode job roots that Docker may mount."""
    base = Path(os.environ.get("WORKSHOP_WORKSPACE", BUILD / "workspace"))
    if not mountable(base):
        base = Path(tempfile.gettempdir()) / "sagemaker-workshop"
    path = base / lab if lab else base
    path.mkdir(parents=True, exist_ok=True)
    return path
