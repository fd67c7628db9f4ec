"""Make and show an /opt/ml tree on the host, exactly as SageMaker lays it out for a training job.

Mounting such a folder at /opt/ml lets you run a training container by hand (`docker run`),
which is the fastest way to debug the contract before any SageMaker API is involved.
"""
import json
import shutil
from pathlib import Path


def prepare(root, hyperparameters=None, channels=None, instance_type="local"):
    """Write input/config/*.json and copy each channel's files to input/data/<channel>/.

    Hyperparameter values are written as strings, as SageMaker does.
    """
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    config = root / "input" / "config"
    config.mkdir(parents=True)
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (hyperparameters or {}).items()}
    (config / "hyperparameters.json").write_text(json.dumps(values, indent=2))
    (config / "inputdataconfig.json").write_text(json.dumps(
        {name: {"TrainingInputMode": "File", "ContentType": "text/csv"} for name in channels or {}}, indent=2))
    (config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"], "current_instance_type": instance_type}, indent=2))
    for name, source in (channels or {}).items():
        target = root / "input" / "data" / name
        source = Path(source)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.mkdir(parents=True)
            shutil.copy2(source, target / source.name)
    for folder in ("model", "output"):
        (root / folder).mkdir()
    return root


def tree(root):
    """The folders and files under ROOT as an indented listing (sizes left out: they vary)."""
    root = Path(root)
    lines = [f"{root.name}/"]

    def walk(folder, depth):
        for path in sorted(folder.iterdir()):
            lines.append("    " * depth + path.name + ("/" if path.is_dir() else ""))
            if path.is_dir():
                walk(path, depth + 1)

    walk(root, 1)
    return "\n".join(lines)
