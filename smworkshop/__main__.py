"""python -m smworkshop COMMAND: what ./workshop runs after preparing the Python environment."""
import argparse
import os
import subprocess
import sys

from . import cleanup, engine, images, runner
from .paths import CONTAINERS, REPO

KERNEL_NAME = "sagemaker-workshop"
KERNEL_DISPLAY_NAME = "SageMaker workshop (Python 3.11)"


def setup(needs_compose=None):
    """Engine up, every image built (a no-op when nothing changed). Compose only where local mode runs."""
    engine.ensure(needs_compose=needs_compose)
    for dockerfile in sorted(CONTAINERS.glob("*/Dockerfile")):
        images.build(dockerfile.parent.name)


def register_kernel(say=print):
    """Register this environment as the Jupyter kernel the notebooks ask for (per user, no root)."""
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--user", "--name", KERNEL_NAME,
                    "--display-name", KERNEL_DISPLAY_NAME], check=True, capture_output=True)
    say(f"Jupyter kernel '{KERNEL_DISPLAY_NAME}' ({KERNEL_NAME}) runs {sys.executable}; pick it for the labs")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="workshop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="install/start the Docker engine and build every image")
    labs = sub.add_parser("labs", help="run the lab notebooks in local mode (all, or the ones named)")
    labs.add_argument("names", nargs="*", help="lab folder names or numbers, e.g. 01")
    labs.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                      help="override a notebook parameter (a Python literal), e.g. -p MAX_LEAF_NODES=8")
    sub.add_parser("test", help="run the whole test suite (pytest); extra arguments go to pytest",
                   add_help=False)
    sub.add_parser("cleanup", help="remove every container the workshop's images or runs left behind")
    sub.add_parser("remove-images", help="remove the workshop's images (for a cold build)")
    sub.add_parser("kernel", help="register this environment as the Jupyter kernel 'SageMaker workshop'")
    sub.add_parser("preflight", help="check Docker, Compose, disk, SDK, kernel and credentials; say what to fix",
                   add_help=False)
    sub.add_parser("jupyter", help="open JupyterLab on the labs with the workshop's kernel; extra arguments go "
                                   "to jupyter lab", add_help=False)
    sub.add_parser("sweep", help="list (and with --delete, delete) what the workshop created in an AWS account",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)

    if args.command == "test":
        setup(needs_compose=True)
        code = subprocess.call([sys.executable, "-m", "pytest", *rest], cwd=REPO)
        return 1 if code == 5 else code  # 5 = no tests collected: never a pass
    if args.command == "sweep":
        from . import sweep

        return sweep.main(rest)
    if args.command == "preflight":
        from . import preflight

        return preflight.main(rest)
    if args.command == "jupyter":
        try:
            engine.ensure()
        except engine.EngineUnavailable as err:  # the notebooks can still be read; running them needs Docker
            print(f"warning: {err}")
        register_kernel()
        # Jupyter refuses to start as root unless told; the workshop's own setup runs as root on a fresh machine.
        as_root = ["--allow-root"] if os.geteuid() == 0 else []
        # exec, not a child: Ctrl-C and a stop signal reach JupyterLab itself.
        os.execv(sys.executable, [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={REPO}",
                                  "--LabApp.default_url=/lab/tree/labs", *as_root, *rest])
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "setup":
        setup()
    elif args.command == "kernel":
        register_kernel()
    elif args.command == "labs":
        setup(needs_compose=True)
        rows = runner.run_labs(args.names, parameters=_parse_parameters(args.parameter))
        return 0 if all(r["status"] == "passed" for r in rows) else 1
    elif args.command == "cleanup":
        engine.ensure(needs_compose=False)
        removed = cleanup.remove_workshop_containers()
        print(f"removed {len(removed)} container(s)")
    elif args.command == "remove-images":
        engine.ensure(needs_compose=False)
        if images.remove_project_images():
            return 1  # it said which images stayed, and why
    return 0


def _parse_parameters(pairs):
    import ast

    parsed = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            parsed[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed[name] = value
    return parsed


if __name__ == "__main__":
    sys.exit(main())
