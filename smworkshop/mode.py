"""Which mode a lab runs in: `local` (SageMaker local mode on Docker) or `aws` (the real service)."""
import os
from pathlib import Path

MODES = ("local", "aws")
# SageMaker Studio apps carry this file; outside Studio it is absent.
STUDIO_METADATA = Path("/opt/ml/metadata/resource-metadata.json")


def in_studio(metadata=STUDIO_METADATA):
    return metadata.exists()


def resolve(mode="auto", metadata=STUDIO_METADATA):
    """`auto` means aws inside SageMaker Studio and local everywhere else; WORKSHOP_MODE overrides auto."""
    chosen = (mode or "auto").strip().lower()
    if chosen == "auto":
        chosen = os.environ.get("WORKSHOP_MODE", "").strip().lower() or ("aws" if in_studio(metadata) else "local")
    if chosen not in MODES:
        raise ValueError(f"MODE must be 'auto', 'local' or 'aws', not {mode!r}")
    return chosen
