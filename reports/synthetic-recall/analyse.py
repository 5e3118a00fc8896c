#!/usr/bin/env python3
"""Summarises bench/SyntheticRecall results (JSON lines): per run the final validation loss/accuracy, the first step at which
it left the uniform-guess loss by 0.1 nat, and per (task, lr, seed) the first evaluation step from which softmax stays below
cosine-softmax by at least the margin (0.02 nats: the margin floor; one seed gives no spread for 2 x SD)."""
import json, math, sys
from collections import defaultdict

MARGIN = 0.02
runs = [json.loads(l) for f in sys.argv[1:] for l in open(f) if l.strip()]
groups = defaultdict(dict)
for r in runs:
    t = r["task"]
    key = (f'{t["kind"]} keys={t["keys"]} values={t["values"]} pairs={t["min_pairs"]}-{t["max_pairs"]} q={t["query_fraction"]}', r["lr"], r["seed"], r["steps"])
    groups[key][r["preset"]] = r

for (task, lr, seed, steps), by in groups.items():
    uni = next(iter(by.values()))["task"]["uniform_loss"]
    print(f"\n### {task}, lr {lr:g}, seed {seed}, {steps} steps (uniform loss ln V_values = {uni:.3f})\n")
    print("| preset | final val loss | final accuracy | first step 0.1 below uniform | seconds |")
    print("|---|---|---|---|---|")
    for p, r in by.items():
        c = r["curve"]
        left = next((e["step"] for e in c if e["val_loss"] < uni - 0.1), None)
        print(f'| {p} | {c[-1]["val_loss"]:.3f} | {c[-1]["val_accuracy"]:.3f} | {left if left is not None else "never"} | {r["seconds"]} |')
    if "softmax" in by and "cosine-softmax" in by:
        s = {e["step"]: e["val_loss"] for e in by["softmax"]["curve"]}
        cs = {e["step"]: e["val_loss"] for e in by["cosine-softmax"]["curve"]}
        steps_common = sorted(set(s) & set(cs))
        diffs = [(st, s[st] - cs[st]) for st in steps_common]
        sep = None
        for i, (st, d) in enumerate(diffs):
            if all(dd <= -MARGIN for _, dd in diffs[i:]):
                sep = st; break
        print(f"\nsoftmax − cosine-softmax by step: " + ", ".join(f"{st}: {d:+.3f}" for st, d in diffs))
        print(f"separation (softmax stays ≥ {MARGIN} below cosine-softmax from): {sep if sep is not None else 'not within the run'}")
