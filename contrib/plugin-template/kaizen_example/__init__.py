"""kaizen-example: hookimpls only (the implementation is imported when selected)."""

import kaizen_core


@kaizen_core.hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    register(
        "example-echo",
        "kaizen_example.provider:EchoProvider",
        description="Echoes the last user message (template plugin)",
        capabilities=["chat"],
    )


@kaizen_core.hookimpl
def register_tools(register):  # type: ignore[no-untyped-def]
    register("word_count", "kaizen_example.tools:word_count")
