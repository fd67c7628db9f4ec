"""Results a lab records as data, for CI and the lab runner's summary (never scraped from text)."""
import json
import os
from pathlib import Path

from .paths import BUILD


def results_dir():
    return Path(os.environ.get("WORKSHOP_RESULTS_DIR", BUILD / "results"))


def path(lab):
    return results_dir() / f"{lab}.json"


def record(lab, key_metric=None, **values):
    """Merge VALUES into the lab's results file; KEY_METRIC names the one the summary shows."""
    target = path(lab)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(target.read_text()) if target.exists() else {}
    data.update(values)
    if key_metric:
        data["key_metric"] = key_metric
    target.write_text(json.dumps(data, indent=2, sort_keys=True, default=float))
    return data


def load(lab):
    target = path(lab)
    return json.loads(target.read_text()) if target.exists() else None


def clear(lab):
    path(lab).unlink(missing_ok=True)
