"""Review of the session-5 interrupt hot-path commits (ce69715, 1315689): two regressions.

Each case runs in a fresh interpreter: the first needs ``kaizen_core.interrupts.models``
not yet imported, the second forks.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)


def test_a_ctrl_c_landing_while_the_main_thread_imports_interrupt_models_is_not_lost() -> None:
    # ce69715: request_interrupt imports InterruptReason on first use, and the signal handler
    # calls it. A Ctrl+C that arrives while the main thread is importing the models module
    # (its first scope.context(), a handler's first answer, user code) finds it half-built.
    result = _run(
        """
        import importlib.abc, importlib.util, signal, sys
        from kaizen_core.interrupts.scope import InterruptScope
        from kaizen_core.interrupts.signals import dispatcher
        assert "kaizen_core.interrupts.models" not in sys.modules

        class LandSigintMidImport(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name != "kaizen_core.interrupts.models":
                    return None
                sys.meta_path.remove(self)
                spec = importlib.util.find_spec(name)
                real = spec.loader.exec_module
                def exec_module(module):
                    signal.raise_signal(signal.SIGINT)  # handled at the next bytecode: mid-import
                    real(module)
                spec.loader.exec_module = exec_module
                return spec

        sys.meta_path.insert(0, LandSigintMidImport())
        scope = InterruptScope(run_id="r")
        with dispatcher.watching(scope):
            scope.context()  # the run's first context imports the models on the main thread
        assert scope.reason is not None and scope.reason.metadata["signal"] == "SIGINT", scope.reason
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_a_forked_child_can_run_while_another_thread_of_the_parent_was_in_a_scope_section() -> None:
    # 1315689: every InterruptScope shares one module RLock. A fork while any thread holds it
    # (any scope's few-operation section) leaves the child's copy held by a thread that does
    # not exist there, so every run in the child blocks forever on its first request.
    # (Before, a new scope in the child had a lock of its own.) The alarm only ends a hung child.
    result = _run(
        """
        import os, signal, threading
        from kaizen_core.interrupts.scope import InterruptScope

        held, done = threading.Event(), threading.Event()
        busy = InterruptScope(run_id="busy")

        def in_a_section():
            with busy._lock:  # what request_interrupt / children / _listen hold for a few operations
                held.set()
                done.wait()

        thread = threading.Thread(target=in_a_section)
        thread.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)  # watchdog for the hang only
            fresh = InterruptScope(run_id="child-run")
            fresh.request_interrupt(message="stop")
            os._exit(0 if fresh.is_interrupted() else 3)
        done.set()
        thread.join()
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0", f"child exit {result.stdout.strip()} (-14: hung on the shared scope lock)"
