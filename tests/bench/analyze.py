#!/usr/bin/env python3
"""Summarise tests/bench/run.sh results: medians over rounds, ratios to
nginx and to Flask measured in the same round, and one summary line.

Usage: analyze.py RESULTS_CSV
"""
import csv
import statistics
import sys
from collections import defaultdict

LOAD_NAMES = {
    "ka16": "keep-alive, 16 connections, 2.3 KB apply-time review",
    "ka64": "keep-alive, 64 connections, 2.3 KB apply-time review",
    "big16": "keep-alive, 16 connections, 1 MiB review",
    "new1": "new TLS connection per request, 1 client",
    "new8": "new TLS connection per request, 8 clients",
}
SUBJECT = "immutable-guard"


def median_range(values, digits=2):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    fmt = f"{{:.{digits}f}}"
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    by_round = defaultdict(dict)
    for row in rows:
        by_round[(row["load"], row["round"])][row["server"]] = row
    loads = list(dict.fromkeys(row["load"] for row in rows))
    servers = list(dict.fromkeys(row["server"] for row in rows))

    summary = {}
    print("| load | server | rounds | req/s median [min–max] | p50 ms | p99 ms | max ms | "
          "CPU µs/req | RSS idle MiB | RSS peak MiB | ×nginx | ×Flask | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for load in loads:
        for server in servers:
            mine = [r[server] for (l, _), r in sorted(by_round.items()) if l == load and server in r]
            if not mine:
                continue
            def num(key):
                return [float(r[key]) for r in mine if r[key] not in ("", None)]
            ratios = {}
            for reference in ("nginx", "flask"):
                values = []
                for (l, _), r in by_round.items():
                    if l == load and server in r and reference in r and float(r[reference]["rps"] or 0) > 0:
                        values.append(float(r[server]["rps"]) / float(r[reference]["rps"]))
                ratios[reference] = values
            errors = sum(int(r["non2xx"] or 0) + int(r["errors"] or 0) for r in mine)
            print(f"| {LOAD_NAMES.get(load, load)} | {server} | {len(mine)} | "
                  f"{median_range([v / 1000 for v in num('rps')], 2)}k | "
                  f"{statistics.median(num('p50_us')) / 1000:.2f} | "
                  f"{median_range([v / 1000 for v in num('p99_us')])} | "
                  f"{max(num('max_us')) / 1000:.1f} | {statistics.median(num('cpu_us_per_req')):.1f} | "
                  f"{statistics.median(num('rss_idle_kib')) / 1024:.1f} | "
                  f"{max(num('rss_peak_kib')) / 1024:.1f} | "
                  f"{median_range(ratios['nginx'])} | {median_range(ratios['flask'])} | {errors} |")
            if server == SUBJECT:
                key = "rate" if load.startswith("rate") else load
                if ratios["nginx"] and not load.startswith("rate"):
                    summary[f"{key}_vs_nginx"] = f"{statistics.median(ratios['nginx']):.2f}"
                if ratios["flask"] and not load.startswith("rate"):
                    summary[f"{key}_vs_flask"] = f"{statistics.median(ratios['flask']):.2f}"
                summary[f"{key}_p99_ms"] = f"{statistics.median(num('p99_us')) / 1000:.2f}"
                summary[f"{key}_cpu_us"] = f"{statistics.median(num('cpu_us_per_req')):.1f}"
                summary[f"{key}_rss_peak_mib"] = f"{max(num('rss_peak_kib')) / 1024:.1f}"
                summary.setdefault("rss_idle_mib", f"{statistics.median(num('rss_idle_kib')) / 1024:.1f}")
                summary["errors"] = str(int(summary.get("errors", "0")) + errors)
    print()
    print("BENCH_SUMMARY " + " ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
