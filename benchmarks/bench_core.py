"""kaizen-core microkernel costs, each against a baseline measured in the same run.

(a) cold start: a fresh process that imports kaizen_core, defines a Signature, builds
    ``BaseAgent(BaseAgentConfig(llm_provider="mock"), Sig())`` and runs it once, vs a
    process that imports pydantic and validates one model (and, for reference, one that
    only runs ``import pydantic``);
(b) per-run framework overhead on the mock provider (warm): ``await agent.run_async()``
    vs awaiting ``MockProvider.complete`` directly with the same request, with interrupts
    enabled (default) and ``enable_interrupts=False``; also the blocking ``agent.run()``;
(b') one structured-output run against pydantic-ai's ``Agent.run_sync`` / ``Agent.run`` on its
    TestModel, installed by the benchmark into a throwaway venv under the temp directory
    (never a project dependency) and run as a subprocess in the same run;
(c) ``import kaizen_core`` and ``plugins.get_registry()`` with every installed plugin
    (``KAIZEN_LOAD_PLUGINS`` unset) vs none (``KAIZEN_LOAD_PLUGINS=``), and which heavy
    modules are in ``sys.modules`` after ``get_registry()`` (must be none);
(d) the zero-cost rule: µs per run with ``hook_manager=None`` vs an empty HookManager
    vs 1 and 10 no-op handlers on every HookEvent.

Wall-clock times (``time.perf_counter``), medians and p95. Run::

    python benchmarks/bench_core.py            # ~40-60 s
    python benchmarks/bench_core.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio

from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
from kaizen_core.hooks import HookContext, HookEvent, HookManager
from kaizen_core.providers.mock import MockProvider
from kaizen_core.providers.types import CompletionRequest

HEAVY_MODULES = ("httpx", "boto3", "redis", "asyncpg", "llama_cpp", "torch")
REPO = Path(__file__).resolve().parent.parent

COLD_SCRIPT = """
from kaizen_core import BaseAgent, BaseAgentConfig, InputField, OutputField, Signature
class Sig(Signature):
    question: str = InputField(desc="a question")
    answer: str = OutputField(desc="the answer")
    confidence: float = OutputField(desc="0..1")
result = BaseAgent(BaseAgentConfig(llm_provider="mock"), Sig()).run(question="2+2?")
assert isinstance(result["confidence"], float)
"""

#: The issue-16 baseline: what any pydantic program pays before doing anything.
PYDANTIC_MODEL_SCRIPT = """
import pydantic
class Answer(pydantic.BaseModel):
    answer: str
    confidence: float
assert Answer.model_validate({"answer": "4", "confidence": 0.9}).confidence == 0.9
"""

#: Runs inside the throwaway pydantic-ai venv: µs per ``Agent.run_sync`` and ``await Agent.run``
#: on its TestModel with a two-field structured output, the same shape as QA below.
PYDANTIC_AI_SCRIPT = """
import asyncio, json, sys, time
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.test import TestModel

class QA(BaseModel):
    answer: str
    confidence: float

n = int(sys.argv[1])
agent = Agent(TestModel(), output_type=QA, instructions="Answer the question.")

cpu = {}

def sync_samples():
    for _ in range(50):
        agent.run_sync("What is 2+2?")
    out = []
    c = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        agent.run_sync("What is 2+2?")
        out.append((time.perf_counter() - t) * 1e6)
    cpu["sync"] = (time.process_time() - c) / n * 1e6
    return out

async def async_samples():
    for _ in range(50):
        await agent.run("What is 2+2?")
    out = []
    c = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        await agent.run("What is 2+2?")
        out.append((time.perf_counter() - t) * 1e6)
    cpu["async"] = (time.process_time() - c) / n * 1e6
    return out

import importlib.metadata as m
result = {"version": m.version("pydantic-ai-slim"), "sync": sync_samples(), "async": asyncio.run(async_samples())}
print(json.dumps({**result, "cpu": cpu}))
"""

IMPORT_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import kaizen_core
t1 = time.perf_counter()
import kaizen_core.plugins as p
registry = p.get_registry()
t2 = time.perf_counter()
heavy = sorted(m for m in __HEAVY__ if m in sys.modules)
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "registry_ms": (t2 - t1) * 1e3,
                  "plugins": sorted({i.distribution for i in registry.plugins}),
                  "modules": len(sys.modules), "heavy": heavy}))
""".replace("__HEAVY__", repr(HEAVY_MODULES))


class QA(Signature):
    """Answer the question."""

    question: str = InputField(desc="a question")
    answer: str = OutputField(desc="the answer")
    confidence: float = OutputField(desc="0..1")


