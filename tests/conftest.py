"""Shared fixtures. Tests that need Docker fail with a clear message when no engine can be had;
they never skip (a skipped contract test would let CI go green on nothing)."""
import importlib
import sys

import pytest

from smworkshop import datasets, docker_run, engine, images, opt_ml
from smworkshop.paths import CONTAINERS


@pytest.fixture(autouse=True)
def no_exit_cleanup(monkeypatch):
    """Sessions made in tests register no exit hook: a stubbed or fake client must never be called for real
    when the test process ends (notebook tests run their own kernels, where the hook stays on)."""
    from smworkshop import cleanup

    monkeypatch.setattr(cleanup, "AT_EXIT", False)


@pytest.fixture(scope="session")
def docker_engine():
    try:
        engine.ensure(say=lambda message: None)
    except engine.EngineUnavailable as err:
        pytest.fail(f"this test needs a Docker engine: {err}", pytrace=False)


@pytest.fixture(scope="session")
def image(docker_engine):
    """Build (or reuse) an image from containers/NAME: image('sklearn-byoc')."""
    def build(name):
        return images.build(name, say=lambda message: None)
    return build


@pytest.fixture(scope="session")
def iris_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iris")
    train, test = datasets.iris(folder)
    return folder, train, test


@pytest.fixture
def program_module():
    """Import a module from containers/NAME/program for unit tests without Docker.

    Container programs use short module names (model, opt_ml, ...), so they are removed from
    sys.modules afterwards to keep containers from shadowing each other.
    """
    imported = []

    def load(container, module):
        program = str(CONTAINERS / container / "program")
        sys.path.insert(0, program)
        imported.append(program)
        return importlib.import_module(module)

    before = set(sys.modules)
    yield load
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        if any(str(getattr(module, "__file__", "") or "").startswith(p) for p in imported):
            del sys.modules[name]
    for program in imported:
        sys.path.remove(program)


@pytest.fixture
def run_training(tmp_path):
    """Run `docker run IMAGE train` against a fresh /opt/ml tree; returns (code, logs, root)."""
    def run(image_tag, hyperparameters=None, channels=None):
        root = opt_ml.prepare(tmp_path / "opt_ml", hyperparameters=hyperparameters, channels=channels)
        code, logs = docker_run.train(image_tag, root)
        return code, logs, root
    return run


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory):
    """Lab 02's model, trained outside SageMaker by the lab's own script (a few epochs: seconds)."""
    from lab_runs import load_lab_module

    train_elsewhere = load_lab_module("02_bring_your_own_model", "train_elsewhere.py")
    model, held_out_accuracy = train_elsewhere.train(epochs=6)
    folder = tmp_path_factory.mktemp("digits_model")
    train_elsewhere.export(model, folder)
    _, (images, labels) = train_elsewhere.load_data()
    return {"dir": folder, "accuracy": held_out_accuracy,
            "held_out": ([image[0].numpy() for image in images], [int(label) for label in labels])}
