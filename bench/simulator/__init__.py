"""A loopback HTTP server that speaks Replicate, fal, BFL and OpenAI images like the real ones.

Same paths, headers, status values and JSON shapes as the real services
(docs/providers.md), real PNG/JPEG/WebP images of the requested size (the prompt's
words on a coloured background), and per-model latency and failure profiles. The
tests, the demo and the measurement-quality benchmark all run against it.

One host serves every protocol:

- Replicate  ``/v1/models/{owner}/{name}/predictions``, ``/v1/predictions[/{id}[/cancel]]``
- OpenAI     ``/v1/images/generations``, ``/v1/images/edits``, ``/v1/models``
- BFL        ``/v1/{model}``, ``/v1/get_result?id=``
- fal        ``/fal/run/{model}`` stands for ``https://fal.run/{model}`` and
             ``/fal/queue/{model}`` for ``https://queue.fal.run/{model}``
- outputs    ``/files/...`` stands for the CDNs (replicate.delivery, v3.fal.media,
             delivery.*.bfl.ai with a signed query)
- ground truth ``/_simulator/jobs``: for every job the server-side monotonic
             timestamps of the request's arrival and of the first and last byte
             of its image (the clock is shared with clients on the same machine).

Requests the real provider would refuse are refused with its status code and
error body, per model family (``bench.simulator_limits``, written from the
providers' documents, never from our catalog); ids of no known family are lenient.
A profile (JSON) gives each model lognormal queue, processing and transfer
delays and a failure mix; see ``Profile``. No key is needed unless the profile
sets ``require_key``. The server is a small asyncio HTTP/1.1 implementation, so
that it stays cheap enough not to distort what it serves.
"""

# The package's public names, importable as ``from bench.simulator import ...``.
from bench.simulator.core import Simulator
from bench.simulator.http import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    HttpRequest,
    HttpResponse,
    json_response,
)
from bench.simulator.images import render_image
from bench.simulator.jobs import Job
from bench.simulator.profiles import (
    DEFAULT_PROFILE,
    FAILURE_KINDS,
    Delay,
    ModelProfile,
    Profile,
)
from bench.simulator.runner import (
    SimulatorServer,
    SimulatorThread,
    serve_forever,
    serve_in_thread,
    server_ssl_context,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_PROFILE",
    "FAILURE_KINDS",
    "Delay",
    "HttpRequest",
    "HttpResponse",
    "Job",
    "ModelProfile",
    "Profile",
    "Simulator",
    "SimulatorServer",
    "SimulatorThread",
    "json_response",
    "render_image",
    "serve_forever",
    "serve_in_thread",
    "server_ssl_context",
]
