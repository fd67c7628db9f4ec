"""Serving benchmark for a workshop container (a script that prints figures, not a test).

--container sklearn-byoc (Lab 01, the default) compares, in one run on this machine:
  - workshop: containers/sklearn-byoc as shipped;
  - threaded: the same image with gthread workers and keep-alive (SERVER_WORKER_CLASS=gthread), the
    alternative we measured and did not ship;
  - baseline: the same model and Flask app behind nginx + gunicorn sync workers, the layout of the
    classic scikit-learn bring-your-own-container sample (benchmarks/baseline_nginx_gunicorn_flask).
--container xgboost-1.7-1 (Lab 04's twin of the built-in XGBoost) compares, with a booster the twin trains
on the Adult data and Adult test rows as bodies:
  - workshop: the twin as shipped (nginx in front of gunicorn sync workers, the twin's WSGI app);
  - gevent: the same with gevent workers (SERVER_WORKER_CLASS=gevent), the worker class of AWS's image;
  - direct: gunicorn sync workers on the port, no nginx (SAGEMAKER_USE_NGINX=false);
  - baseline: the same parsing/prediction code in a Flask app behind nginx + gunicorn sync workers.
Both also measure the floor: parse + predict + format in-process, inside the same image, one process
(milliseconds per answer), then one process per core at once (answers per second: the most this
machine's cores can give, whatever the server; the cores share caches and memory bandwidth, so this is
less than cores / single-process time).
Load comes from wrk (Debian package; installed if missing and root) over loopback, keep-alive
connections, at concurrency 1, 8 and 32, for a 1-row and a 1,000-row CSV body. All servers run at once
and each cell is measured on each server in turn (REPEATS times, median), so a change in the machine's
load during the run hits every server alike. The load average is printed: run it on an idle machine.

    .venv/bin/python benchmarks/serving_benchmark.py [--container NAME] [--seconds 10] [--repeats 1]
Writes build/benchmarks/serving-<container>.json and prints a table.
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smworkshop import datasets, docker_run, engine, images, opt_ml
from smworkshop.paths import BUILD, REPO

CONCURRENCY = (1, 8, 32)
ROWS = (1, 1000)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# The floor: `answer(body)` of each target, timed in-process. "single": milliseconds per answer, one
# process; "parallel ROWS START SECONDS": answers per second of this process from START (a shared wall-clock
# time, so that one process per core runs at once) for SECONDS.
FLOOR_DRIVER = """
import json, statistics, sys, time, timeit
{setup}
bodies = {{rows: open(f"/bench/body_{{rows}}.csv", "rb").read() for rows in (1, 1000)}}
if sys.argv[1] == "single":
    out = {{}}
    for rows, body in bodies.items():
        number = 500 if rows == 1 else 20
        runs = [t / number * 1000 for t in timeit.Timer(lambda: answer(body)).repeat(repeat=5, number=number)]
        out[rows] = statistics.median(runs)
    print(json.dumps(out))
else:
    rows, start, seconds = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    body = bodies[rows]
    for _ in range(20):
        answer(body)
    time.sleep(max(0.0, start - time.time()))
    count, stop = 0, start + seconds
    while time.time() < stop:
        answer(body)
        count += 1
    print(json.dumps(count / (time.time() - start)))
"""
XGBOOST_FLOOR_SETUP = """
from sagemaker_xgboost_container.algorithm_mode import predictions
model = predictions.load("/opt/ml/model")
def answer(body):
    dtest, kind = predictions.parse(body, "text/csv")
    return predictions.encode(predictions.predict(model, dtest, kind), "text/csv", False)
"""
SKLEARN_FLOOR_SETUP = """
sys.path.insert(0, "/opt/program")
import model
from pathlib import Path
tree, info = model.load(Path("/opt/ml/model"))
def answer(body):
    return model.predict_csv(tree, info, body.decode())
