"""Control protocol: the agent asks questions, requests approvals and reports progress.

    from kaizen_core.control import ControlProtocol, InMemoryTransport

    transport = InMemoryTransport()
    transport.client.approve_all()
    async with ControlProtocol(transport) as control:
        assert await control.request_approval("write_file", {"path": "a.txt"})
"""

from kaizen_core.control.messages import ControlRequest, ControlResponse, parse_message
from kaizen_core.control.protocol import ControlProtocol
from kaizen_core.control.transports import CLITransport, InMemoryClient, InMemoryTransport, StdioTransport, Transport

__all__ = [
    "CLITransport",
    "ControlProtocol",
    "ControlRequest",
    "ControlResponse",
    "InMemoryClient",
    "InMemoryTransport",
    "StdioTransport",
    "Transport",
    "parse_message",
]
