#!/usr/bin/env python3
"""Fails when a number in the README, the book or a code comment disagrees with its data file.

A figure in prose is marked with the name of the fact it states, right after the number:

    221<!--fact:verify.checks--> checks          (Markdown: an HTML comment, invisible)
    7.1 MB [fact:size.default_model_mb]          (code and TOML comments)

Every fact is computed here from a generated data file, never typed in by hand:

    verify.*   docs/figures/verify.json            `mobilenet-unet-verify --json`
                                                   (tools/make_figures.py --verify)
    speed.*    docs/figures/engine_comparison.json tools/compare_engines.py
    size.*     the files themselves                (weights/*.safetensors)

A marked number passes when the fact, rounded to the number of significant digits the prose
shows, equals it (`4.7e-7` for 4.68e-7). Blocks between `<!-- generated:NAME -->` and
`<!-- /generated -->` (the README's speed table) must equal what this script renders from the
data; `--fix` rewrites them. `--fresh-verify FILE` also checks that a fresh
`mobilenet-unet-verify --json` run has the same checks as the committed verify.json, so the
check count cannot drift from the code either.

    python3 tools/check_docs.py                  # CI (.ci/run)
    python3 tools/check_docs.py --list           # every fact and its value
    python3 tools/check_docs.py --fix            # rewrite the generated blocks
"""
import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIG = ROOT / "docs" / "figures"
# Where marked numbers may appear.
SOURCES = ["README.md", "docs/src/*.md", "crates/*/Cargo.toml", "crates/*/build.rs", "crates/*/src/**/*.rs"]
MARK = re.compile(
    r"(?P<num>-?[0-9][0-9,]*(?:\.[0-9]+)?(?:e[-+]?[0-9]+)?)(?P<gap>\**)\s*"
    r"(?:<!--\s*fact:(?P<md>[\w.]+)\s*-->|\[fact:(?P<code>[\w.]+)\])"
)
BLOCK = re.compile(r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)
LAYER_TYPES = ("Conv2D", "DepthwiseConv2D", "BatchNormalization", "ZeroPadding2D", "UpSampling2D",
               "Concatenate", "ReLU6", "Softmax")
OTHERS = [("onnxruntime", "ONNX Runtime"), ("openvino", "OpenVINO"), ("tflite", "LiteRT (XNNPACK)")]


def verify_facts(checks):
    """Facts of a `mobilenet-unet-verify --json` report."""
    def worst(pred, key="max_rel"):
        vals = [c[key] for c in checks if pred(c)]
        if not vals:
            raise SystemExit(f"verify.json: no check matches a fact's filter ({key})")
        return max(vals)

    def layer(c):
        return c["what"].split(" ")[0] in LAYER_TYPES and "oracle" not in c["what"]

    argmax = [float(m.group(1)) for c in checks
              for m in [re.search(r"argmax agrees on ([0-9.]+)%", c["note"])] if m]
    if not argmax:
        raise SystemExit("verify.json: no argmax agreement in any note")
    return {
        "verify.argmax_min_pct": min(argmax),
        "verify.checks": len(checks),
        "verify.failed": sum(not c["pass"] for c in checks),
        "verify.layer_direct_max_rel": worst(lambda c: layer(c) and "winograd" not in c["what"]),
        "verify.layer_winograd_max_rel": worst(lambda c: layer(c) and "winograd" in c["what"]),
        "verify.layer_oracle_max_rel": worst(lambda c: c["what"].endswith(" oracle")),
        "verify.model_engine_max_rel": worst(lambda c: c["what"].endswith("(engine)") and c["metric"] == "max_rel"),
        "verify.model_oracle_max_rel": worst(lambda c: c["what"].endswith("(oracle)") and c["metric"] == "max_rel"),
        "verify.probs_max_abs": worst(lambda c: c["what"].startswith("output (") and c["metric"] == "max_abs",
                                      "max_abs"),
    }


def speed_facts(data):
    """Facts of tools/compare_engines.py's JSON: ratios of the medians."""
    facts, ratios = {}, []
    by = {(r["size"], r["threads"]): r["timing"] for r in data["results"]}
    for (size, threads), t in by.items():
        ours = t["ours"]["median_ms"]
        facts[f"speed.{size}.{threads}t.ours_ms"] = ours
        ratios.append(ours / min(t[e]["median_ms"] for e, _ in OTHERS if e in t))
    facts["speed.ratio_min"], facts["speed.ratio_max"] = min(ratios), max(ratios)
    for size in sorted({s for s, _ in by}):
        if (size, 1) in by and (size, 2) in by:
            facts[f"speed.{size}.scaling_2t"] = by[(size, 1)]["ours"]["median_ms"] / by[(size, 2)]["ours"]["median_ms"]
    facts["speed.max_abs_diff"] = max(a["max_abs_diff"] for r in data["results"]
                                      for e, a in r["agreement"].items() if e != "keras")
    return facts