"""


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        return
    sys.exit("this benchmark needs wrk (apt-get install wrk)")


def wrk(url, body_file, concurrency, seconds):
    script = Path(body_file).with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "text/csv"\n'
        f'local f = io.open("{body_file}", "r")\nwrk.body = f:read("*a")\nf:close()\n'
        'done = function(summary, latency, requests)\n'
        '  io.write(string.format("ERRORS %d %d\\n", summary.errors.status, summary.requests))\nend\n')
    threads = 1 if concurrency == 1 else 2
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--latency",
                          "-s", str(script), f"{url}/invocations"], capture_output=True, text=True, check=True).stdout
    percentiles = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    errors, total = map(int, re.search(r"ERRORS (\d+) (\d+)", out).groups())
    socket_errors = sum(map(int, re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                            (re.search(r"Socket errors:.*", out) or re.search("$", out)).group(0))))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": percentiles["50"], "p99_ms": percentiles["99"], "non_2xx": errors,
            "socket_errors": socket_errors, "requests": total}


def prepare_sklearn(work, app=None):
    """Lab 01's image and its Flask baseline, a tree trained on Iris, Iris bodies."""
    app = app or images.build("sklearn-byoc")
    baseline = images.build("benchmark-baseline", context=REPO / "benchmarks" / "baseline_nginx_gunicorn_flask",
                            build_args={"APP_IMAGE": app})
    train, test = datasets.iris(work / "data")
    root = opt_ml.prepare(work / "opt_ml", {"max_leaf_nodes": 5}, {"train": work / "data" / "train"})
    threaded = {"SERVER_WORKER_CLASS": "gthread", "SERVER_KEEPALIVE_SECONDS": "75"}
    return app, root, test.iloc[:, 1:], SKLEARN_FLOOR_SETUP, (("workshop", app, {}), ("threaded", app, threaded),
                                                              ("baseline", baseline, {}))


def prepare_xgboost(work, app=None):
    """Lab 04's twin and the same code behind nginx + gunicorn + Flask, a booster trained on Adult."""
    import pandas as pd

    app = app or images.build("xgboost-1.7-1")
    baseline = images.build("benchmark-baseline-xgboost",
                            context=REPO / "benchmarks" / "baseline_nginx_gunicorn_flask",
                            build_args={"APP_IMAGE": app, "FLASK_APP_MODULE": "flask_xgboost"})
    adult_train, adult_test = datasets.adult()
    features, label = datasets.adult_features(pd.concat([adult_train, adult_test], ignore_index=True))
    datasets.write_label_first_csv(features.iloc[:len(adult_train)], label.iloc[:len(adult_train)],
                                   work / "data" / "train" / "adult.csv")
    root = opt_ml.prepare(work / "opt_ml", {"objective": "binary:logistic", "num_round": 100, "max_depth": 5,
                                            "eta": 0.2}, {"train": work / "data" / "train"})
    return app, root, features.iloc[len(adult_train):], XGBOOST_FLOOR_SETUP, (
        ("workshop", app, {}), ("gevent", app, {"SERVER_WORKER_CLASS": "gevent"}),
        ("direct", app, {"SAGEMAKER_USE_NGINX": "false"}), ("baseline", baseline, {}))


TARGETS = {"sklearn-byoc": prepare_sklearn, "xgboost-1.7-1": prepare_xgboost}


def load_average():
    return float(Path("/proc/loadavg").read_text().split()[0])


