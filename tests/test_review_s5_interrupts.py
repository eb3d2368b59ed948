"""Review of the session-5 interrupt hot-path commits (ce69715, 1315689): two regressions, mended.

Each case runs in a fresh interpreter: the first refuses imports while a signal is handled,
the second forks.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)


def test_a_signal_handler_imports_nothing_to_record_a_ctrl_c() -> None:
    # ce69715 made request_interrupt import InterruptReason on first use, and the signal handler
    # calls it: a Ctrl+C landing while the main thread imported that module found it half-built
    # and was lost. The models now load with the scope module, so the handler imports nothing:
    # with every further import refused, a SIGINT is still recorded as the run's reason.
    result = _run(
        """
        import importlib.abc, signal, sys
        from kaizen_core.interrupts.scope import InterruptScope
        from kaizen_core.interrupts.signals import dispatcher
        assert "kaizen_core.interrupts.models" in sys.modules

        class RefuseImports(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                raise ImportError(f"imported {name} while handling a signal")

        scope = InterruptScope(run_id="r")
        with dispatcher.watching(scope):
            sys.meta_path.insert(0, RefuseImports())
            try:
                signal.raise_signal(signal.SIGINT)
            finally:
                sys.meta_path.pop(0)
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
