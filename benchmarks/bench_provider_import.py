"""Provider import cost: `import kaizen_openai` + constructing a provider vs `import openai` (SDK), fresh subprocesses.

Run: python benchmarks/bench_provider_import.py [--runs N]. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

KAIZEN = (
    "import time; t=time.perf_counter(); import kaizen_openai; from kaizen_core.plugins import resolve_target;"
    "cls=resolve_target('kaizen_openai.provider:OpenAIProvider'); cls('gpt-4o-mini', api_key='sk-x');"
    "print(time.perf_counter()-t)"
)
KAIZEN_IMPORT_ONLY = "import time; t=time.perf_counter(); import kaizen_openai; print(time.perf_counter()-t)"
SDK = "import time; t=time.perf_counter(); import openai; openai.OpenAI(api_key='sk-x'); print(time.perf_counter()-t)"


def measure(code: str, runs: int) -> float:
    times = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    plugin_only = measure(KAIZEN_IMPORT_ONLY, runs)
    kaizen = measure(KAIZEN, runs)
    print(f"import kaizen_openai (hookimpls only):        {plugin_only * 1000:8.1f} ms")
    print(f"import + resolve + construct OpenAIProvider:  {kaizen * 1000:8.1f} ms")
    try:
        sdk = measure(SDK, runs)
    except subprocess.CalledProcessError:
        print("openai SDK not installed (pip install openai) - no baseline")
        return
    print(f"import openai + construct OpenAI client:      {sdk * 1000:8.1f} ms")
    print(f"ratio kaizen (construct) / openai SDK:        {kaizen / sdk:8.2f}")
    print(f"ratio kaizen_openai import / openai SDK:      {plugin_only / sdk:8.3f}")


if __name__ == "__main__":
    main()
