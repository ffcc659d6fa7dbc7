"""Profiles: per-model latency (lognormal delays) and failure mixes, read from JSON."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

FAILURE_KINDS = (
    "rate_limited",  # 429 with Retry-After on the create call
    "server_error",  # 5xx on the create call
    "unauthorized",  # 401 on the create call, echoing the credential as OpenAI does
    "bad_request",  # 422/400 input validation error
    "moderated",  # the provider's own moderation failure, after processing
    "timeout",  # never finishes (queue protocols) or holds the connection (sync)
    "not_an_image",  # the output bytes are an HTML page
    "wrong_size",  # the output image has half the requested sides
    "drop_connection",  # the connection is cut halfway through the image
    "insufficient_quota",  # billing exhausted: OpenAI 429 insufficient_quota, others 402/403
)
DEFAULT_PROFILE = {
    "seed": 1,
    "default": {
        "queue_ms": {"median": 150, "sigma": 0.5},
        "processing_ms": {"median": 600, "sigma": 0.3},
        "transfer_ms": {"median": 10, "sigma": 0.3},
        "failures": {"rate_limited": 0.02, "server_error": 0.02, "moderated": 0.01},
        "retry_after_s": 1,
    },
    "models": {},
}


# --- profiles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delay:
    """A lognormal delay: ``median_ms * exp(sigma * Z)`` with Z standard normal."""

    median_ms: float = 0.0
    sigma: float = 0.0

    @classmethod
    def from_json(cls, value) -> Delay:
        if isinstance(value, int | float):
            return cls(float(value), 0.0)
        return cls(float(value.get("median", 0.0)), float(value.get("sigma", 0.0)))

    def sample_s(self, rng: random.Random) -> float:
        """One draw, in seconds."""
        if self.median_ms <= 0:
            return 0.0
        return self.median_ms * math.exp(self.sigma * rng.gauss(0.0, 1.0)) / 1000


@dataclass(frozen=True)
class ModelProfile:
    """Latency and failure behaviour of one simulated model.

    ``failures`` maps a kind of ``FAILURE_KINDS`` to its probability per request.
    ``inline`` answers with the image inside the body (Replicate data URI, fal
    sync_mode, OpenAI b64_json always is). ``echo_credentials`` puts the caller's key
    in error bodies, as misbehaving gateways do, so tests can prove it never leaks.
    """

    queue: Delay = Delay()
    processing: Delay = Delay()
    transfer: Delay = Delay()
    failures: tuple[tuple[str, float], ...] = ()
    retry_after_s: float = 1.0
    hang_s: float = 600.0
    inline: bool = False
    echo_credentials: bool = False
    poll_error_rate: float = 0.0  # chance that a status poll answers 503 (the job runs on)

    @classmethod
    def from_json(cls, data: dict, base: ModelProfile | None = None) -> ModelProfile:
        base = base or cls()
        failures = dict(base.failures)
        if "failures" in data:
            failures = {}
            for kind, probability in data["failures"].items():
                if kind not in FAILURE_KINDS:
                    raise ValueError(f"unknown failure kind {kind!r} (known: {FAILURE_KINDS})")
                failures[kind] = float(probability)
        return cls(
            queue=Delay.from_json(data["queue_ms"]) if "queue_ms" in data else base.queue,
            processing=(
                Delay.from_json(data["processing_ms"])
                if "processing_ms" in data
                else base.processing
            ),
            transfer=(
                Delay.from_json(data["transfer_ms"]) if "transfer_ms" in data else base.transfer
            ),
            failures=tuple(failures.items()),
            retry_after_s=float(data.get("retry_after_s", base.retry_after_s)),
            hang_s=float(data.get("hang_s", base.hang_s)),
            inline=bool(data.get("inline", base.inline)),
            echo_credentials=bool(data.get("echo_credentials", base.echo_credentials)),
            poll_error_rate=float(data.get("poll_error_rate", base.poll_error_rate)),
        )

    def draw_outcome(self, rng: random.Random) -> str:
        """``ok`` or one failure kind, drawn with the profile's probabilities."""
        roll = rng.random()
        for kind, probability in self.failures:
            if roll < probability:
                return kind
            roll -= probability
        return "ok"


class Profile:
    """Per-model behaviour of the simulator, from JSON::

        {"seed": 1,
         "require_key": null,
         "default": {"queue_ms": {"median": 300, "sigma": 0.5},
                     "processing_ms": {"median": 1500, "sigma": 0.3},
                     "transfer_ms": 20,
                     "failures": {"rate_limited": 0.02, "server_error": 0.01},
                     "retry_after_s": 1},
         "models": {"sim/flaky": {"failures": {"server_error": 0.5}}}}

    A model entry overrides the default key by key; models are matched by their
    full id, then by ``owner/alias`` (fal edit subpaths), then fall back to default.
    """

    def __init__(self, data: dict | None = None) -> None:
        data = DEFAULT_PROFILE if data is None else data
        self.seed = data.get("seed", 1)
        self.require_key = data.get("require_key")
        self.default = ModelProfile.from_json(data.get("default", {}))
        self.models = {
            model_id: ModelProfile.from_json(entry, self.default)
            for model_id, entry in data.get("models", {}).items()
        }

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile from a JSON file."""
        return cls(json.loads(Path(path).read_text()))

    def for_model(self, model_id: str) -> ModelProfile:
        if model_id in self.models:
            return self.models[model_id]
        app_id = "/".join(model_id.split("/")[:2])
        return self.models.get(app_id, self.default)


# --- per-provider demo profiles ---------------------------------------------------------


def expand_provider_profiles(data: dict, offerings) -> dict:
    """A profile whose ``models`` also hold an entry for every offering's model ids.

    ``data["providers"]`` maps a provider slug to a model entry (queue, transfer,
    failures, ...) plus ``processing_factor``; ``data["processing_ms"]`` maps a model
    slug to its median processing time. ``offerings`` yields ``(provider_slug,
    model_slug, model_ids)``. Each id gets its provider's entry with processing
    ``median = processing_ms[model] * processing_factor`` (edit ids, ending in
    ``edit``, 1.3 times that). Ids the data already name in ``models`` are kept, so a
    hand-written entry wins. Providers without an entry are left to ``default``.
    """
    providers = data.get("providers", {})
    medians = data.get("processing_ms", {})
    models = dict(data.get("models", {}))
    for provider_slug, model_slug, model_ids in offerings:
        entry = providers.get(provider_slug)
        if entry is None:
            continue
        entry = dict(entry)
        factor = float(entry.pop("processing_factor", 1.0))
        sigma = float(entry.pop("processing_sigma", 0.35))
        base_ms = float(medians.get(model_slug, 1000.0)) * factor
        for model_id in model_ids:
            if not model_id or model_id in models:
                continue
            edit = 1.3 if model_id.rstrip("/").endswith("edit") else 1.0
            models[model_id] = {
                **entry,
                "processing_ms": {"median": round(base_ms * edit), "sigma": sigma},
            }
    return {**data, "models": models}
