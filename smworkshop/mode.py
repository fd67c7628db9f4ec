"""Which mode a lab runs in: `local` (SageMaker local mode on Docker) or `aws` (the real service),
and whether this is a SageMaker Studio app (whose Docker access has rules of its own, see engine.py)."""
import json
import os
from pathlib import Path

MODES = ("local", "aws")
# SageMaker Studio apps and notebook instances carry this file; elsewhere it is absent.
STUDIO_METADATA = Path("/opt/ml/metadata/resource-metadata.json")
# The app types the SDK treats as Studio (sagemaker.core.local.utils.STUDIO_APP_TYPES); a notebook
# instance has the file without an AppType.
STUDIO_APP_TYPES = ("KernelGateway", "CodeEditor", "JupyterLab")


def in_sagemaker(metadata=None):
    """True in a Studio app or on a notebook instance: places with AWS credentials and a role."""
    return Path(metadata or STUDIO_METADATA).exists()


def studio_app_type(metadata=None):
    """The Studio app type (JupyterLab, CodeEditor, KernelGateway), or None outside Studio."""
    try:
        app_type = json.loads(Path(metadata or STUDIO_METADATA).read_text()).get("AppType")
    except (OSError, ValueError, AttributeError):
        return None
    return app_type if app_type in STUDIO_APP_TYPES else None


def in_studio_app(metadata=None):
    return studio_app_type(metadata) is not None


def resolve(mode="auto", metadata=None):
    """`auto` means aws inside SageMaker (Studio or a notebook instance) and local everywhere else;
    WORKSHOP_MODE overrides auto."""
    chosen = (mode or "auto").strip().lower()
    if chosen == "auto":
        chosen = os.environ.get("WORKSHOP_MODE", "").strip().lower() or ("aws" if in_sagemaker(metadata) else "local")
    if chosen not in MODES:
        raise ValueError(f"MODE must be 'auto', 'local' or 'aws', not {mode!r}")
    return chosen
