"""The tamper-evident audit trail (hash-chained JSONL): writer and verifier.

    from kaizen_core.audit import AuditChainWriter, verify_chain

    writer = AuditChainWriter("audit.jsonl")
    writer.append({"event": "deploy", "who": {"user_id": "alice"}})
    assert verify_chain("audit.jsonl").ok

Agents write it through the ``audit`` lifecycle hook (:class:`kaizen_core.hooks.builtin.AuditHook`);
``kaizen audit verify FILE`` checks a file. See docs/observability.md.
"""

from __future__ import annotations

from kaizen_core.audit.chain import (
    GENESIS,
    AuditChainWriter,
    ChainHead,
    VerifyResult,
    canonical_json,
    record_hash,
    verify_chain,
)

__all__ = ["GENESIS", "AuditChainWriter", "ChainHead", "VerifyResult", "canonical_json", "record_hash", "verify_chain"]
