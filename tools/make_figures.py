#!/usr/bin/env python3
"""Generates the book's figures and tables (docs/figures/) from numbers the project computes.

Inputs, all committed so the figures regenerate without rebuilding anything:

- docs/figures/summary_224x224.json, summary_416x608.json: `mobilenet-unet summary --json`
  (alpha 1.0, 2 classes) at the two input sizes. `--summary-bin BIN` re-runs BIN to refresh them.
- docs/figures/bench_e2e.json: `mobilenet-unet bench --json` at both sizes, 1 and 2 threads
  (`--e2e-bin BIN` re-runs it).
- docs/figures/bench_results.json: criterion medians of the benches the book quotes, plus the
  machine (CPU model, clock from /proc/cpuinfo). `--collect DIR` rebuilds it from the
  criterion output under DIR (e.g. target-docs/criterion); `--rerun` first runs the benches
  (short runs, see BENCH_COMMANDS) with CARGO_TARGET_DIR=target-docs, then collects.

Outputs (docs/figures/): kernel_cube.svg, architecture.svg, roofline.svg, gemm_ladder.svg,
depthwise_ladder.svg, separable_vs_standard.svg, and the markdown tables the chapters include
with mdBook's {{#include}}: separable_table.md, shapes_table.md, bench_tables.md, numbers.md,
mac_shares.md.

Usage (from the repository root):

    .venv/bin/python tools/make_figures.py                       # figures from committed JSON
    .venv/bin/python tools/make_figures.py --summary-bin target/release/mobilenet-unet
    .venv/bin/python tools/make_figures.py --rerun               # re-measure (~10 min)
    .venv/bin/python tools/make_figures.py --e2e-bin target/release/mobilenet-unet   # end to end
    .venv/bin/python tools/make_figures.py --verify              # docs/src/verify_table.md
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIG = ROOT / "docs" / "figures"
SIZES = [(224, 224), (416, 608)]

# The short criterion runs the book's numbers come from (one run each, on a shared machine).
BENCH_ARGS = ["--", "--warm-up-time", "1", "--measurement-time", "2"]
BENCH_COMMANDS = [
    ["conv", "separable_vs_standard|conv/"],
    ["depthwise", ""],
    ["gemm", "^gemm/(ours|matrixmultiply|portable|reference|loop_reordered)/"],
    ["small_ops", "/avx2/"],
]

# SVGs without timestamps or random ids, so regenerating unchanged inputs changes no bytes.
plt.rcParams["svg.hashsalt"] = "mobilenet-unet-docs"
plt.rcParams["svg.fonttype"] = "none"
plt.rcParams["font.size"] = 10
SVG_META = {"Date": None, "Creator": None}


def save(fig, name):
    fig.savefig(FIG / name, metadata=SVG_META, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote docs/figures/{name}")


def write_text(name, text):
    (FIG / name).write_text(text)
    print(f"wrote docs/figures/{name}")


def thousands(v):
    return f"{v:,}"


# ---------------------------------------------------------------------------------------------
# Inputs


def refresh_summaries(binary):
    for h, w in SIZES:
        out = subprocess.run(
            [binary, "summary", "--size", f"{h}x{w}", "--json"], check=True, capture_output=True, text=True
        ).stdout
        data = json.loads(out)
        (FIG / f"summary_{h}x{w}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote docs/figures/summary_{h}x{w}.json from `{binary} summary --size {h}x{w} --json`")


def refresh_e2e(binary, runs=5):
    """End-to-end `bench --json` at both sizes with 1 and 2 threads (random weights)."""
    rows = []
    for h, w in SIZES:
        for threads in (1, 2):
            cmd = [binary, "bench", "--size", f"{h}x{w}", "--threads", str(threads), "--runs", str(runs), "--json"]
            print("running", " ".join(cmd), flush=True)
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            out["command"] = "mobilenet-unet " + " ".join(cmd[1:])
            rows.append(out)
    data = {"machine": machine(), "date": datetime.date.today().isoformat(), "runs": rows}
    (FIG / "bench_e2e.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print("wrote docs/figures/bench_e2e.json")


def e2e_table(peak):
    path = FIG / "bench_e2e.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    L = [
        "",
        f"**End to end** (`mobilenet-unet bench`, random weights, alpha 1.0, 2 classes; measured {data['date']}):",
        "",
        "| input | threads | median ms | min ms | images/s | GFLOP/s (median) | % of peak × threads |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["runs"]:
        h, w = r["size"]
        L.append(
            f"| {h}×{w} | {r['threads']} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['images_per_s']:.2f} "
            f"| {r['gflops']:.1f} | {100 * r['gflops'] / (peak * r['threads']):.0f}% |"
        )
    L += ["", "Command: `" + data["runs"][0]["command"].replace("--threads 1", "--threads N").replace("224x224", "HxW") + "`"]
    return L


def refresh_verify_table():
    """Runs the verify binary and writes its table into docs/src/verify_table.md."""
    cmd = ["cargo", "run", "--release", "-q", "-p", "mobilenet-unet-verify"]
    print("running", " ".join(cmd), flush=True)
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    status = "every check passed (exit status 0)" if run.returncode == 0 else (
        f"**exit status {run.returncode}: at least one check failed**")
    text = [
        "<!-- generated by tools/make_figures.py --verify; do not edit -->",
        "",
        f"Generated by `cargo run --release -p mobilenet-unet-verify` on {datetime.date.today().isoformat()}: "
        f"{status}.",
        "",
        "```text",
        run.stdout.rstrip(),
        "```",
    ]
    if run.returncode != 0 and run.stderr.strip():
        text += ["", "stderr (last lines):", "", "```text"] + run.stderr.strip().splitlines()[-10:] + ["```"]
    (ROOT / "docs" / "src" / "verify_table.md").write_text("\n".join(text) + "\n")
    print("wrote docs/src/verify_table.md")
    # The same checks as data: the numbers the README and the book quote are computed from this
    # file by tools/check_docs.py, which CI runs.
    js = subprocess.run(cmd + ["--", "--json"], cwd=ROOT, capture_output=True, text=True)
    report = json.loads(js.stdout)
    (FIG / "verify.json").write_text(json.dumps(report, indent=1) + "\n")
    print("wrote docs/figures/verify.json")


def load_summary(h, w):
    return json.loads((FIG / f"summary_{h}x{w}.json").read_text())


def machine():
    """CPU model and the clock /proc/cpuinfo reports (the nominal clock; boost is not visible)."""
    info = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", info).group(1).strip()
    mhz = float(re.search(r"cpu MHz\s*:\s*([0-9.]+)", info).group(1))
    flags = re.search(r"flags\s*:\s*(.*)", info).group(1).split()
    family = int(re.search(r"cpu family\s*:\s*(\d+)", info).group(1))
    number = int(re.search(r"\nmodel\s*:\s*(\d+)", info).group(1))
    # AMD family 25 (0x19) is Zen 3 (models 0x00-0x0f, 0x20-0x5f) or Zen 4 (0x10-0x1f, 0x60-0xaf).
    uarch = ""
    if "AMD" in model and family == 25:
        uarch = "Zen 4" if (0x10 <= number <= 0x1F or 0x60 <= number <= 0xAF) else "Zen 3"
    return {
        "cpu_model": model,
        "cpu_family": family,
        "cpu_model_number": number,
        "uarch": uarch,
        "cpu_mhz": mhz,
        "logical_cpus": os.cpu_count(),
        "avx2": "avx2" in flags,
        "fma": "fma" in flags,
        "avx512f": "avx512f" in flags,
    }


def rerun_benches():
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target-docs"))
    for bench, filt in BENCH_COMMANDS:
        cmd = ["cargo", "bench", "-p", "mobilenet-unet-benches", "--bench", bench] + BENCH_ARGS
        if filt:
            cmd.append(filt)
        print("running", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    return ROOT / "target-docs" / "criterion"


def collect(criterion_dir):
    """Every `<group>/<function>[/<value>]/new/{benchmark,estimates}.json` under criterion_dir."""
    results = {}
    for bench_json in sorted(Path(criterion_dir).rglob("new/benchmark.json")):
        b = json.loads(bench_json.read_text())
        e = json.loads((bench_json.parent / "estimates.json").read_text())
        tp = b.get("throughput") or {}
        kind, amount = next(iter(tp.items())) if tp else (None, None)
        results[b["full_id"]] = {
            "group": b["group_id"],
            "function": b["function_id"],
            "value": b["value_str"],
            "throughput_kind": kind,
            "throughput_per_iter": amount,
            "median_ns": e["median"]["point_estimate"],
            "mean_ns": e["mean"]["point_estimate"],
        }
    commands = [
        " ".join(
            ["CARGO_TARGET_DIR=target-docs cargo bench -p mobilenet-unet-benches --bench", bench]
            + BENCH_ARGS
            + ([f"'{filt}'"] if filt else [])
        )
        for bench, filt in BENCH_COMMANDS
    ]
    data = {
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
        "commands": commands,
        "results": results,
    }
    (FIG / "bench_results.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote docs/figures/bench_results.json ({len(results)} benchmarks from {criterion_dir})")


# ---------------------------------------------------------------------------------------------
# Bench helpers


class Bench:
    def __init__(self, data):
        self.data = data
        self.r = data["results"]
        m = data["machine"]
        # 2 FMA pipes x 8 f32 lanes x 2 FLOP per FMA x clock, per core, at the clock
        # /proc/cpuinfo reports. The core may boost above it: the best GEMM measured says how far.
        self.peak_gflops = 2 * 8 * 2 * m["cpu_mhz"] / 1000.0
        flop_keys = [k for k, v in self.r.items() if v["throughput_kind"] == "Elements"
                     and v["group"] in ("gemm", "conv") and v["throughput_per_iter"] > 1]
        self.best_key = max(flop_keys, key=self.rate) if flop_keys else None
        self.best_gflops = self.rate(self.best_key) if self.best_key else float("nan")

    def has(self, key):
        return key in self.r

    def ns(self, key):
        return self.r[key]["median_ns"]

    def rate(self, key):
        """Elements (FLOPs) or bytes per second, in G/s, from criterion's throughput."""
        x = self.r[key]
        return x["throughput_per_iter"] / x["median_ns"]

    def memcpy_gbs(self):
        return self.rate("depthwise/memcpy/64MiB")


