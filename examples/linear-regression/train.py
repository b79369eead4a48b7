#!/usr/bin/env python3
"""A small SageMaker-style training algorithm: linear regression by gradient descent.

It uses only the SageMaker contract, so it runs unchanged under SageMaker and
under trainingd: hyperparameters and data from /opt/ml/input, the model to
/opt/ml/model, a checkpoint after every epoch to /opt/ml/checkpoints (resumed
from when present), and on SIGTERM it saves the model and exits 0. The base
directory is SAGEMAKER_BASE_DIR when set (as AWS's training toolkit honours).
No network, no packages beyond the standard library.
"""
import csv
import glob
import json
import os
import signal
import sys
import time

BASE = os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml")
CONFIG = os.path.join(BASE, "input", "config")
MODEL_DIR = os.path.join(BASE, "model")
OUTPUT_DIR = os.path.join(BASE, "output")


def read_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def write_atomically(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def load_rows(channel_dir):
    rows = []
    for path in sorted(glob.glob(os.path.join(channel_dir, "**", "*.csv"), recursive=True)):
        with open(path) as f:
            for record in csv.reader(f):
                if record and not record[0].startswith("#"):
                    values = [float(v) for v in record]
                    rows.append((values[:-1], values[-1]))
    return rows


def fail(message):
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    with open(os.path.join(OUTPUT_DIR, "failure"), "w") as f:
        f.write(message)
    print(message, file=sys.stderr)
    sys.exit(2)


def main():
    hyperparameters = read_json(os.path.join(CONFIG, "hyperparameters.json"), {})
    epochs = int(hyperparameters.get("epochs", "20"))
    learning_rate = float(hyperparameters.get("learning_rate", "0.05"))
    epoch_seconds = float(hyperparameters.get("epoch_seconds", "0"))
    checkpoint_dir = read_json(os.path.join(CONFIG, "checkpointconfig.json"), {}).get(
        "LocalPath", os.path.join(BASE, "checkpoints"))
    checkpoint_path = os.path.join(checkpoint_dir, "checkpoint.json")

    rows = load_rows(os.path.join(BASE, "input", "data", "train"))
    if not rows:
        fail("no training data: the train channel has no .csv files")
    width = len(rows[0][0])

    state = read_json(checkpoint_path, None)
    if state and len(state["weights"]) == width:
        print("resuming from epoch %d" % state["epoch"], flush=True)
    else:
        state = {"epoch": 0, "weights": [0.0] * width, "bias": 0.0}

    def save_model(reason):
        write_atomically(os.path.join(MODEL_DIR, "model.json"),
                         {"weights": state["weights"], "bias": state["bias"], "epochs": state["epoch"], "reason": reason})

    def on_sigterm(signum, frame):
        print("SIGTERM: saving the model at epoch %d" % state["epoch"], flush=True)
        save_model("stopped")
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)

    while state["epoch"] < epochs:
        loss = 0.0
        gradient = [0.0] * width
        bias_gradient = 0.0
        for features, target in rows:
            error = sum(w * x for w, x in zip(state["weights"], features)) + state["bias"] - target
            loss += error * error
            for i, x in enumerate(features):
                gradient[i] += error * x
            bias_gradient += error
        n = float(len(rows))
        state["weights"] = [w - learning_rate * 2 * g / n for w, g in zip(state["weights"], gradient)]
        state["bias"] -= learning_rate * 2 * bias_gradient / n
        state["epoch"] += 1
        print("epoch=%d loss=%.6f" % (state["epoch"], loss / n), flush=True)
        write_atomically(checkpoint_path, state)
        if epoch_seconds:
            time.sleep(epoch_seconds)

    save_model("completed")
    print("model: weights=%s bias=%.4f" % (["%.4f" % w for w in state["weights"]], state["bias"]), flush=True)


if __name__ == "__main__":
    # SageMaker starts an image's entrypoint with the single argument "train".
    if len(sys.argv) > 1 and sys.argv[1] not in ("train",):
        fail("unknown command %r; this algorithm only knows 'train'" % sys.argv[1])
    main()
