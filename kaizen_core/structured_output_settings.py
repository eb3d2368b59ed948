"""The response_format settings an agent keeps (:mod:`kaizen_core.structured_output` exports
the class too). A module of its own, loaded by the first agent whose ``provider_config`` has a
``response_format``: a plain agent's start-up does not make this model.
"""

from pydantic import BaseModel

__all__ = ["StructuredOutputSettings"]


class StructuredOutputSettings(BaseModel):
    """What an agent takes from ``provider_config["response_format"]``."""

    name: str | None = None
    strict: bool = True
