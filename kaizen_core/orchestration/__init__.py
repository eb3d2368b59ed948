"""Multi-agent orchestration. Today: semantic routing; pipeline patterns come later."""

from kaizen_core.orchestration.router import RouteMatch, SemanticRouter

__all__ = ["RouteMatch", "SemanticRouter"]