# ---------------------------------------------------------------------------------------------
# Chapter 1: the kernel cube


def cube(ax, x, y, z, dx, dy, dz, color, alpha=0.9):
    """Draws a box with its corner at (x, y, z) on a 3-D axis (as voxels would, but one box)."""
    import numpy as np

    xs = np.array([x, x + dx])
    ys = np.array([y, y + dy])
    zs = np.array([z, z + dz])
    faces = []
    for X, Y, Z in [
        (np.array([[xs[0], xs[1]], [xs[0], xs[1]]]), np.array([[ys[0]] * 2, [ys[1]] * 2]), np.full((2, 2), zs[1])),
        (np.array([[xs[0], xs[1]], [xs[0], xs[1]]]), np.full((2, 2), ys[0]), np.array([[zs[0]] * 2, [zs[1]] * 2])),
        (np.full((2, 2), xs[1]), np.array([[ys[0], ys[1]], [ys[0], ys[1]]]), np.array([[zs[0]] * 2, [zs[1]] * 2])),
    ]:
        faces.append(ax.plot_surface(X, Y, Z, color=color, alpha=alpha, edgecolor="k", linewidth=0.3, shade=False))
    return faces


def fig_kernel_cube():
    """One 3x3x16 filter of the standard conv (x32), vs 16 3x3x1 depthwise + 32 1x1x16 pointwise."""
    cin, cout, k = 16, 32, 3
    standard = cin * cout * k * k
    depthwise = cin * k * k
    pointwise = cin * cout
    fig = plt.figure(figsize=(11, 3.8))
    panels = [
        (f"standard 3x3 conv: {cout} filters of 3x3x{cin} (3 drawn)\n{cin}x{cout}x3x3 = {thousands(standard)} weights", "std"),
        (f"depthwise: {cin} filters of 3x3x1\n{cin}x3x3 = {depthwise} weights", "dw"),
        (f"pointwise: {cout} filters of 1x1x{cin} (6 drawn)\n{cin}x{cout} = {pointwise} weights", "pw"),
    ]
    for i, (title, kind) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1, projection="3d")
        if kind == "std":
            # A few of the 32 filters, each a 3x3 window through all 16 channels.
            for f in range(3):
                cube(ax, 0, f * 5, 0, k, k, cin, ["#4C72B0", "#55A868", "#C44E52"][f], 0.55)
        elif kind == "dw":
            for c in range(0, cin, 1):
                cube(ax, 0, 0, c * 1.6, k, k, 0.6, plt.cm.viridis(c / cin), 0.8)
        else:
            for f in range(6):
                cube(ax, 0, f * 2.5, 0, 1, 1, cin, plt.cm.magma(0.2 + f / 8), 0.7)
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.view_init(elev=18, azim=-60)
    fig.suptitle(
        f"The seed's example, {cin} -> {cout} channels: {thousands(standard)} vs "
        f"{depthwise} + {pointwise} = {depthwise + pointwise} weights "
        f"({standard / (depthwise + pointwise):.1f}x fewer)",
        fontsize=11,
    )
    save(fig, "kernel_cube.svg")
    return standard, depthwise, pointwise


