"""One simulated generation (``Job``) with its ground truth, and the providers' id formats."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench import simulator_limits as limits
from bench.simulator.profiles import ModelProfile

# --- jobs -------------------------------------------------------------------------------


@dataclass
class Job:
    """One simulated generation and its ground truth (monotonic nanoseconds)."""

    id: str
    protocol: str
    model: str
    prompt: str
    width: int
    height: int
    fmt: str
    outcome: str
    received_ns: int
    created_at: datetime
    queue_s: float
    processing_s: float
    transfer_s: float
    seed: int | None = None
    references: int = 0
    profile: ModelProfile = field(default_factory=ModelProfile, repr=False)
    signature: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    inline: bool = False
    canceled: bool = False
    refusal: limits.Refusal | None = None  # a fal job whose input the schema refused
    first_byte_ns: int | None = None
    last_byte_ns: int | None = None

    @property
    def start_ns(self) -> int:
        return self.received_ns + int(self.queue_s * 1e9)

    @property
    def done_ns(self) -> int:
        if self.outcome == "timeout":
            return self.received_ns + int(1e15)
        return self.start_ns + int(self.processing_s * 1e9)

    def state(self, now_ns: int) -> str:
        """``queued``, ``processing``, ``done`` or ``canceled`` at ``now_ns``."""
        if self.canceled:
            return "canceled"
        if now_ns < self.start_ns:
            return "queued"
        if now_ns < self.done_ns:
            return "processing"
        return "done"

    def wall(self, offset_s: float) -> str:
        moment = self.created_at + timedelta(seconds=offset_s)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def truth(self) -> dict:
        """Ground truth for the measurement-quality benchmark."""
        return {
            "id": self.id,
            "protocol": self.protocol,
            "model": self.model,
            "outcome": self.outcome,
            "received_ns": self.received_ns,
            "first_byte_ns": self.first_byte_ns,
            "last_byte_ns": self.last_byte_ns,
            "queue_ms": self.queue_s * 1000,
            "processing_ms": self.processing_s * 1000,
            "transfer_ms": self.transfer_s * 1000,
            "width": self.width,
            "height": self.height,
        }


def _replicate_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _openai_request_id() -> str:
    return "req_" + secrets.token_hex(16)
