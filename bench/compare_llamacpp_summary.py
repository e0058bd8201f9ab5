#!/usr/bin/env python3
"""Summarises bench/compare_llamacpp.sh's results: per model and test, the medians (and ranges)
of the per-round ratios ours / llama.cpp and ours / baseline, the absolute medians, pp64 / pp512,
ours' --roofline percentage, 8 sessions / 1, the pp512 spread and peak RSS.

Usage: compare_llamacpp_summary.py OUT MODEL.gguf...
"""
import json
import os
import re
import statistics
import sys


def rows(path):
    """The JSON objects of one run's file; a line cut short by a failed run is reported, not fatal."""
    if not os.path.exists(path):
        return []
    parsed = []
    with open(path) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                parsed.append(json.loads(line))
            except json.JSONDecodeError as error:
                print(f"{path}:{number}: skipped, not JSON ({error.msg})", file=sys.stderr)
    return parsed


def test_name(row):
    return f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"


def span(values):
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main():
    out, models = sys.argv[1], sys.argv[2:]
    rounds = sorted({int(m.group(1)) for name in os.listdir(out)
                     if (m := re.match(r"r(\d+)-", name))})
    for index, model in enumerate(models):
        # runs[runtime][test][round] = the row
        runs = {}
        for r in rounds:
            for runtime in ("ours", "llama", "baseline", "sessions"):
                for row in rows(f"{out}/r{r}-{runtime}-m{index}.jsonl"):
                    key = runtime if runtime != "sessions" else f"sessions{row['n_sessions']}"
                    runs.setdefault(key, {}).setdefault(test_name(row), {})[r] = row

        def values(runtime, test, field="avg_ts"):
            by_round = runs.get(runtime, {}).get(test, {})
            return [by_round[r][field] for r in rounds
                    if r in by_round and by_round[r].get(field) is not None]

        def ratios(a, b, test):
            ra, rb = runs.get(a, {}).get(test, {}), runs.get(b, {}).get(test, {})
            return [ra[r]["avg_ts"] / rb[r]["avg_ts"] for r in rounds if r in ra and r in rb]

        print(f"== {os.path.basename(model)} ({len(rounds)} rounds)")
        for test in ("pp512", "pp64", "tg128"):
            line = f"  {test}: ours / llama.cpp {span(ratios('ours', 'llama', test))}"
            if "baseline" in runs:
                line += f", ours / baseline {span(ratios('ours', 'baseline', test))}"
            medians = ", ".join(f"{who} {statistics.median(v):.1f}" for who in
                                ("ours", "llama", "baseline") if (v := values(who, test)))
            print(f"{line}; t/s medians: {medians}")
        pp64, pp512 = values("ours", "pp64"), values("ours", "pp512")
        print(f"  pp64 / pp512: ours {span([a / b for a, b in zip(pp64, pp512)])}")
        for test in ("pp512", "tg128"):
            pct = values("ours", test, "roofline_pct")
            limit = {row.get("roofline_limit") for row in runs.get("ours", {}).get(test, {}).values()}
            print(f"  {test} % of its limit ({', '.join(sorted(map(str, limit)))}): {span(pct)}")
        print(f"  8 sessions / 1, tg128: {span(ratios('sessions8', 'sessions1', 'tg128'))}")
        for who in ("ours", "llama", "baseline"):
            v = values(who, "pp512")
            if v:
                print(f"  pp512 spread {who}: {100 * (max(v) - min(v)) / min(v):.0f} %")
        rss = values("ours", "pp512", "peak_rss_bytes")
        if rss:
            print(f"  peak RSS: {statistics.median(rss) / 2**20:.1f} MiB, "
                  f"file {os.path.getsize(model) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
