"""Which thread is the main thread, readable on every call without a function call.

``threading.main_thread().ident`` costs a call and a property on each read; the blocking
API and the signal dispatcher check it on every run. :data:`main` keeps the ident, and
a forked child (whose main thread is the one that forked) sets it again.
"""

from __future__ import annotations

import os
import threading

__all__ = ["main"]


class _MainThread:
    __slots__ = ("ident",)

    def __init__(self) -> None:
        self.ident: int | None = threading.main_thread().ident

    def after_fork(self) -> None:
        # threading registered its own fork hook first (imported earlier), so main_thread() is the child's
        self.ident = threading.main_thread().ident


#: ``main.ident``: the main thread's ident (compare with :func:`threading.get_ident`).
main = _MainThread()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=main.after_fork)