# --- statistics -------------------------------------------------------------------------
def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p95(xs: list[float]) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def row(label: str, xs: list[float], unit: str, base: float | None = None) -> str:
    ratio = f"  x{median(xs) / base:6.2f}" if base else ""
    return f"  {label:<52} median {median(xs):9.1f} {unit}  p95 {p95(xs):9.1f} {unit}{ratio}"


# --- (a) cold start ---------------------------------------------------------------------
#: Fresh processes use a bytecode cache outside the tree, as an installed package would
#: (PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every module on every start).
PYCACHE = Path(tempfile.gettempdir()) / "kaizen-bench-pycache"


def _env(load_plugins: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KAIZEN_LOAD_PLUGINS", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if load_plugins is not None:
        env["KAIZEN_LOAD_PLUGINS"] = load_plugins
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_process(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one fresh ``python -c code`` process."""
    cpu, start = _children_cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=REPO)
    return (time.perf_counter() - start) * 1e3, (_children_cpu() - cpu) * 1e3


def bench_cold_start(n: int) -> None:
    print(f"(a) cold start of a fresh process, ms ({n} runs each, interleaved; bytecode cache in {PYCACHE})")
    cases = {
        "import pydantic + validate one model (baseline)": (PYDANTIC_MODEL_SCRIPT, _env(None)),
        "python -c 'import pydantic'": ("import pydantic", _env(None)),
        "kaizen agent run once, all plugins": (COLD_SCRIPT, _env(None)),
        "kaizen agent run once, KAIZEN_LOAD_PLUGINS=": (COLD_SCRIPT, _env("")),
    }
    wall: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    for code, env in cases.values():  # warm the OS file cache once
        _time_process(code, env)
    for _ in range(n):
        for label, (code, env) in cases.items():
            w, c = _time_process(code, env)
            wall[label].append(w)
            cpu[label].append(c)
    for title, samples in (("wall", wall), ("CPU (user+sys; robust on a busy machine)", cpu)):
        print(f"  {title}:")
        base = median(next(iter(samples.values())))
        for label, xs in samples.items():
            print(row(label, xs, "ms", base))


# --- (b)/(d) warm per-run overhead ------------------------------------------------------
async def _sample(op: Callable[[], Awaitable[Any]], n: int, warmup: int = 50) -> list[float]:
    for _ in range(warmup):
        await op()
    out: list[float] = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        await op()
        out.append((clock() - start) * 1e6)
    return out


def _agent(*, interrupts: bool = True, hooks: HookManager | None = None) -> BaseAgent:
    config = BaseAgentConfig(llm_provider="mock", enable_interrupts=interrupts)
    return BaseAgent(config, QA(), provider=MockProvider(), hook_manager=hooks)


def _run_op(agent: BaseAgent) -> Callable[[], Awaitable[Any]]:
    provider = agent.provider
    assert isinstance(provider, MockProvider)

    async def op() -> Any:
        provider.requests.clear()  # the mock keeps every request for assertions
        return await agent.run_async(question="What is 2+2?")

    return op


async def _direct_op(n: int) -> list[float]:
    """Baseline: MockProvider.complete with the exact request an agent run sends."""
    agent = _agent(interrupts=False)
    await agent.run_async(question="What is 2+2?")
    provider = agent.provider
    assert isinstance(provider, MockProvider)
    request: CompletionRequest = provider.requests[0]
    direct = MockProvider()

    async def op() -> Any:
        direct.requests.clear()
        return await direct.complete(request)

    return await _sample(op, n)


async def bench_overhead(n: int) -> None:
    print(f"\n(b) per-run framework overhead, warm, mock provider, µs ({n} runs each)")
    base = await _direct_op(n)
    print(row("MockProvider.complete(same request) (baseline)", base, "µs"))
    b = median(base)
    for label, agent in (
        ("agent.run_async(), interrupts enabled (default)", _agent()),
        ("agent.run_async(), enable_interrupts=False", _agent(interrupts=False)),
    ):
        xs = await _sample(_run_op(agent), n)
        print(row(label, xs, "µs", b) + f"  overhead {median(xs) - b:7.1f} µs")


def bench_sync_run(n: int) -> None:
    """The blocking ``agent.run()`` (one event loop per call), outside any loop."""
    base_agent = _agent(interrupts=False)
    base_agent.run(question="What is 2+2?")
    provider = base_agent.provider
    assert isinstance(provider, MockProvider)
    request = provider.requests[0]
    direct = MockProvider()

    def timed(fn: Callable[[], Any]) -> list[float]:
        for _ in range(20):
            fn()
        out = []
        for _ in range(n):
            direct.requests.clear()
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1e6)
        return out

    base = timed(lambda: asyncio_run(direct.complete(request)))
    print(row("asyncio.run(MockProvider.complete(...)) (baseline)", base, "µs"))
    for label, agent in (
        ("agent.run(), interrupts enabled (default)", _agent()),
        ("agent.run(), enable_interrupts=False", _agent(interrupts=False)),
    ):
        mock = agent.provider
        assert isinstance(mock, MockProvider)

        def call(a: BaseAgent = agent, m: MockProvider = mock) -> Any:
            m.requests.clear()
            return a.run(question="What is 2+2?")

        xs = timed(call)
        print(row(label, xs, "µs", median(base)) + f"  overhead {median(xs) - median(base):7.1f} µs")


def asyncio_run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


async def _noop(ctx: HookContext) -> None:
    return None


def _hooks(n_handlers: int) -> HookManager:
    hooks = HookManager()
    for event in HookEvent:
        for i in range(n_handlers):
            hooks.register(event, _noop, name=f"noop{i}-{event.value}")
    return hooks


async def bench_zero_cost(n: int) -> None:
    print(f"\n(d) zero-cost rule: agent.run_async() µs with hooks (enable_interrupts=False, {n} runs each)")
    cases: list[tuple[str, HookManager | None]] = [
        ("hook_manager=None (baseline)", None),
        ("empty HookManager()", HookManager()),
        ("1 no-op handler on every event", _hooks(1)),
        ("10 no-op handlers on every event", _hooks(10)),
    ]
    base: float | None = None
    for label, hooks in cases:
        xs = await _sample(_run_op(_agent(interrupts=False, hooks=hooks)), n)
        base = base or median(xs)
        print(row(label, xs, "µs", base) + f"  +{median(xs) - base:7.1f} µs")


# --- (b') against pydantic-ai ------------------------------------------------------------
#: pydantic-ai is never a dependency: the benchmark installs it into a venv of its own, outside
#: the tree (reused by later runs), and runs it as a subprocess in the same run.
PYDANTIC_AI_VENV = Path(tempfile.gettempdir()) / "kaizen-bench-venvs" / "pydantic-ai"
PYDANTIC_AI_SPEC = "pydantic-ai-slim==2.68.0"


def _pydantic_ai_python(spec: str) -> Path:
    python = PYDANTIC_AI_VENV / "bin" / "python"
    marker = PYDANTIC_AI_VENV / "installed.txt"
    if not (python.exists() and marker.exists() and marker.read_text() == spec):
        print(f"  creating {PYDANTIC_AI_VENV} with {spec} (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(PYDANTIC_AI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
        marker.write_text(spec)
    return python


async def _kaizen_run_samples(n: int) -> tuple[list[float], float]:
    """µs per ``run_async`` (wall, each run) and CPU µs per run (process time of the timed loop)."""
    op = _run_op(_agent())
    for _ in range(50):
        await op()
    out: list[float] = []
    started = time.process_time()
    for _ in range(n):
        start = time.perf_counter()
        await op()
        out.append((time.perf_counter() - start) * 1e6)
    return out, (time.process_time() - started) / n * 1e6


def bench_vs_pydantic_ai(n: int, spec: str, rounds: int = 5) -> None:
    print(
        f"\n(b') one structured-output run on a test model, µs: kaizen vs pydantic-ai "
        f"({n} runs each, in {rounds} interleaved rounds of the same run)"
    )
    try:
        python = _pydantic_ai_python(spec)
    except subprocess.CalledProcessError as exc:  # no package index here: say so, measure the rest
        print(f"  NOT MEASURED: installing {spec} into {PYDANTIC_AI_VENV} failed ({exc}); see --no-pydantic-ai")
        return
    agent = _agent()
    mock = agent.provider
    assert isinstance(mock, MockProvider)

    def call() -> Any:
        mock.requests.clear()
        return agent.run(question="What is 2+2?")

    for _ in range(50):
        call()
    theirs: dict[str, Any] = {"sync": [], "async": []}
    ours_async: list[float] = []
    ours_sync: list[float] = []
    cpu: dict[str, list[float]] = {"theirs sync": [], "theirs async": [], "ours sync": [], "ours async": []}
    per_round = max(n // rounds, 1)
    for _ in range(rounds):  # alternate, so a change of machine load hits both sides alike
        proc = subprocess.run(
            [str(python), "-c", PYDANTIC_AI_SCRIPT, str(per_round)], check=True, capture_output=True, text=True
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        theirs["version"] = result["version"]
        theirs["sync"] += result["sync"]
        theirs["async"] += result["async"]
        cpu["theirs sync"].append(result["cpu"]["sync"])
        cpu["theirs async"].append(result["cpu"]["async"])
        samples, cpu_per_run = anyio.run(_kaizen_run_samples, per_round)
        ours_async += samples
        cpu["ours async"].append(cpu_per_run)
        started = time.process_time()
        for _ in range(per_round):
            start = time.perf_counter()
            call()
            ours_sync.append((time.perf_counter() - start) * 1e6)
        # every thread counts (from the main thread the sync path runs in place, from others on the background loop)
        cpu["ours sync"].append((time.process_time() - started) / per_round * 1e6)
    print(f"  pydantic-ai {theirs['version']} (TestModel) in {PYDANTIC_AI_VENV}")
    for mine, key in ((ours_async, "async"), (ours_sync, "sync")):
        base = median(theirs[key])
        print(row(f"pydantic-ai Agent.{'run' if key == 'async' else 'run_sync'}() (baseline)", theirs[key], "µs"))
        print(
            row(f"kaizen agent.{'run_async' if key == 'async' else 'run'}(), interrupts on (default)", mine, "µs", base)
            + f"  = 1/{base / median(mine):.0f} of pydantic-ai"
        )
        theirs_cpu, ours_cpu = median(cpu[f"theirs {key}"]), median(cpu[f"ours {key}"])
        print(
            f"  CPU per run ({key}, process time, median of rounds): pydantic-ai {theirs_cpu:8.1f} µs, "
            f"kaizen {ours_cpu:7.1f} µs  = 1/{theirs_cpu / ours_cpu:.0f}"
        )


# --- (c) import time and plugin discovery -----------------------------------------------
def _installed_plugins() -> dict[str, str]:
    """plugins/<dir> -> installed version or 'NOT INSTALLED'."""
    out = {}
    for d in sorted((REPO / "plugins").iterdir()):
        if (d / "pyproject.toml").exists():
            try:
                out[d.name] = metadata.version(d.name)
            except metadata.PackageNotFoundError:
                out[d.name] = "NOT INSTALLED"
    return out


def _import_sample(load_plugins: str | None) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT], env=_env(load_plugins), check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _importtime_top(load_plugins: str | None, top: int = 6) -> list[tuple[int, str]]:
    """The slowest modules (cumulative µs) under ``-X importtime`` for import + get_registry()."""
    code = "import kaizen_core.plugins as p; p.get_registry()"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=_env(load_plugins), check=True, capture_output=True, text=True
    )
    rows: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    top_level = [(us, name) for us, name in rows if not name.startswith("  ")]
    return sorted(top_level, reverse=True)[:top]


def bench_imports(n: int) -> None:
    print(f"\n(c) import kaizen_core + plugins.get_registry(), ms, fresh process each ({n} runs each)")
    _import_sample(None)  # fill the bytecode cache
    for name, version in _installed_plugins().items():
        print(f"  plugins/{name}: {version}")
    samples: dict[str | None, list[dict[str, Any]]] = {"": [], None: []}
    for _ in range(n):
        for key in samples:
            samples[key].append(_import_sample(key))
    labels = {"": "KAIZEN_LOAD_PLUGINS= (none)", None: "KAIZEN_LOAD_PLUGINS unset (all)"}
    base_import = median([s["import_ms"] for s in samples[""]])
    base_registry = median([s["registry_ms"] for s in samples[""]])
    for key, runs in samples.items():
        label = labels[key]
        print(row(f"import kaizen_core, {label}", [s["import_ms"] for s in runs], "ms", base_import))
        print(row(f"get_registry(), {label}", [s["registry_ms"] for s in runs], "ms", base_registry))
    for key, runs in samples.items():
        last = runs[-1]
        print(f"  {labels[key]}: distributions {', '.join(last['plugins'])}; {last['modules']} modules loaded")
        print(f"    heavy modules in sys.modules after get_registry(): {last['heavy'] or 'none'}")
    print("  slowest top-level imports (-X importtime, cumulative µs), all plugins:")
    for us, name in _importtime_top(None):
        print(f"    {us:8d}  {name.strip()}")


# --- main -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer samples)")
    parser.add_argument("--pydantic-ai", default=PYDANTIC_AI_SPEC, help="pip spec of the pydantic-ai baseline")
    parser.add_argument("--no-pydantic-ai", action="store_true", help="skip (b'), e.g. without a package index")
    args = parser.parse_args()
    procs, runs = (3, 300) if args.quick else (7, 2000)
    started = time.perf_counter()
    print(f"kaizen-core benchmark, python {sys.version.split()[0]}, {'quick' if args.quick else 'full'} run\n")
    bench_cold_start(procs)

    async def warm() -> None:
        await bench_overhead(runs)

    anyio.run(warm)
    bench_sync_run(max(runs // 5, 100))
    if not args.no_pydantic_ai:
        bench_vs_pydantic_ai(max(runs // 2, 200), args.pydantic_ai)
    bench_imports(procs)
    anyio.run(bench_zero_cost, runs)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
