"""Run every ``benchmarks/bench_*.py`` in turn and print a combined report.

Each script runs in its own process (``python benchmarks/bench_x.py``), so one
benchmark's imports and caches never affect another's. ``--quick`` is passed on to
the scripts that accept it (those whose source mentions ``--quick``); the others run
with their defaults. A failing script is reported and the rest still run; the exit
status is 1 if any failed.

    python benchmarks/run_all.py [--quick] [--only core,hooks] [--timeout 600]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Outcome:
    name: str
    status: str
    seconds: float
    output: str


def scripts(only: set[str] | None) -> list[Path]:
    """The benchmark scripts, sorted by name, optionally filtered (``core`` = bench_core.py)."""
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only or p.stem in only]
    return found


def accepts_quick(script: Path) -> bool:
    return "--quick" in script.read_text(encoding="utf-8")


def run(script: Path, quick: bool, timeout: float) -> Outcome:
    cmd = [sys.executable, str(script)]
    if quick and accepts_quick(script):
        cmd.append("--quick")
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        return Outcome(script.name, f"timeout after {timeout:g}s", time.perf_counter() - started, out)
    seconds = time.perf_counter() - started
    output = proc.stdout
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return Outcome(script.name, f"failed (exit {proc.returncode})", seconds, f"{output}\n{tail}".strip())
    return Outcome(script.name, "ok", seconds, output.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="pass --quick to scripts that accept it")
    parser.add_argument("--only", default="", help="comma-separated subset, e.g. core,hooks")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per script")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None

    outcomes: list[Outcome] = []
    for script in scripts(only):
        flag = " --quick" if args.quick and accepts_quick(script) else ""
        print(f"=== {script.name}{flag}", flush=True)
        outcome = run(script, args.quick, args.timeout)
        outcomes.append(outcome)
        print(outcome.output)
        print(f"--- {script.name}: {outcome.status} in {outcome.seconds:.1f} s\n", flush=True)

    print("=== summary")
    for o in outcomes:
        print(f"  {o.name:<28} {o.status:<24} {o.seconds:7.1f} s")
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
