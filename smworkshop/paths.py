"""Where things live: the repository, its build folder, and a workspace local mode may mount."""
import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTAINERS = REPO / "containers"
LABS = REPO / "labs"
BUILD = Path(os.environ.get("WORKSHOP_BUILD_DIR", REPO / "build"))
OUTPUT = BUILD / "output"



def mountable(path):
    """Whether SageMaker local mode will mount PATH. It refuses every path that starts, as plain text, with
    one of the SDK's sensitive paths (so /rootless too); the list is the SDK's own, asked at run time so the
    two cannot drift (sagemaker-core common_utils._SENSITIVE_SYSTEM_PATHS, checked in local/data.py)."""
    from sagemaker.core.common_utils import _SENSITIVE_SYSTEM_PATHS

    resolved = os.path.abspath(Path(path).resolve())
    return resolved == "/" or not any(resolved.startswith(p) for p in _SENSITIVE_SYSTEM_PATHS)


def workspace(lab=None):
    """A folder for one lab's data and local-mode job roots that Docker may mount."""
    base = Path(os.environ.get("WORKSHOP_WORKSPACE", BUILD / "workspace"))
    if not mountable(base):
        base = Path(tempfile.gettempdir()) / "sagemaker-workshop"
    path = base / lab if lab else base
    path.mkdir(parents=True, exist_ok=True)
    return path
