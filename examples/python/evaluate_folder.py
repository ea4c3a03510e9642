#!/usr/bin/python3
"""Evaluates a compiled .bin on every .npy in a folder with the Python module, the way one runs a validation set
through HB_ONNXRuntime on the host: a progress bar, per-output statistics, and with --reference-dir (a file of the
same name per input, for a one-output model) the cosine similarity and max |diff| against it.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/evaluate_folder.py MODEL.bin FOLDER [--reference-dir D]
"""
import argparse
import glob
import os
import sys
import time

import numpy as np

import bpu_mapper


def progress(done, total, started):
    width = 30
    filled = width * done // max(total, 1)
    rate = done / max(time.time() - started, 1e-9)
    sys.stderr.write("\r[%s%s] %d/%d  %.1f inputs/s" % ("#" * filled, "." * (width - filled), done, total, rate))
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("folder")
    ap.add_argument("--pattern", default="*.npy", help="input files in FOLDER (default *.npy)")
    ap.add_argument("--reference-dir", help="reference output per input file, same file name")
    ap.add_argument("--threads", type=int, default=0, help="simulator threads, 0 = all cores")
    args = ap.parse_args()

    model = bpu_mapper.Model(args.model)
    model.set_threads(args.threads)
    if len(model.inputs) != 1:
        sys.exit("ERROR this example feeds one-input models; '%s' has %d inputs" % (args.model, len(model.inputs)))
    name = model.inputs[0]["name"]
    files = sorted(glob.glob(os.path.join(args.folder, args.pattern)))
    if not files:
        sys.exit("ERROR no file matches '%s' in '%s'" % (args.pattern, args.folder))
    stats = {o["name"]: [] for o in model.outputs}
    cosines, diffs = [], []
    started = time.time()
    for k, path in enumerate(files):
        outputs = model.run({name: np.load(path)})
        for out_name, value in outputs.items():
            stats[out_name].append((float(value.min()), float(value.max()), float(value.mean())))
        if args.reference_dir:
            ref = np.load(os.path.join(args.reference_dir, os.path.basename(path)))
            value = next(iter(outputs.values()))
            cosines.append(cosine(value, ref))
            diffs.append(float(np.abs(value - ref.reshape(value.shape)).max()))
        progress(k + 1, len(files), started)
    print("evaluated %d inputs in %.2f s" % (len(files), time.time() - started))
    for out_name, rows in stats.items():
        rows = np.array(rows)
        print("output %s: min %.6f max %.6f mean %.6f" % (out_name, rows[:, 0].min(), rows[:, 1].max(), rows[:, 2].mean()))
    if cosines:
        print("vs reference: mean cosine %.8f, worst cosine %.8f, max |diff| %.6g" % (np.mean(cosines), min(cosines), max(diffs)))


if __name__ == "__main__":
    main()