# ---------------------------------------------------------------------------------------------
# Chapter 2: the per-block table


def separable_table(s):
    cfg = s["config"]
    lines = [
        f"<!-- generated by tools/make_figures.py from `mobilenet-unet summary --json` "
        f"(alpha {cfg['alpha']}, {cfg['input_height']}x{cfg['input_width']}); do not edit -->",
        "",
        "| block | in → out | output H×W | separable weights | standard 3×3 weights | ratio "
        "| separable / standard | 1/N + 1/9 | separable MACs | standard MACs | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    tot = [0, 0, 0, 0]
    for b in s["separable"]:
        sw, tw, sm, tm = b["separable_weights"], b["standard_weights"], b["separable_macs"], b["standard_macs"]
        tot = [tot[0] + sw, tot[1] + tw, tot[2] + sm, tot[3] + tm]
        theory = 1 / b["out_c"] + 1 / 9
        lines.append(
            f"| {b['block']} | {b['in_c']} → {b['out_c']} | {b['out_hw'][0]}×{b['out_hw'][1]} "
            f"| {thousands(sw)} | {thousands(tw)} | {tw / sw:.2f}× | {sw / tw:.4f} | {theory:.4f} "
            f"| {thousands(sm)} | {thousands(tm)} | {tm / sm:.2f}× |"
        )
    lines.append(
        f"| **all** | | | **{thousands(tot[0])}** | **{thousands(tot[1])}** | **{tot[1] / tot[0]:.2f}×** | | "
        f"| **{thousands(tot[2])}** | **{thousands(tot[3])}** | **{tot[3] / tot[2]:.2f}×** |"
    )
    write_text("separable_table.md", "\n".join(lines) + "\n")
    return tot


# ---------------------------------------------------------------------------------------------
# Chapter 3: shapes and the architecture figure

STAGES = [
    ("input", "input", "image"),
    ("conv1_relu", "conv1", "3x3 s2 conv"),
    ("conv_pw_1_relu", "f1", "block 1"),
    ("conv_pw_3_relu", "f2", "blocks 2-3"),
    ("conv_pw_5_relu", "f3", "blocks 4-5"),
    ("conv_pw_11_relu", "f4", "blocks 6-11"),
]


def layer_map(s):
    return {l["name"]: l for l in s["layers"]}


def decoder_stages(s):
    """The decoder's conv / BN / concat layers in order, by their names in the summary."""
    names = [l["name"] for l in s["layers"]]
    start = names.index("conv_pw_11_relu") + 1
    keep = []
    for l in s["layers"][start:]:
        if l["type"] in ("Conv2D", "BatchNormalization", "Concatenate", "UpSampling2D", "Softmax"):
            keep.append(l)
    return keep


def shapes_table(summaries):
    heads = " | ".join(f"{h}×{w} input" for h, w in SIZES)
    lines = [
        "<!-- generated by tools/make_figures.py from `mobilenet-unet summary --size HxW --json`; do not edit -->",
        "",
        f"| stage | layer (output) | {heads} | params since previous row | MACs since previous row, 224×224 |",
        "|---|---|" + "---:|" * len(SIZES) + "---:|---:|",
    ]
    maps = [layer_map(s) for s in summaries]
    wanted = [name for name, _, _ in STAGES] + [l["name"] for l in decoder_stages(summaries[0])]
    tags = {name: tag for name, tag, _ in STAGES}
    # Parameters and MACs of each row: everything since the previous row (e.g. f2 = blocks 2-3).
    params = macs = 0
    for l in summaries[0]["layers"]:
        params, macs = params + l["params"], macs + l["macs"]
        if l["name"] not in wanted:
            continue
        name = l["name"]
        shapes = " | ".join("×".join(str(d) for d in m[name]["output_shape"]) for m in maps)
        tag = tags.get(name, l["type"])
        lines.append(f"| {tag} | `{name}` | {shapes} | {thousands(params)} | {thousands(macs)} |")
        params = macs = 0
    tot = " | ".join(f"{2 * s['macs'] / 1e9:.2f} GFLOP" for s in summaries)
    lines.append(
        f"| **total** | | {tot} | **{thousands(summaries[0]['total_params'])}** | "
        f"**{thousands(summaries[0]['macs'])}** |"
    )
    write_text("shapes_table.md", "\n".join(lines) + "\n")


def mac_shares(s):
    """MACs of encoder convs, depthwise, pointwise, decoder 3x3 convs, as fractions."""
    groups = {"conv1 (3x3 s2)": 0, "depthwise 3x3": 0, "pointwise 1x1": 0, "decoder 3x3 convs": 0, "logits 3x3": 0}
    for l in s["layers"]:
        n = l["name"]
        if not l["macs"]:
            continue
        if n == "conv1":
            groups["conv1 (3x3 s2)"] += l["macs"]
        elif n.startswith("conv_dw_"):
            groups["depthwise 3x3"] += l["macs"]
        elif n.startswith("conv_pw_"):
            groups["pointwise 1x1"] += l["macs"]
        elif n.startswith("logits"):
            groups["logits 3x3"] += l["macs"]
        else:
            groups["decoder 3x3 convs"] += l["macs"]
    total = sum(groups.values())
    assert total == s["macs"], (total, s["macs"])
    return {k: v / total for k, v in groups.items()}, groups


def fig_architecture(s224, s416):
    m224, m416 = layer_map(s224), layer_map(s416)

    def shp(m, name):
        return "×".join(str(d) for d in m[name]["output_shape"])

    fig, ax = plt.subplots(figsize=(12, 6.2))
    ax.set_xlim(0, 12)
    ax.set_ylim(-0.6, 7.3)
    ax.set_axis_off()
    enc = [("input", "input"), ("conv1_relu", "conv1 3x3/2")] + [
        (f"conv_pw_{b}_relu", t) for b, t in [(1, "f1: block 1"), (3, "f2: blocks 2-3"), (5, "f3: blocks 4-5"), (11, "f4: blocks 6-11")]
    ]
    pos = {}
    for i, (name, label) in enumerate(enc):
        y = 6.6 - i * 1.15
        width = 2.6
        ax.add_patch(Rectangle((0.3, y - 0.38), width, 0.76, fc="#cfe2f3", ec="k"))
        ax.text(0.35, y + 0.1, label, fontsize=9, weight="bold")
        ax.text(0.35, y - 0.25, f"{shp(m224, name)} | {shp(m416, name)}", fontsize=8)
        pos[name] = (0.3 + width, y)
        if i:
            ax.annotate("", xy=(0.9, y + 0.38), xytext=(0.9, y + 0.77), arrowprops=dict(arrowstyle="->"))
    # f5 (pruned)
    ax.add_patch(Rectangle((0.3, -0.52), 2.2, 0.6, fc="#eeeeee", ec="#999999", ls="--"))
    ax.text(0.35, -0.3, "blocks 12-13 (f5): unused, pruned", fontsize=8, color="#777777")
    # Decoder column
    dec = [
        ("dec1_bn", "pad, conv 3x3 512, BN", "f4"),
        ("dec2_bn", "up 2x, concat f3, pad, conv 3x3 256, BN", "f3"),
        ("dec3_bn", "up 2x, concat f2, pad, conv 3x3 128, BN", "f2"),
        ("dec4_bn", "up 2x, [concat f1], pad, conv 3x3 64, BN", "f1"),
        ("logits_conv", "conv 3x3 'same' n_classes", None),
        ("softmax", "reshape, softmax", None),
    ]
    names = {l["name"] for l in s224["layers"]}
    tapname = {"f4": "conv_pw_11_relu", "f3": "conv_pw_5_relu", "f2": "conv_pw_3_relu", "f1": "conv_pw_1_relu"}
    for i, (name, label, skip) in enumerate(dec):
        if name not in names:  # tolerate other decoder names: fall back to the type order
            continue
        y = 6.6 - (i + 1) * 1.0
        ax.add_patch(Rectangle((6.6, y - 0.36), 5.0, 0.72, fc="#d9ead3", ec="k"))
        ax.text(6.65, y + 0.08, label, fontsize=9, weight="bold")
        ax.text(6.65, y - 0.27, f"{shp(m224, name)} | {shp(m416, name)}", fontsize=8)
        if skip:
            sx, sy = pos[tapname[skip]]
            style = "dashed" if skip == "f1" else "solid"
            ax.add_patch(
                FancyArrowPatch(
                    (sx, sy), (6.6, y), arrowstyle="->", mutation_scale=12, ls=style, color="#555555",
                    connectionstyle="arc3,rad=0.0",
                )
            )
        if i:
            ax.annotate("", xy=(9, y + 0.36), xytext=(9, y + 0.64), arrowprops=dict(arrowstyle="->"))
    ax.text(
        6.6, 6.75,
        "shapes: H×W×C at 224×224 | 416×608 (from `mobilenet-unet summary --json`)\n"
        "dashed: the l1_skip_conn concatenation (off in the seed)",
        fontsize=8,
    )
    save(fig, "architecture.svg")


# ---------------------------------------------------------------------------------------------
# Chapter 4/5: benchmarks

GEMM_SHAPES = ["196x4608x512", "784x6912x256", "3136x3456x128", "12544x1152x64",
               "12544x32x64", "3136x128x128", "784x256x256", "196x512x512"]
DW_LAYERS = ["112x112x32_s1", "112x112x64_s2", "56x56x128_s1", "28x28x256_s1", "14x14x512_s1"]
CONV_SHAPES = ["14x14x512->512", "28x28x768->256", "56x56x384->128", "112x112x128->64"]


def gemm_intensity(shape):
    m, k, n = (int(v) for v in shape.split("x"))
    return 2 * m * k * n / (4 * (m * k + k * n + m * n))


def dw_intensity(layer):
    h, w, c, s = re.match(r"(\d+)x(\d+)x(\d+)_s(\d)", layer).groups()
    h, w, c, s = int(h), int(w), int(c), int(s)
    oh, ow = (h + 2 - 3) // s + 1, (w + 2 - 3) // s + 1
    flops = 2 * 9 * oh * ow * c
    return flops / (4 * (h * w * c + oh * ow * c)), flops


def conv_intensity(shape):
    hw, cin, cout = re.match(r"(\d+)x\d+x(\d+)->(\d+)", shape).groups()
    hw, cin, cout = int(hw), int(cin), int(cout)
    flops = 2 * hw * hw * 9 * cin * cout
    return flops / (4 * (hw * hw * cin + 9 * cin * cout + hw * hw * cout))


def fig_roofline(b):
    import numpy as np

    peak, bw = b.peak_gflops, b.memcpy_gbs()
    fig, ax = plt.subplots(figsize=(8, 5.2))
    x = np.logspace(-2, 3, 200)
    ax.loglog(x, np.minimum(peak, bw * x), "k-", lw=1.5)
    ax.text(25, peak * 0.8, f"FMA peak at {b.data['machine']['cpu_mhz']:.0f} MHz: {peak:.0f}", fontsize=8, ha="center")
    if b.best_gflops > peak:
        best = b.best_gflops
        ax.loglog(x, np.minimum(best, bw * x), "k:", lw=1)
        ax.text(25, best * 1.1, f"best measured: {best:.0f} (boost clock)", fontsize=8, ha="center")
    ax.text(0.02, bw * 0.02 * 1.35, f"memcpy of 64 MiB (DRAM): {bw:.1f} GB/s", fontsize=8, rotation=29)
    pts = []
    for s in GEMM_SHAPES:
        key = f"gemm/ours/{s}"
        if b.has(key):
            pts.append(("GEMM (pointwise & decoder)", gemm_intensity(s), b.rate(key), "o", "#4C72B0"))
    for s in CONV_SHAPES:
        key = f"conv/ours/{s}"
        if b.has(key):
            pts.append(("decoder 3x3 conv (im2col+GEMM)", conv_intensity(s), b.rate(key), "s", "#55A868"))
    for l in DW_LAYERS:
        key = f"depthwise/ours/{l}"
        if b.has(key):
            ai, flops = dw_intensity(l)
            gflops = flops / b.ns(key)
            pts.append(("depthwise 3x3", ai, gflops, "^", "#C44E52"))
    # Memory-bound small ops: FLOPs per byte from what each does per element.
    small = {"batchnorm": 2 / 8, "upsample": 0.0, "concat": 0.0, "pad": 0.0, "softmax": 0.0, "relu6": 0.0}
    for key, x_ in b.r.items():
        grp = x_["group"]
        if grp in small and x_["function"] == "avx2" and small[grp] > 0:
            gbs = b.rate(key)
            pts.append((f"{grp}", small[grp], gbs * small[grp], "D", "#8172B2"))
    seen = set()
    for label, ai, gf, marker, color in pts:
        ax.loglog(ai, gf, marker, color=color, ms=6, label=None if label in seen else label, alpha=0.85)
        seen.add(label)
    ax.set_xlabel("arithmetic intensity (FLOP per byte of input + weights + output, f32)")
    ax.set_ylabel("GFLOP/s (1 thread)")
    ax.set_xlim(0.01, 1000)
    ax.set_ylim(0.05, max(peak, b.best_gflops) * 2)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower right")
    m = b.data["machine"]
    ax.set_title(f"Roofline: {m['cpu_model']} {m.get('uarch', '')}, 1 core, measured {b.data['date']}", fontsize=10)
    save(fig, "roofline.svg")


def fig_ladder_gemm(b, shape="3136x128x128"):
    rungs = [("reference", "gemm_reference"), ("loop_reordered", "gemm_loop_reordered"),
             ("portable", "blocked + 6x16 portable"), ("ours", "6x16 AVX2+FMA"), ("matrixmultiply", "matrixmultiply crate")]
    vals = [(lbl, b.rate(f"gemm/{fn}/{shape}")) for fn, lbl in rungs if b.has(f"gemm/{fn}/{shape}")]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh([v[0] for v in vals], [v[1] for v in vals], color=["#bbbbbb"] * (len(vals) - 2) + ["#4C72B0", "#999999"])
    ax.axvline(b.peak_gflops, color="k", ls="--", lw=1)
    ax.text(b.peak_gflops, len(vals) - 0.5, " peak", fontsize=8)
    for i, (_, v) in enumerate(vals):
        ax.text(v, i, f" {v:.1f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"GFLOP/s, GEMM {shape} (1 thread)")
    save(fig, "gemm_ladder.svg")


def fig_ladder_dw(b, layer="56x56x128_s1"):
    rungs = [("reference", "reference (7 loops)"), ("grouped_im2col", "C tiny GEMMs (anti-pattern)"),
             ("generic", "generic, channel innermost"), ("portable", "3x3 on [f32; 8] tiles"),
             ("ours", "3x3 AVX2+FMA"), ("ours_2t", "3x3 AVX2+FMA, 2 threads")]
    vals = [(lbl, b.rate(f"depthwise/{fn}/{layer}")) for fn, lbl in rungs if b.has(f"depthwise/{fn}/{layer}")]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh([v[0] for v in vals], [v[1] for v in vals], color="#C44E52")
    bw = b.memcpy_gbs()
    ax.axvline(bw, color="k", ls="--", lw=1)
    ax.text(bw, len(vals) - 0.5, " memcpy", fontsize=8)
    for i, (_, v) in enumerate(vals):
        ax.text(v, i, f" {v:.1f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"GB/s of input + output, depthwise {layer}")
    save(fig, "depthwise_ladder.svg")


def fig_separable(b):
    std = b.ns("separable_vs_standard/standard_3x3_16to32")
    sep = b.ns("separable_vs_standard/depthwise_3x3_plus_pointwise_16to32")
    hw = 112
    std_macs, sep_macs = hw * hw * 9 * 16 * 32, hw * hw * (9 * 16 + 16 * 32)
    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    labels = ["weights", "MACs", "measured time"]
    ratios = [4608 / 656, std_macs / sep_macs, std / sep]
    ax.barh(labels, ratios, color=["#bbbbbb", "#bbbbbb", "#4C72B0"])
    for i, r in enumerate(ratios):
        ax.text(r, i, f" {r:.2f}x", va="center")
    ax.invert_yaxis()
    ax.set_xlabel("standard 3x3 conv / depthwise separable (16 -> 32 channels, 112x112, 1 thread)")
    ax.set_xlim(0, max(ratios) * 1.2)
    save(fig, "separable_vs_standard.svg")
    return std, sep, std_macs, sep_macs


def bench_tables(b):
    peak, bw = b.peak_gflops, b.memcpy_gbs()
    m = b.data["machine"]
    L = [
        "<!-- generated by tools/make_figures.py from docs/figures/bench_results.json; do not edit -->",
        "",
        f"Machine: {m['cpu_model']} (family {m.get('cpu_family')}, model {m.get('cpu_model_number')}: "
        f"{m.get('uarch') or 'unknown core'}), {m['logical_cpus']} logical CPUs, "
        f"{m['cpu_mhz']:.0f} MHz in /proc/cpuinfo, "
        f"AVX2 {'yes' if m['avx2'] else 'no'}, FMA {'yes' if m['fma'] else 'no'}, "
        f"AVX-512 {'yes (our kernels do not use it)' if m['avx512f'] else 'no'}; measured {b.data['date']}, one short criterion run "
        "per benchmark on a machine shared with compilers (expect ±15%).",
        "",
        f"Peak: 2 FMA pipes × 8 lanes × 2 FLOP × {m['cpu_mhz'] / 1000:.3f} GHz = **{peak:.1f} GFLOP/s** per core. "
        f"Memory: `depthwise/memcpy/64MiB` = **{bw:.1f} GB/s** (read + write bytes).",
        "",
    ]
    if b.best_gflops > peak:
        L += [
            f"The best kernel measured (`{b.best_key}`, {b.best_gflops:.1f} GFLOP/s) is above that peak: "
            f"the core runs faster than the clock /proc/cpuinfo shows (at least "
            f"{b.best_gflops / 32:.2f} GHz while it ran). Percentages of peak below use the nominal "
            f"{peak:.1f} GFLOP/s, so they can exceed 100%.",
            "",
        ]
    L += [
        "**GEMM, 1 thread** (GFLOP/s; % of peak; ratio against matrixmultiply in the same run):",
        "",
        "| M×K×N | FLOP/byte | reference | loop_reordered | portable | ours (AVX2) | % peak | matrixmultiply | ours / mm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def g(fn, s):
        k = f"gemm/{fn}/{s}"
        return f"{b.rate(k):.1f}" if b.has(k) else "–"

    for s in GEMM_SHAPES:
        if not b.has(f"gemm/ours/{s}"):
            continue
        ours = b.rate(f"gemm/ours/{s}")
        mm = b.rate(f"gemm/matrixmultiply/{s}") if b.has(f"gemm/matrixmultiply/{s}") else float("nan")
        L.append(
            f"| {s} | {gemm_intensity(s):.0f} | {g('reference', s)} | {g('loop_reordered', s)} | {g('portable', s)} "
            f"| **{ours:.1f}** | {100 * ours / peak:.0f}% | {mm:.1f} | {ours / mm:.2f}× |"
        )
    L += [
        "",
        "**Decoder 3×3 convolutions, 1 thread** (GFLOP/s): ours = im2col packed into GEMM panels; "
        "baseline = full im2col matrix + matrixmultiply.",
        "",
        "| layer | ours | % peak | im2col + matrixmultiply | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in CONV_SHAPES:
        k1, k2 = f"conv/ours/{s}", f"conv/im2col_matrixmultiply/{s}"
        if b.has(k1) and b.has(k2):
            o, base = b.rate(k1), b.rate(k2)
            L.append(f"| {s} | **{o:.1f}** | {100 * o / peak:.0f}% | {base:.1f} | {o / base:.2f}× |")
    L += [
        "",
        "**Depthwise 3×3** (GB/s of input + output; time as a multiple of streaming those bytes at memcpy speed):",
        "",
        "| layer | reference | grouped im2col | generic | portable | ours (AVX2) | ours, 2 threads | ours: × memcpy time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for l in DW_LAYERS:
        def d(fn):
            k = f"depthwise/{fn}/{l}"
            return b.rate(k) if b.has(k) else float("nan")

        L.append(
            f"| {l} | {d('reference'):.2f} | {d('grouped_im2col'):.2f} | {d('generic'):.1f} | {d('portable'):.1f} "
            f"| **{d('ours'):.1f}** | {d('ours_2t'):.1f} | {bw / d('ours'):.2f}× |"
        )
    small = sorted(k for k, v in b.r.items() if v["function"] == "avx2" and v["throughput_kind"] == "Bytes")
    if small:
        L += ["", "**Small ops, AVX2 tier, 1 thread** (GB/s of input + output):", "",
              "| op | shape | GB/s | × memcpy time |", "|---|---|---:|---:|"]
        for k in small:
            v = b.r[k]
            L.append(f"| {v['group']} | {v['value']} | {b.rate(k):.1f} | {bw / b.rate(k):.2f}× |")
    L += e2e_table(peak)
    L += ["", "Criterion commands:", "", "```sh"] + b.data["commands"] + ["```"]
    write_text("bench_tables.md", "\n".join(L) + "\n")


def numbers_md(b, s224, std_sep):
    std, sep, std_macs, sep_macs = std_sep
    lines = [
        "<!-- generated by tools/make_figures.py; do not edit -->",
        "",
        "| | standard 3×3, 16→32 | depthwise 3×3 + pointwise 16→32 | standard / separable |",
        "|---|---:|---:|---:|",
        f"| weights | 4,608 | 656 | {4608 / 656:.2f}× |",
        f"| MACs on 112×112 | {thousands(std_macs)} | {thousands(sep_macs)} | {std_macs / sep_macs:.2f}× |",
        f"| measured time per image (1 thread) | {std / 1e3:.0f} µs | {sep / 1e3:.0f} µs | **{std / sep:.2f}×** |",
        f"| achieved GFLOP/s | {2 * std_macs / std:.1f} | {2 * sep_macs / sep:.1f} | |",
    ]
    shares, macs = mac_shares(s224)
    m = [
        "<!-- generated by tools/make_figures.py from summary_224x224.json; do not edit -->",
        "",
        "| layers (224×224, alpha 1.0) | MACs | share |",
        "|---|---:|---:|",
    ]
    m += [f"| {k} | {thousands(macs[k])} | {100 * v:.1f}% |" for k, v in shares.items()]
    write_text("mac_shares.md", "\n".join(m) + "\n")
    write_text("numbers.md", "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--summary-bin", help="re-run this mobilenet-unet binary for summary_*.json")
    ap.add_argument("--e2e-bin", help="re-run `bench` of this mobilenet-unet binary for bench_e2e.json")
    ap.add_argument("--collect", metavar="CRITERION_DIR", help="rebuild bench_results.json from criterion output")
    ap.add_argument("--verify", action="store_true", help="run mobilenet-unet-verify into docs/src/verify_table.md")
    ap.add_argument("--rerun", action="store_true", help="run the benches (target-docs), then collect")
    args = ap.parse_args()
    FIG.mkdir(parents=True, exist_ok=True)
    if args.summary_bin:
        refresh_summaries(args.summary_bin)
    if args.e2e_bin:
        refresh_e2e(args.e2e_bin)
    if args.verify:
        refresh_verify_table()
    if args.rerun:
        collect(rerun_benches())
    elif args.collect:
        collect(args.collect)
    s224, s416 = (load_summary(h, w) for h, w in SIZES)
    fig_kernel_cube()
    separable_table(s224)
    shapes_table([s224, s416])
    fig_architecture(s224, s416)
    bench_path = FIG / "bench_results.json"
    if not bench_path.exists():
        sys.exit("docs/figures/bench_results.json is missing: run with --rerun or --collect")
    b = Bench(json.loads(bench_path.read_text()))
    fig_roofline(b)
    fig_ladder_gemm(b)
    fig_ladder_dw(b)
    std_sep = fig_separable(b)
    bench_tables(b)
    numbers_md(b, s224, std_sep)


if __name__ == "__main__":
    main()
