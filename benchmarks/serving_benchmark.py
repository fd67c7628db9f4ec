"""Serving benchmark for a workshop container (a script that prints figures, not a test).

--container sklearn-byoc (Lab 01, the default) compares, in one run on this machine:
  - workshop: containers/sklearn-byoc as shipped (gunicorn sync workers, one per core, no proxy);
  - threaded: the same image with gthread workers and keep-alive (SERVER_WORKER_CLASS=gthread), the
    alternative we measured and did not ship;
  - baseline: the same model and Flask app behind nginx + gunicorn sync workers, the layout of the
    classic scikit-learn bring-your-own-container sample (benchmarks/baseline_nginx_gunicorn_flask);
  - floor: the in-process time of parsing + predict + formatting, inside the same image.
--container xgboost-1.7-1 (Lab 04's twin of the built-in XGBoost) compares the twin as shipped with the
same booster and the same parsing/prediction code behind nginx + gunicorn + Flask, the stack AWS's
XGBoost image uses; the model is trained by the twin on the Adult data, the bodies are Adult test rows.
Load comes from wrk (Debian package; installed if missing and root) over loopback, keep-alive
connections, at concurrency 1, 8 and 32, for a 1-row and a 1,000-row CSV body.

    .venv/bin/python benchmarks/serving_benchmark.py [--container NAME] [--seconds 10]
Writes build/benchmarks/serving-<container>.json and prints a table.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from smworkshop import datasets, docker_run, engine, images, opt_ml
from smworkshop.paths import BUILD, REPO

CONCURRENCY = (1, 8, 32)
ROWS = (1, 1000)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
XGBOOST_FLOOR_CODE = """
import json, sys, timeit, statistics
sys.path.insert(0, "/opt/program")
import predictions
model = predictions.load("/opt/ml/model")
def answer(body):
    dtest, kind = predictions.parse(body, "text/csv")
    return predictions.encode(predictions.predict(model, dtest, kind), "text/csv", False)
out = {}
for rows in (1, 1000):
    body = open(f"/bench/body_{rows}.csv", "rb").read()
    number = 500 if rows == 1 else 20
    runs = [t / number * 1000 for t in timeit.Timer(lambda: answer(body)).repeat(repeat=5, number=number)]
    out[rows] = statistics.median(runs)
print(json.dumps(out))
"""
FLOOR_CODE = """
import json, sys, timeit, statistics
sys.path.insert(0, "/opt/program")
import model
from pathlib import Path
tree, info = model.load(Path("/opt/ml/model"))
out = {}
for rows in (1, 1000):
    body = open(f"/bench/body_{rows}.csv").read()
    timer = timeit.Timer(lambda: model.predict_csv(tree, info, body))
    number = 2000 if rows == 1 else 50
    runs = [t / number * 1000 for t in timer.repeat(repeat=5, number=number)]
    out[rows] = statistics.median(runs)
print(json.dumps(out))
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


def prepare_sklearn(work):
    """Lab 01's image and its Flask baseline, a tree trained on Iris, Iris bodies."""
    app = images.build("sklearn-byoc")
    baseline = images.build("benchmark-baseline", context=REPO / "benchmarks" / "baseline_nginx_gunicorn_flask",
                            build_args={"APP_IMAGE": app})
    train, test = datasets.iris(work / "data")
    root = opt_ml.prepare(work / "opt_ml", {"max_leaf_nodes": 5}, {"train": work / "data" / "train"})
    threaded = {"SERVER_WORKER_CLASS": "gthread", "SERVER_KEEPALIVE_SECONDS": "75"}
    return app, root, test.iloc[:, 1:], FLOOR_CODE, (("workshop", app, {}), ("threaded", app, threaded),
                                                     ("baseline", baseline, {}))


