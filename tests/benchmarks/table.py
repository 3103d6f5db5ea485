"""The README's benchmark table, from the JSON that ``nox -s bench`` writes.

python tests/benchmarks/table.py results/benchmarks/benchmarks.json
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def table(report: dict) -> str:
    """Markdown: per group, median time, member-steps per second and ratio to the baseline.

    Where a group measures whole commands (no member-steps), the last column is the difference
    in seconds from the baseline instead.
    """
    groups: dict[str, list[dict]] = defaultdict(list)
    for bench in report["benchmarks"]:
        groups[bench["group"]].append(bench)
    machine = report["machine_info"]
    lines = [
        f"Measured on {machine.get('cpu', {}).get('brand_raw', machine['processor'])}, "
        f"{machine['python_implementation']} {machine['python_version']}, "
        f"{report['datetime'][:10]}.",
        "",
        "| benchmark | median | throughput (per s) | vs baseline |",
        "| --- | ---: | ---: | ---: |",
    ]
    for group, benches in groups.items():
        lines.append(f"| **{group}** | | | |")
        base = next((b for b in benches if b["extra_info"].get("baseline")), None)
        for bench in sorted(benches, key=lambda b: b["stats"]["median"]):
            median = bench["stats"]["median"]
            work = bench["extra_info"].get("member_steps", 1)
            rate = work / median
            ratio = ""
            if base is not None and work > 1:
                base_rate = base["extra_info"].get("member_steps", 1) / base["stats"]["median"]
                ratio = f"{rate / base_rate:.2f}×"
            elif base is not None:
                ratio = f"{median - base['stats']['median']:+.2f} s"
            label = bench["name"].removeprefix("test_")
            if bench["extra_info"].get("baseline"):
                label += " (baseline)"
            throughput = f"{rate:,.0f}" if work > 1 else ""
            lines.append(f"| {label} | {_seconds(median)} | {throughput} | {ratio} |")
            for key, value in bench["extra_info"].items():
                if key not in ("member_steps", "baseline"):
                    lines.append(f"| &nbsp;&nbsp;{key} | | {value} | |")
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value:.3g} s" if value >= 1 else f"{value * 1e3:.3g} ms"


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(table(json.load(handle)))
