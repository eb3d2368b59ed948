"""The nine built-in pipeline patterns, one module each, registered by :mod:`kaizen_core.builtins`.

Modules are imported when their pattern is first built (``Pipeline.create(name)``).
"""