def floor(app, root, work, setup):
    """(ms per answer in one process, answers/s of one process per core at once) for 1 and 1,000 rows."""
    run = ["docker", "run", "--rm", "-e", "OMP_NUM_THREADS=1",  # as the servers run: one thread per process
           "-v", f"{root / 'model'}:/opt/ml/model:ro", "-v", f"{work}:/bench:ro", app, "python3", "-c",
           FLOOR_DRIVER.format(setup=setup)]
    single = json.loads(subprocess.run(run + ["single"], capture_output=True, text=True, check=True).stdout)
    parallel = {}
    for rows in ROWS:
        start = time.time() + 15  # every container has started and warmed up by then
        processes = [subprocess.Popen(run + ["parallel", str(rows), str(start), "5"], stdout=subprocess.PIPE,
                                      text=True) for _ in range(os.cpu_count() or 1)]
        parallel[rows] = sum(json.loads(process.communicate()[0]) for process in processes)
    return {int(k): v for k, v in single.items()}, parallel


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--container", choices=sorted(TARGETS), default="sklearn-byoc")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each cell per server (the median counts)")
    parser.add_argument("--image", help="an image already built from containers/NAME (e.g. an older build, to "
                                        "compare before and after a change) instead of building the folder")
    args = parser.parse_args()
    engine.ensure()
    ensure_wrk()
    work = Path(tempfile.mkdtemp(dir=BUILD, prefix="bench-"))
    app, root, features, floor_setup, servers = TARGETS[args.container](work, args.image)
    code, logs = docker_run.train(app, root)
    if code:
        sys.exit(f"training failed:\n{logs}")
    for rows in ROWS:
        repeated = features.sample(n=rows, replace=True, random_state=rows)
        (work / f"body_{rows}.csv").write_text(datasets.to_csv_body(repeated))

    load_before = load_average()
    floor_ms, floor_parallel = floor(app, root, work, floor_setup)
    runs = []
    with contextlib.ExitStack() as stack:
        urls = {label: stack.enter_context(docker_run.serving(image, root / "model", env=env)).url
                for label, image, env in servers}
        for rows in ROWS:
            for url in urls.values():
                wrk(url, work / f"body_{rows}.csv", 1, 2)  # warm-up
            for concurrency in CONCURRENCY:
                for repeat in range(args.repeats):
                    order = list(urls.items()) if repeat % 2 == 0 else list(urls.items())[::-1]
                    for label, url in order:
                        figures = wrk(url, work / f"body_{rows}.csv", concurrency, args.seconds)
                        runs.append({"server": label, "rows": rows, "concurrency": concurrency, **figures})
                        print(f"  {label:8} rows={rows:<5} c={concurrency:<3} {figures['rps']:9.0f} req/s  "
                              f"p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms  "
                              f"socket errors {figures['socket_errors']}  load {load_average():.2f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)

    labels = [label for label, _, _ in servers]
    cells = {}
    for label in labels:
        for rows in ROWS:
            for c in CONCURRENCY:
                mine = [r for r in runs if (r["server"], r["rows"], r["concurrency"]) == (label, rows, c)]
                cells[label, rows, c] = {key: statistics.median(r[key] for r in mine)
                                         for key in ("rps", "p50_ms", "p99_ms")}
    print(f"\nServing benchmark of {args.container} ({os.cpu_count()} cores, wrk over loopback, {args.seconds} s "
          f"per cell, median of {args.repeats}; load average {load_before:.2f} at the start, {load_average():.2f} at the end)")
    print(f"in-process floor (parse + predict + format), one process: 1 row {floor_ms[1]:.3f} ms, 1,000 rows "
          f"{floor_ms[1000]:.2f} ms; one process per core at once: 1 row {floor_parallel[1]:.0f} answers/s, "
          f"1,000 rows {floor_parallel[1000]:.0f} answers/s (floor-bound)\n")
    print("| rows | concurrency | " + " | ".join(f"{l} req/s" for l in labels) + f" | {labels[0]} / floor-bound | "
          + " | ".join(f"{l} p50 / p99 ms" for l in labels) + " |")
    print("|---" * (3 + 2 * len(labels)) + "|")
    for rows in ROWS:
        for c in CONCURRENCY:
            row = [cells[l, rows, c] for l in labels]
            print(f"| {rows} | {c} | " + " | ".join(f"{r['rps']:.0f}" for r in row)
                  + f" | {row[0]['rps'] / floor_parallel[rows]:.0%} | "
                  + " | ".join(f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" for r in row) + " |")
    print(f"\nnon-2xx answers: {sum(r['non_2xx'] for r in runs)}; "
          f"socket errors: {sum(r['socket_errors'] for r in runs)}")
    out = BUILD / "benchmarks" / f"serving-{args.container}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"floor_ms": floor_ms, "floor_parallel_per_s": floor_parallel,
                               "load_average": [load_before, load_average()], "runs": runs}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