def speed_table(data):
    """The README's speed table, rendered from compare_engines.py's JSON."""
    v = data["versions"]
    short = lambda e: v[e].split("-")[0].rsplit(".", 1)[0] if e == "openvino" else ".".join(v[e].split(".")[:2])
    head = "| input | threads | ours | " + " | ".join(f"{name.split(' (')[0]} {short(e)}"
                                                     + (" (XNNPACK)" if e == "tflite" else "")
                                                     for e, name in OTHERS) + " |"
    lines = [head, "|---|---:|---:|" + "---:|" * len(OTHERS)]
    for r in data["results"]:
        t = r["timing"]
        cells = [f"**{t['ours']['median_ms']:.1f}**"] + [f"{t[e]['median_ms']:.1f}" for e, _ in OTHERS]
        lines.append(f"| {r['size']} | {r['threads']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def load_facts():
    facts = {}
    verify = FIG / "verify.json"
    facts.update(verify_facts(json.loads(verify.read_text())["checks"]))
    speed = json.loads((FIG / "engine_comparison.json").read_text())
    facts.update(speed_facts(speed))
    weights = ROOT / "weights" / "mobilenet_unet_shapes.safetensors"
    facts["size.default_model_mb"] = weights.stat().st_size / 1e6
    blocks = {"speed-table": speed_table(speed)}
    return facts, blocks


def agrees(prose, value):
    """Whether `value` rounded to the significant digits of `prose` equals it."""
    text = prose.replace(",", "")
    mantissa = text.lower().split("e")[0].lstrip("-")
    digits = len(mantissa.replace(".", "").lstrip("0")) or 1
    if "." not in mantissa and "e" not in text.lower():
        return float(text) == value  # an integer claims the exact value (100% means 100.00%)
    return float(f"{value:.{digits}g}") == float(text)


def source_files():
    seen = set()
    for pattern in SOURCES:
        for p in sorted(ROOT.glob(pattern)):
            if p.is_file() and "target" not in p.parts and p not in seen:
                seen.add(p)
                yield p


def check_marks(facts):
    errors, count = [], 0
    for path in source_files():
        text = path.read_text(errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            for m in MARK.finditer(line):
                key = m.group("md") or m.group("code")
                count += 1
                where = f"{path.relative_to(ROOT)}:{n}"
                if key not in facts:
                    errors.append(f"{where}: unknown fact {key!r}")
                elif not agrees(m.group("num"), facts[key]):
                    errors.append(f"{where}: says {m.group('num')} for {key}, the data says {facts[key]:.6g}")
    return errors, count


def check_blocks(blocks, fix):
    errors = []
    for path in source_files():
        if path.suffix != ".md":
            continue
        text = path.read_text()

        def render(m):
            name = m.group("name")
            if name not in blocks:
                errors.append(f"{path.relative_to(ROOT)}: unknown generated block {name!r}")
                return m.group(0)
            if m.group("body") != blocks[name] and not fix:
                errors.append(f"{path.relative_to(ROOT)}: block {name!r} differs from its data "
                              "(python3 tools/check_docs.py --fix)")
            return m.group(1) + blocks[name] + m.group(4)

        new = BLOCK.sub(render, text)
        if fix and new != text:
            path.write_text(new)
            print(f"rewrote the generated blocks of {path.relative_to(ROOT)}")
    return errors


def check_fresh_verify(path):
    fresh = json.loads(Path(path).read_text())["checks"]
    committed = json.loads((FIG / "verify.json").read_text())["checks"]
    key = lambda cs: sorted((c["case"], c["what"]) for c in cs)
    if key(fresh) != key(committed):
        a, b = set(key(fresh)), set(key(committed))
        return [f"docs/figures/verify.json is stale: {len(committed)} checks, a fresh run has {len(fresh)} "
                f"(new: {sorted(a - b)[:5]}, gone: {sorted(b - a)[:5]}); "
                "regenerate with python3 tools/make_figures.py --verify"]
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="print every fact and its value")
    ap.add_argument("--fix", action="store_true", help="rewrite the generated blocks from the data")
    ap.add_argument("--fresh-verify", metavar="FILE", help="a fresh `mobilenet-unet-verify --json` output")
    args = ap.parse_args()
    facts, blocks = load_facts()
    if args.list:
        for k, v in sorted(facts.items()):
            print(f"{k:40} {v:.6g}")
        return 0
    errors, count = check_marks(facts)
    errors += check_blocks(blocks, args.fix)
    if args.fresh_verify:
        errors += check_fresh_verify(args.fresh_verify)
    if facts["verify.failed"]:
        errors.append(f"docs/figures/verify.json records {facts['verify.failed']} failed checks")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 1
    print(f"docs agree with their data: {count} marked numbers, {len(blocks)} generated block(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
