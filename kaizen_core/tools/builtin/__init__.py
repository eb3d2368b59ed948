"""The core's built-in tools (files, http, shell, web), registered in kaizen_core.builtins."""
