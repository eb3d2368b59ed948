"""kaizen-mcp: the Model Context Protocol for Kaizen, on the official ``mcp`` SDK (2.x).

* client (:mod:`kaizen_mcp.client`): ``BaseAgent(..., mcp_servers=[...])``; each server's
  tools become agent tools named ``mcp__<server>__<tool>``, run through the permission gate;
* server (:mod:`kaizen_mcp.server`, ``kaizen mcp serve``): the builtin tools and configured
  agents exposed to any MCP client.

Importing this package imports neither the SDK nor the client or server code: the
hookimpls live in :mod:`kaizen_mcp.plugin` and name their targets as strings.
"""

from __future__ import annotations

__all__: list[str] = []