def prepare_xgboost(work):
    """Lab 04's twin and the same code behind nginx + gunicorn + Flask, a booster trained on Adult."""
    import pandas as pd

    app = images.build("xgboost-1.7-1")
    baseline = images.build("benchmark-baseline-xgboost",
                            context=REPO / "benchmarks" / "baseline_nginx_gunicorn_flask",
                            build_args={"APP_IMAGE": app, "FLASK_APP_MODULE": "flask_xgboost"})
    adult_train, adult_test = datasets.adult()
    features, label = datasets.adult_features(pd.concat([adult_train, adult_test], ignore_index=True))
    datasets.write_label_first_csv(features.iloc[:len(adult_train)], label.iloc[:len(adult_train)],
                                   work / "data" / "train" / "adult.csv")
    root = opt_ml.prepare(work / "opt_ml", {"objective": "binary:logistic", "num_round": 100, "max_depth": 5,
                                            "eta": 0.2}, {"train": work / "data" / "train"})
    threaded = {"SERVER_WORKER_CLASS": "gthread", "SERVER_KEEPALIVE_SECONDS": "75"}
    return app, root, features.iloc[len(adult_train):], XGBOOST_FLOOR_CODE, (
        ("workshop", app, {}), ("threaded", app, threaded), ("baseline", baseline, {}))


TARGETS = {"sklearn-byoc": prepare_sklearn, "xgboost-1.7-1": prepare_xgboost}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--container", choices=sorted(TARGETS), default="sklearn-byoc")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    args = parser.parse_args()
    engine.ensure()
    ensure_wrk()
    work = Path(tempfile.mkdtemp(dir=BUILD, prefix="bench-"))
    app, root, features, floor_code, servers = TARGETS[args.container](work)
    code, logs = docker_run.train(app, root)
    if code:
        sys.exit(f"training failed:\n{logs}")
    for rows in ROWS:
        repeated = features.sample(n=rows, replace=True, random_state=rows)
        (work / f"body_{rows}.csv").write_text(datasets.to_csv_body(repeated))

    floor = json.loads(subprocess.run(
        ["docker", "run", "--rm", "-v", f"{root / 'model'}:/opt/ml/model:ro", "-v", f"{work}:/bench:ro",
         app, "python3", "-c", floor_code], capture_output=True, text=True, check=True).stdout)
    floor = {int(k): v for k, v in floor.items()}

    results = []
    for label, image, env in servers:
        with docker_run.serving(image, root / "model", env=env) as server:
            for rows in ROWS:
                wrk(server.url, work / f"body_{rows}.csv", 1, 2)  # warm-up
                for concurrency in CONCURRENCY:
                    figures = wrk(server.url, work / f"body_{rows}.csv", concurrency, args.seconds)
                    results.append({"server": label, "rows": rows, "concurrency": concurrency, **figures})
                    print(f"  {label:8} rows={rows:<5} c={concurrency:<3} {figures['rps']:9.0f} req/s  "
                          f"p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms  "
                          f"socket errors {figures['socket_errors']}", flush=True)
    shutil.rmtree(work, ignore_errors=True)

    print(f"\nServing benchmark of {args.container} ({os.cpu_count()} cores, wrk over loopback, {args.seconds} s per cell)")
    print(f"in-process floor (parse + predict + format): 1 row {floor[1]:.3f} ms, 1,000 rows {floor[1000]:.2f} ms\n")
    labels = [label for label, _, _ in servers]
    print("| rows | concurrency | " + " | ".join(f"{l} req/s" for l in labels) + " | "
          + " | ".join(f"{l} p50 / p99 ms" for l in labels) + " |")
    print("|---" * (2 + 2 * len(labels)) + "|")
    by = {(r["server"], r["rows"], r["concurrency"]): r for r in results}
    for rows in ROWS:
        for c in CONCURRENCY:
            cells = [by[l, rows, c] for l in labels]
            print(f"| {rows} | {c} | " + " | ".join(f"{r['rps']:.0f}" for r in cells) + " | "
                  + " | ".join(f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" for r in cells) + " |")
    print(f"\nnon-2xx answers: {sum(r['non_2xx'] for r in results)}; "
          f"socket errors: {sum(r['socket_errors'] for r in results)}")
    out = BUILD / "benchmarks" / f"serving-{args.container}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"floor_ms": floor, "runs": results}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
