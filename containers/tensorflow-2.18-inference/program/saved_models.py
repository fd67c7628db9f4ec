"""Which SavedModels the container serves, by the rule of the real image's tfs_utils.find_models: every
`saved_model.pb` whose folder is a number (a version) makes that folder's parent a model, named after the
parent's folder name. So an archive with `1/saved_model.pb` at its top serves a model called `model` (the
name of /opt/ml/model), and `<name>/1/saved_model.pb` one called `<name>`. No TensorFlow needed here."""
from pathlib import Path


def is_version(name):
    return name.isascii() and name.isdigit()


def find_models(model_dir):
    """Base paths of the models under MODEL_DIR, in a stable order (the first one is the default model)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    models = []
    for saved_model in sorted(model_dir.rglob("saved_model.pb")):
        version = saved_model.parent
        # The version folder must be inside the model directory, not the model directory itself.
        if version != model_dir and is_version(version.name) and version.parent not in models:
            models.append(version.parent)
    return models


def versions(model_path):
    """The version numbers of a model: its numeric sub-folders (leading zeros do not count)."""
    return sorted(int(entry.name) for entry in Path(model_path).iterdir() if entry.is_dir() and is_version(entry.name))


def default_model_name(models, configured="None"):
    """SAGEMAKER_TFS_DEFAULT_MODEL_NAME when set, else the name of the first model found."""
    if configured != "None":
        return configured
    return Path(models[0]).name
