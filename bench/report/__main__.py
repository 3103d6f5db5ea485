"""``python -m bench.report --results results --reports reports --name default [study ...]``."""

from __future__ import annotations

import argparse
import sys

from bench.report import ReportError, build_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report",
        description="Build reports/<name>/index.html and tables/ from the studies in results/.",
    )
    parser.add_argument("studies", nargs="*", help="study names (default: every study)")
    parser.add_argument("--results", default="results", help="results directory (results)")
    parser.add_argument("--reports", default="reports", help="reports directory (reports)")
    parser.add_argument("--name", default="default", help="report name (default)")
    args = parser.parse_args(argv)
    try:
        path = build_report(
            args.results, args.reports, args.name, args.studies or None, parallel=True
        )
    except ReportError as error:
        print(f"bench.report: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
