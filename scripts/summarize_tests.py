"""Add up the JUnit reports of every tox env and print one closing line.

Prints ``N passed, N failed, N skipped`` (plus the per-env table) and exits non-zero
when anything failed or errored, or when no test ran at all.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(report_dir: str) -> int:
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    files = sorted(Path(report_dir).glob("*.xml"))
    for path in files:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        tests = failures = skipped = 0
        for suite in suites:
            tests += int(suite.get("tests", 0))
            failures += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
        passed = tests - failures - skipped
        totals["passed"] += passed
        totals["failed"] += failures
        totals["skipped"] += skipped
        print(f"  {path.stem:24s} {passed:5d} passed {failures:4d} failed {skipped:4d} skipped")
    print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    if not files or totals["passed"] == 0:
        print("no test ran", file=sys.stderr)
        return 1
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".reports"))
