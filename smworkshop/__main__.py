"""python -m smworkshop COMMAND: what ./workshop runs after preparing the Python environment."""
import argparse
import subprocess
import sys

from . import cleanup, engine, images, runner
from .paths import CONTAINERS, REPO


def setup():
    """Engine up, every image built (a no-op when nothing changed)."""
    engine.ensure()
    for dockerfile in sorted(CONTAINERS.glob("*/Dockerfile")):
        images.build(dockerfile.parent.name)


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
    args, rest = parser.parse_known_args(argv)

    if args.command == "test":
        setup()
        code = subprocess.call([sys.executable, "-m", "pytest", *rest], cwd=REPO)
        return 1 if code == 5 else code  # 5 = no tests collected: never a pass
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "setup":
        setup()
    elif args.command == "labs":
        setup()
        rows = runner.run_labs(args.names, parameters=_parse_parameters(args.parameter))
        return 0 if all(r["status"] == "passed" for r in rows) else 1
    elif args.command == "cleanup":
        engine.ensure()
        removed = cleanup.remove_workshop_containers()
        print(f"removed {len(removed)} container(s)")
    elif args.command == "remove-images":
        engine.ensure()
        images.remove_project_images()
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
