#!/usr/bin/python3
"""Measures model-zoo fixtures (scripts/gen_zoo_fixtures.py) with bpu-mapper: for each fixture folder, makertbin
(exit code, refusal message, wall time), the placement summary and the reasons of every CPU node, the .bin's
output against torch's float64 and float32 QAT goldens (exact_output / qat_output: max LSB, cosine) via
`bpu-mapper run`, and `bpu-mapper verify --exact --tolerance-lsb 0` and `--isolated` against the QAT ONNX. Prints one Markdown table row per fixture and, below, the CPU placement
reasons. Needs python3-numpy and python3-onnx only (no torch).
Usage: zoo_measure.py BPU_MAPPER WORK_DIR FIXTURE_DIR [FIXTURE_DIR ...]"""
import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper


def output_scales(model_path):
    """graph output name -> scale of the DequantizeLinear producing it (None for a float output)."""
    model = onnx.load(model_path)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    for n in model.graph.node:  # Constant and Identity chains
        if n.op_type == "Constant":
            inits[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for n in model.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    scales = {}
    for out in model.graph.output:
        node = producer.get(out.name)
        ok = node is not None and node.op_type == "DequantizeLinear" and node.input[1] in inits
        scales[out.name] = float(inits[node.input[1]].reshape(-1)[0]) if ok else None
    return scales, model.graph.input[0].name


def run(cmd, cwd=None):
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout, time.monotonic() - t0


def error_line(log):
    lines = [l for l in log.splitlines() if re.search(r"\berror\b|\bE\b|fatal", l, re.I)]
    return (lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else "").strip()


def compile_fixture(binary, fixture, work):
    name = os.path.basename(fixture.rstrip("/"))
    os.makedirs(work, exist_ok=True)
    config = open(os.path.join(fixture, "config.yaml")).read()
    config = config.replace("'model.onnx'", repr(os.path.abspath(os.path.join(fixture, "model.onnx"))))
    config = config.replace("'model_output'", repr(os.path.join(work, "out")))
    cfg = os.path.join(work, "config.yaml")
    open(cfg, "w").write(config)
    # Through a shell that forks it: a process exec'd straight from this one inherits this one's peak RSS, which
    # the log's "peak memory" (getrusage) would report.
    rc, log, wall = run(["sh", "-c", '"$@"; rc=$?; exit $rc', "sh", binary, "makertbin", "-c", cfg, "--model-type",
                         "onnx"], cwd=work)
    return name, rc, log, wall


def compare_outputs(binary, fixture, work, name, kind="qat"):
    """Run the .bin on input_0.npy; per output max |diff| in output LSBs and cosine against torch's golden:
    kind "qat" its float32 run (qat_output), "exact" its float64 run (exact_output); None when not written."""
    if not glob.glob(os.path.join(fixture, f"{kind}_output*_0.npy")):
        return None, None
    scales, input_name = output_scales(os.path.join(fixture, "model.onnx"))
    bin_path = os.path.join(work, "out", name + ".bin")
    rc, log, _ = run([binary, "run", "--model", bin_path, "--input", os.path.join(fixture, "input_0.npy"),
                      "--output-dir", os.path.join(work, "run")])
    if rc != 0:
        return f"run exit {rc}: {error_line(log)}", {}
    result = {}
    for out, scale in scales.items():
        golden_name = f"{kind}_output_0.npy" if len(scales) == 1 else f"{kind}_output_{out}_0.npy"
        golden = np.load(os.path.join(fixture, golden_name)).astype(np.float64).ravel()
        got = np.load(os.path.join(work, "run", out.replace("/", "_") + ".npy")).astype(np.float64).ravel()
        diff = np.abs(got - golden)
        cos = float(np.dot(got, golden) / (np.linalg.norm(got) * np.linalg.norm(golden) + 1e-30))
        if scale:
            lsb = np.rint(diff / scale)
            result[out] = f"{int(lsb.max())} LSB ({int((lsb > 0).sum())}/{lsb.size} off), cos {cos:.6f}"
        else:
            result[out] = f"float: max abs diff {diff.max():.3g} (max abs ref {np.abs(golden).max():.3g}), cos {cos:.6f}"
    return None, result


def verify(binary, fixture, work, name, isolated):
    _, input_name = output_scales(os.path.join(fixture, "model.onnx"))
    cmd = [binary, "verify", "--model", os.path.join(work, "out", name + ".bin"), "--onnx",
           os.path.join(fixture, "model.onnx"), "--input", f"{input_name}={os.path.join(fixture, 'input_0.npy')}"]
    rc, log, _ = run(cmd + {"isolated": ["--isolated"], "exact": ["--exact", "--tolerance-lsb", "0"]}.get(isolated, []))
    if isolated == "exact":  # the summed node counts: .bin vs exact; torch's float32 run vs exact
        m = re.search(r"node outputs \([0-9]+ quantized tensors\): \.bin vs exact: ([0-9]+) of ([0-9]+) codes differ "
                      r"\(max ([0-9]+) LSB\); float32 QAT vs exact: ([0-9]+) of [0-9]+ codes differ \(max ([0-9]+) LSB\)", log)
        if not m:
            return f"exit {rc}: {error_line(log)}"
        return (f"{'pass' if rc == 0 else f'exit {rc}'}: .bin {m.group(1)}/{m.group(2)}"
                + (f" (max {m.group(3)})" if m.group(1) != "0" else "")
                + f"; float32 {m.group(4)}/{m.group(2)}" + (f" (max {m.group(5)})" if m.group(4) != "0" else ""))
    if rc == 0:
        return "pass"
    first = [l for l in log.splitlines() if "first diverging node" in l]
    return f"exit {rc}: " + (first[0].strip() if first else error_line(log))


def speed(binary, fixture, work, name):
    """One-thread median ms of `bpu-mapper run --repeat 20` and of onnxruntime-node (all optimizations) on the same
    file and input, then the .bin's two-thread median and its one-thread median on the AVX2 kernels
    (BPU_NO_AVX512=1) against the same onnxruntime figure; only with ZOO_ORT_NODE_PATH set (scripts/bench/zoo.sh
    sets it when npm is available). The four are measured in ZOO_ROUNDS alternating rounds (default 3) and each
    figure is the lowest of its round medians: on a shared host one slow round would otherwise decide a ratio."""
    node_path = os.environ.get("ZOO_ORT_NODE_PATH")
    if not node_path:
        return None
    inp = os.path.join(fixture, "input_0.npy")
    here = os.path.dirname(os.path.abspath(__file__))

    def median_ms(threads, env=None):
        p = subprocess.run([binary, "run", "--model", os.path.join(work, "out", name + ".bin"), "--input", inp,
                            "--output-dir", os.path.join(work, "speed"), "--repeat", "20", "--threads", str(threads)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, **(env or {})))
        m = re.search(r"median ([0-9.]+) ms", p.stdout)
        return float(m.group(1)) if m else None

    def ort_ms():
        p = subprocess.run(["node", os.path.join(here, "ort_latency.js"), os.path.join(fixture, "model.onnx"), inp, "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, NODE_PATH=node_path))
        m = re.search(r"ort_median_ms ([0-9.]+)", p.stdout)
        return (float(m.group(1)) if m else None), p.stdout.strip()[:60]

    def lowest(values):
        values = [v for v in values if v is not None]
        return min(values) if values else None

    rounds = [(median_ms(1), median_ms(2), median_ms(1, {"BPU_NO_AVX512": "1"}), ort_ms())
              for _ in range(int(os.environ.get("ZOO_ROUNDS", "3")))]
    ours_ms, two_ms, avx2_ms = (lowest([r[i] for r in rounds]) for i in range(3))
    o = lowest([r[3][0] for r in rounds])
    ort_text = rounds[-1][3][1]
    extra = (f"; 2 threads {two_ms:.3f}" if two_ms else "") + (f"; AVX2 {avx2_ms:.3f}" if avx2_ms else "")
    if not ours_ms:
        return "run failed"
    if o is None:
        return f"{ours_ms:.3f} / ORT n/a ({ort_text}){extra}"
    return (f"{ours_ms:.3f} / {o:.3f} = {ours_ms / o:.2f}x" + extra +
            (f" = {avx2_ms / o:.2f}x" if avx2_ms else ""))


def cpu_reasons(report):
    """(op_type, reason code) -> [count, first node's reason] over the CPU-placed nodes."""
    counts = {}
    for node in report["placement"]["nodes"]:
        if node["device"] != "BPU":
            entry = counts.setdefault((node["op_type"], node.get("reason_code", "")), [0, node.get("reason", "")])
            entry[0] += 1
    return counts


def measure(binary, work_root, fixture):
    work = os.path.join(work_root, os.path.basename(fixture.rstrip("/")))
    name, rc, log, wall = compile_fixture(binary, fixture, work)
    row = {"name": name, "exit": rc, "wall_s": wall}
    if rc != 0:
        row["error"] = error_line(log)
        return row
    report = json.load(open(glob.glob(os.path.join(work, "out", "*_report.json"))[0]))
    s = report["placement"]["summary"]
    row.update(nodes=s["nodes"], bpu=s["bpu_nodes"], cpu=s["cpu_nodes"], bpu_seg=s["bpu_segments"],
               cpu_seg=s["cpu_segments"], phases=report.get("phases_seconds", {}), reasons=cpu_reasons(report))
    peak = re.findall(r"peak memory ([0-9.]+) MiB", log)
    row["peak_mib"] = float(peak[-1]) if peak else float("nan")
    row["run_error"], row["agreement"] = compare_outputs(binary, fixture, work, name)
    row["exact_error"], row["exact_agreement"] = compare_outputs(binary, fixture, work, name, "exact")
    row["verify_exact"] = verify(binary, fixture, work, name, "exact")
    row["verify_isolated"] = verify(binary, fixture, work, name, "isolated")
    row["speed"] = speed(binary, fixture, work, name)
    return row


def print_table(rows):
    print("| network | exit | nodes | BPU share | BPU / CPU segments | makertbin wall s (compile / write / accuracy run) | peak MiB | .bin vs torch float64 | .bin vs torch float32 | verify --exact --tolerance-lsb 0: node codes off exact | verify --isolated | ms: .bin 1 thread / onnxruntime 1 thread; .bin 2 threads; .bin AVX2 1 thread |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["exit"] != 0:
            print(f"| {r['name']} | {r['exit']} | | | | {r['wall_s']:.2f} | | refused: {r['error'].replace('|', '/')} | | | | |")
            continue
        share = 100.0 * r["bpu"] / max(1, r["nodes"])
        agree = r["run_error"] or "; ".join(f"{k}: {v}" for k, v in r["agreement"].items())
        exact = r["exact_error"] or ("; ".join(f"{k}: {v}" for k, v in r["exact_agreement"].items())
                                     if r["exact_agreement"] is not None else "no golden")
        ph = r["phases"]
        comp = sum(ph.get(k, 0.0) for k in ("import", "quant", "passes", "partition", "lower"))
        times = f"{r['wall_s']:.2f} ({comp:.2f} / {ph.get('write', 0.0):.2f} / {ph.get('accuracy', 0.0):.2f})"
        print(f"| {r['name']} | 0 | {r['nodes']} | {r['bpu']}/{r['nodes']} ({share:.0f} %) | {r['bpu_seg']} / "
              f"{r['cpu_seg']} | {times} | {r['peak_mib']:.0f} | {exact} | {agree} | {r['verify_exact']} | {r['verify_isolated']} | {r['speed'] or 'not measured'} |")
    print()
    for r in rows:
        if r.get("reasons"):
            print(f"{r['name']}: CPU nodes by op and reason")
            for (op, code), (n, reason) in sorted(r["reasons"].items(), key=lambda kv: -kv[1][0]):
                print(f"  {n} x {op} [{code}], e.g. {reason}")


def main():
    binary, work_root, fixtures = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    print_table([measure(binary, work_root, f) for f in fixtures])


if __name__ == "__main__":
    main()
