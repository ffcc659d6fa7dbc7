"""The model page's parameter reference, generated from the code that normalizes requests.

Types, ranges, defaults and enums come from the gateway's own tables
(`leaderboard.gateway.params`: integer_limits, output_formats, RESPONSE_FORMATS,
ImageParams' defaults; `leaderboard.gateway.uploads`) and from each offering's size rules
and capabilities (`bench.sizes`, `bench.capabilities`). How each provider receives a
parameter is written nowhere: it is found by running the gateway's normalization
(`parse_params` -> `plan` -> the adapter's `body`) without and with the parameter and
comparing the two provider-native bodies. The page cannot say what the gateway does not do.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from bench.providers import ADAPTERS, ImageRequest, ReferenceImage
from bench.sizes import SizeError
from leaderboard.gateway import uploads
from leaderboard.gateway.params import (
    FAL_BOOLEAN_FIELDS,
    RESPONSE_FORMATS,
    ImageParams,
    integer_limits,
    output_formats,
    parse_params,
    plan,
)
from leaderboard.models import Offering

PROMPT = "A lighthouse on a cliff at dawn"
# The reference page's four behaviours, and the fifth that honesty needs.
BEHAVIOURS = {
    "passthrough": "Sent as-is to the provider",
    "renamed": "Same value, sent under the field name the provider expects",
    "converted": "Transformed to the provider's native format",
    "emulated": "Done by the gateway, even where the provider has no such option",
    "not sent": "Accepted, but this provider never receives it",
    "refused": "This provider cannot take it; the gateway routes the request elsewhere",
}
# Parameters the gateway carries out itself whenever the provider's body does not show
# them (service.py makes n requests, returns url or b64_json, re-encodes the image).
EMULATED = {"n", "response_format", "output_format", "output_compression"}
GROUPS = (
    "Core",
    "Size & layout",
    "Media inputs",
    "Output & format",
    "Provider-specific",
    "Accepted, never forwarded",
)
_MISSING = object()


@dataclass(frozen=True)
class Handling:
    """How one provider receives one parameter: a behaviour and the fields it sends."""

    provider: str
    behaviour: str
    detail: str = ""


@dataclass(frozen=True)
class Parameter:
    """One row of the reference; `probe` (fields to send, or None) finds its handling."""

    name: str
    group: str
    type: str
    description: str
    probe: dict | None = None
    base: dict = field(default_factory=dict)
    is_edit_only: bool = False
    allowed: tuple[str, ...] = ()
    default: str = ""
    handling: tuple[Handling, ...] = ()

    @property
    def handling_groups(self) -> list[tuple[str, str, list[str]]]:
        """(behaviour, detail, providers) with providers that are treated alike together."""
        groups: dict[tuple[str, str], list[str]] = {}
        for entry in self.handling:
            groups.setdefault((entry.behaviour, entry.detail), []).append(entry.provider)
        return [(behaviour, detail, names) for (behaviour, detail), names in groups.items()]


def parameter_specs() -> list[Parameter]:
    """What the API accepts, in page order, with a probe value for each parameter."""
    fal_booleans = [
        Parameter(name, "Provider-specific", "boolean", text, probe={name: value})
        for name, text, value in zip(
            FAL_BOOLEAN_FIELDS,
            (
                "fal's safety checker on or off.",
                "fal returns the image inline as a data URI (not kept in its history).",
            ),
            (False, True),
            strict=True,
        )
    ]
    return [
        Parameter("prompt", "Core", "string", "Required. What to draw, or how to edit.",
                  probe={"prompt": "A red kite over the dunes"}),
        Parameter("seed", "Core", "integer", "Random seed for reproducible results.",
                  probe={"seed": 42}),
        Parameter("size", "Size & layout", "string",
                  '"WxH" pixels, "W:H" ratio or "auto"; always wins over aspect_ratio '
                  "and resolution.", probe={"size": "1365x768"}),
        Parameter("aspect_ratio", "Size & layout", "string",
                  "Shape only; any ratio maps to the nearest supported one.",
                  probe={"aspect_ratio": "16:9"}),
        Parameter("resolution", "Size & layout", "string",
                  "Scale tier, keeping the shape; maps to the nearest supported tier.",
                  probe={"resolution": "2K"}),
        Parameter("image", "Media inputs", "file", "Reference image(s) to edit, as "
                  "multipart uploads (image or image[]).", probe={}, is_edit_only=True),
        Parameter("n", "Output & format", "integer", "How many images; the gateway asks "
                  "in parallel, one image per upstream request.", probe={"n": 2}),
        Parameter("response_format", "Output & format", "string", "A URL to the stored "
                  "image, or the bytes as base64.", probe={"response_format": "b64_json"}),
        Parameter("output_format", "Output & format", "string", "Image format; the gateway "
                  "re-encodes when the provider answers in another one.",
                  probe={"output_format": "webp"}),
        Parameter("output_compression", "Output & format", "integer", "Quality of lossy "
                  "formats (jpeg, webp, avif).", probe={"output_compression": 80},
                  base={"output_format": "webp"}),
        Parameter("safety_tolerance", "Provider-specific", "integer", "Moderation "
                  "tolerance, lowest is strictest (BFL's scale).",
                  probe={"safety_tolerance": 3}),
        *fal_booleans,
        Parameter("width", "Provider-specific", "integer", "Replicate's width; with height, "
                  'read as size="WxH" there.', probe={"width": 1360, "height": 768}),
        Parameter("height", "Provider-specific", "integer", "Replicate's height; goes with "
                  "width.", probe={"width": 1360, "height": 768}),
        Parameter("output_quality", "Provider-specific", "integer", "Replicate's own "
                  "quality field for lossy outputs.", probe={"output_quality": 80}),
        Parameter("user", "Accepted, never forwarded", "string", "Your end user's id; kept "
                  "by the gateway, never sent upstream.", probe={"user": "user-1"}),
        Parameter("safety_identifier", "Accepted, never forwarded", "string",
                  "As user.", probe={"safety_identifier": "user-1"}),
        Parameter("stream", "Accepted, never forwarded", "boolean",
                  "Must be false or absent: streaming is refused with a 400."),
        Parameter("partial_images", "Accepted, never forwarded", "integer",
                  "Accepted for OpenAI compatibility; no partial images are sent."),
        Parameter("any other name", "Accepted, never forwarded", "any", "Unknown "
                  "parameters pass straight through to the provider.",
                  probe={"style": "vivid"}),
    ]  # fmt: skip


def parameter_reference(model, offering_ids: list[int]) -> dict:
    """The reference for `model` as served by the offerings `offering_ids` (page order).

    Returns {"groups": [(name, [Parameter])], "providers": [names], "legend": [(behaviour,
    meaning, [parameter names])]}.
    """
    offerings = [
        _Parsed(o)
        for o in sorted(
            Offering.objects.filter(id__in=offering_ids).select_related("provider", "image_model"),
            key=lambda o: offering_ids.index(o.id),
        )
    ]
    rows = [
        _described(spec, model, offerings)
        for spec in parameter_specs()
        if model.does_edit or not spec.is_edit_only
    ]
    legend = [
        (
            name,
            meaning,
            [row.name for row in rows if any(h.behaviour == name for h in row.handling)],
        )
        for name, meaning in BEHAVIOURS.items()
    ]
    return {
        "groups": [(group, [r for r in rows if r.group == group]) for group in GROUPS],
        "providers": [o.provider.name for o in offerings],
        "legend": legend,
    }


class _Parsed:
    """An offering with its JSON rules parsed once (plan() reads them on every call)."""

    def __init__(self, offering: Offering) -> None:
        self.offering = offering
        self.endpoint_kind = offering.endpoint_kind
        self.size_rules = offering.size_rules
        self.capability_rules = offering.capability_rules
        self.pricing_rule = offering.pricing_rule
        self.provider_model_id = offering.provider_model_id
        self.edit_model_id = offering.edit_model_id
        self.key = offering.key
        self.provider = offering.provider
        self.model_slug = offering.image_model.slug
        self.bodies: dict[str, tuple[dict | None, str]] = {}  # the bodies without the probe


def _described(spec: Parameter, model, offerings: list[_Parsed]) -> Parameter:
    limits = integer_limits()
    allowed: tuple[str, ...] = spec.allowed
    if spec.name in limits:
        low, high = limits[spec.name]
        is_power = high > 10**9 and (high + 1) & high == 0  # 2^k - 1: say so, not 19 digits
        allowed = (f"{low}–2^{(high + 1).bit_length() - 1}−1" if is_power else f"{low}–{high:,}",)
    elif spec.name == "response_format":
        allowed = RESPONSE_FORMATS
    elif spec.name == "output_format":
        allowed = output_formats()
    elif spec.name == "aspect_ratio":
        allowed = _union(o.size_rules.ratios for o in offerings)
    elif spec.name == "resolution":
        allowed = _union(o.size_rules.tiers for o in offerings)
    elif spec.name == "size":
        auto = any(o.size_rules.auto for o in offerings)
        allowed = ('"WxH"', '"W:H"') + (('"auto"',) if auto else ())
    elif spec.name == "image":
        most = min(model.max_reference_images, uploads.MAX_IMAGES)
        allowed = (*(f.lower() for f in uploads.ACCEPTED_FORMATS), f"up to {most} images")
    elif spec.type == "boolean":
        allowed = ("true", "false")
    defaults = {f.name: f.default for f in dataclasses.fields(ImageParams)}
    default = defaults.get(spec.name, None)
    handling = tuple(_handling(spec, o) for o in offerings) if spec.probe is not None else ()
    return dataclasses.replace(
        spec,
        allowed=allowed,
        default="" if default in (None, dataclasses.MISSING) else json.dumps(default),
        handling=handling,
    )


def _handling(spec: Parameter, offering: _Parsed) -> Handling:
    provider = offering.provider.name
    references = (_reference(),) if spec.name == "image" else ()
    base_key = json.dumps(spec.base, sort_keys=True)
    if base_key not in offering.bodies:
        offering.bodies[base_key] = _body(offering, spec.base, ())
    before, _ = offering.bodies[base_key]
    after, refusal = _body(offering, {**spec.base, **spec.probe}, references)
    if after is None:
        return Handling(provider, "refused", refusal)
    changed = {k: v for k, v in after.items() if before.get(k, _MISSING) != v}
    # The probe's own field ("style" stands for any unknown name).
    name = spec.name if spec.name in spec.probe else next(iter(spec.probe), spec.name)
    sent = spec.probe.get(name, _MISSING)
    if not changed:
        return Handling(provider, "emulated" if spec.name in EMULATED else "not sent")
    if name in changed and changed[name] == sent:
        return Handling(provider, "passthrough", _fields(changed))
    if len(changed) == 1 and sent in changed.values():
        return Handling(provider, "renamed", _fields(changed))
    return Handling(provider, "converted", _fields(changed))


def _body(offering: _Parsed, fields: dict, references: tuple) -> tuple[dict | None, str]:
    """The provider-native body the gateway would send for this request, or why not."""
    params = parse_params({"model": offering.model_slug, "prompt": PROMPT, **fields})
    try:
        request: ImageRequest = plan(params, offering, references).request
    except SizeError as error:
        return None, str(error)
    model_id = (references and offering.edit_model_id) or offering.provider_model_id
    return ADAPTERS[offering.endpoint_kind].body(request, model_id), ""


def _reference() -> ReferenceImage:
    return ReferenceImage(data=b"png", content_type="image/png", width=1024, height=1024)


def _fields(changed: dict) -> str:
    return ", ".join(f"{name}={_short(value)}" for name, value in changed.items())


def _short(value) -> str:
    if isinstance(value, str) and value.startswith("data:"):
        return "data URI"
    if value == _reference().b64():
        return "base64 image"
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 48 else text[:45] + "…"


def _union(groups) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    return tuple(seen)
