"""model.tar.gz, as SageMaker hosting expects it: model files at the top, serving code under code/.

SageMaker unpacks the archive into /opt/ml/model; framework serving containers import
/opt/ml/model/code/inference.py (or SAGEMAKER_PROGRAM) from it.
"""
import tarfile
from pathlib import Path


def package(target, model_files, code_files=()):
    """Write TARGET with MODEL_FILES at the top and CODE_FILES under code/; returns TARGET."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive:
        for path in map(Path, model_files):
            archive.add(path, arcname=path.name)
        for path in map(Path, code_files):
            archive.add(path, arcname=f"code/{path.name}")
    return target


def listing(archive):
    """The archive's member names, one per line, as `tar tzf` prints them."""
    with tarfile.open(archive) as opened:
        return "\n".join(sorted(member.name for member in opened.getmembers()))
