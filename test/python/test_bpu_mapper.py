#!/usr/bin/python3
# Tests of the Python module `bpu_mapper` (python/bpu_mapper_py.cpp) with Debian's python3 and numpy: compiles
# the seed config (configs/seed_nonhybrid.yaml, paths pointed at a temporary folder), runs the .bin from Python
# and checks the outputs are identical, byte for byte, to `bpu-mapper run`'s; verify, check, errors, the
# folder-evaluation example. Usage: PYTHONPATH=build/python test_bpu_mapper.py BPU_MAPPER DATA_DIR
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import numpy as np

import bpu_mapper

# The CLI is its own (possibly sanitizer-linked) program: it must not inherit the ASan runtime that the sanitizer
# build preloads into this python3 (test/CMakeLists.txt).
CLI_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}

cli, data = sys.argv[1], os.path.abspath(sys.argv[2])
source = os.path.dirname(os.path.dirname(data))
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def error_code(f):
    try:
        f()
    except bpu_mapper.Error as e:
        return e.code, str(e)
    return 0, ""


with tempfile.TemporaryDirectory() as work:
    seed = open(os.path.join(source, "configs", "seed_nonhybrid.yaml")).read()
    seed = seed.replace("'../test/data/nonhybrid/model.onnx'", "'%s/nonhybrid/model.onnx'" % data)
    seed = seed.replace("'../model_output'", "'%s/out'" % work)
    config = os.path.join(work, "seed_nonhybrid.yaml")
    open(config, "w").write(seed)

    version = subprocess.run([cli, "--version"], capture_output=True, text=True, env=CLI_ENV).stdout.split()[-1]
    check(bpu_mapper.__version__ == version, "__version__ %s == bpu-mapper --version %s" % (bpu_mapper.__version__, version))

    r = bpu_mapper.compile(config)
    check(os.path.isfile(r["bin_path"]) and r["bin_path"].endswith("seed_nonhybrid.bin"), "compile returns the .bin path")
    check(len(r["placement"]) == 9 and all(p["device"] == "BPU" for p in r["placement"]), "9 placement rows, all BPU")
    check(len(r["output_accuracy"]) >= 1 and all(o["cosine"] > 0.99 for o in r["output_accuracy"]), "output accuracy table")
    check(len(r["node_accuracy"]) > 0 and "Cosine Similarity" in r["accuracy_tables"], "node accuracy table")

    model = bpu_mapper.Model(r["bin_path"])
    check([i["name"] for i in model.inputs] == ["input"], "Model.inputs names")
    check(model.inputs[0]["dtype"] == "float32" and model.inputs[0]["layout"] == "NCHW", "Model.inputs dtype and layout")
    x = np.load(os.path.join(data, "nonhybrid", "input_0.npy"))
    check(model.inputs[0]["shape"] == x.shape, "input shape %s" % (model.inputs[0]["shape"],))
    out = model.run({"input": x})
    check(sorted(out) == sorted(o["name"] for o in model.outputs), "run returns every output")

    subprocess.run([cli, "run", "--model", r["bin_path"], "--input", "input=" + os.path.join(data, "nonhybrid", "input_0.npy"),
                    "--output-dir", os.path.join(work, "cli")], check=True, capture_output=True, env=CLI_ENV)
    for o in model.outputs:
        cli_out = np.load(os.path.join(work, "cli", o["name"].replace("/", "_") + ".npy"))
        got = out[o["name"]]
        check(got.dtype == np.float32 and got.shape == tuple(o["shape"]), "output %s is float32 %s" % (o["name"], got.shape))
        check(got.tobytes() == cli_out.tobytes(), "output %s identical to bpu-mapper run" % o["name"])

    # A float64, non-contiguous input is converted once and gives the same values.
    x64 = np.asfortranarray(x.astype(np.float64))
    check(all(np.array_equal(model.run({"input": x64})[k], v) for k, v in out.items()), "float64 Fortran-order input")

    # Two models on two threads at once (run releases the GIL) give the same outputs.
    results = [None, None]
    def worker(k):
        results[k] = bpu_mapper.Model(r["bin_path"]).run({"input": x})
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    check(all(np.array_equal(res[k], v) for res in results for k, v in out.items()), "two threads, identical outputs")

    v = bpu_mapper.verify(r["bin_path"], os.path.join(data, "nonhybrid", "model.onnx"), {"input": x})
    check(v["passed"] and v["first_diverging_node"] == "" and len(v["outputs"]) >= 1, "verify passes")
    c = bpu_mapper.check(os.path.join(data, "hybrid", "model.onnx"), {"input": [1, 3, 64, 64]})
    check("BPU nodes: 5 (41.7%), CPU nodes: 7 (58.3%)" in c["placement_summary"] and c["bin_path"] == "", "check")
    e = model.estimate()
    check(e["latency_ms"] > 0 and e["bpu_segments"] == 1, "estimate")
    model.set_threads(2)
    check(all(np.array_equal(model.run({"input": x})[k], v) for k, v in out.items()), "set_threads(2), identical outputs")

    second = os.path.join(work, "second.bin")
    shutil.copyfile(r["bin_path"], second)
    packed = os.path.join(work, "packed.bin")
    check(bpu_mapper.pack([r["bin_path"], second], packed) == ["seed_nonhybrid", "second"], "pack returns the names")
    check(bpu_mapper.model_names(packed) == ["seed_nonhybrid", "second"], "model_names of a packed file")
    chosen = bpu_mapper.Model(packed, model_name="second")
    check(all(np.array_equal(chosen.run({"input": x})[k], v) for k, v in out.items()), "a packed model runs identically")
    prof = chosen.profile({"input": x}, runs=2)
    check(prof["runs"] == 2 and prof["total_ms"] > 0 and prof["csv"].startswith("index,device,segment,op,node"), "profile")
    dump = bpu_mapper.infer(packed, os.path.join(data, "nonhybrid", "model.onnx"), {"input": x}, os.path.join(work, "dump"), "second")
    paired = [row for row in dump["rows"] if row["compared"]]
    check(len(paired) >= 3 and all(row["cosine"] > 0.999 for row in paired) and os.path.isfile(dump["index_path"]), "infer")
    code, msg = error_code(lambda: bpu_mapper.Model(packed))
    check(code == 2 and "choose one with --model-name" in msg, "packed file without a name: Error code 2 (%s)" % msg)

    code, msg = error_code(lambda: bpu_mapper.Model(os.path.join(work, "none.bin")))
    check(code == 7 and "none.bin" in msg, "missing .bin: Error code 7 (%s)" % msg)
    code, msg = error_code(lambda: model.run({}))
    check(code == 2, "missing input: Error code 2 (%s)" % msg)
    code, msg = error_code(lambda: model.run({"input": np.zeros((1, 2), np.float32)}))
    check(code == 2, "wrong shape: Error code 2 (%s)" % msg)
    code, msg = error_code(lambda: bpu_mapper.compile(os.path.join(work, "none.yaml")))
    check(code == 3, "missing config: Error code 3")
    check(issubclass(bpu_mapper.Error, RuntimeError), "Error is a RuntimeError")

    # The folder-evaluation example, against the fixture's QAT outputs as references.
    ref = os.path.join(work, "ref")
    os.makedirs(ref)
    for i in range(3):
        os.symlink(os.path.join(data, "nonhybrid", "qat_output_%d.npy" % i), os.path.join(ref, "input_%d.npy" % i))
    ex = subprocess.run([sys.executable, os.path.join(source, "examples", "python", "evaluate_folder.py"), r["bin_path"],
                         os.path.join(data, "nonhybrid"), "--pattern", "input_*.npy", "--reference-dir", ref],
                        capture_output=True, text=True, env=dict(os.environ))
    print(ex.stdout, ex.stderr)
    check(ex.returncode == 0 and "3 inputs" in ex.stdout and "mean cosine" in ex.stdout, "examples/python/evaluate_folder.py")

sys.exit(1 if failures else 0)
