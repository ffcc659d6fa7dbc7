"""What one provider endpoint accepts, as data, and the check of every request before it is paid.

An offering's ``capabilities`` (a JSON object in the catalog, beside its size rules)
say which output formats the endpoint takes, which input fields, and where that is
documented::

    {"formats": ["jpeg", "png"],
     "params": ["prompt", "image_size", "seed", "output_format", "image_urls"],
     "source": ["https://fal.ai/models/fal-ai/flux-2-pro/api"]}

An endpoint that takes its size tier under another name than ``resolution`` says so
in ``tier_param`` (Replicate's Seedream 4: ``"size": "2K"``).

The sizes it takes live in its size rules (``bench.sizes.SizeRules``: ratios,
tiers, custom bounds, multiples, fixed sizes). ``check_body`` reads the body an
adapter built (the provider's own field names) and lists every way it breaks those
limits; ``bench.providers.generate`` refuses such a request locally, as ``skipped``
with the reasons, so nothing a real provider would refuse is ever sent or paid.

Pure module: stdlib only, no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.sizes import SizeError, SizeRules, parse_pixels, parse_ratio, parse_tier

FORMATS = ("jpeg", "png", "webp")
# Fields adapters send by default that an endpoint may not take; left out when it does not.
OPTIONAL_FIELDS = frozenset({"resolution", "output_format", "seed"})
# Names the endpoints' schemas give their reference images, lists first. Replicate:
# FLUX.2 `input_images`, Nano Banana and Seedream `image_input`, Kontext `input_image`,
# Qwen `image` (https://replicate.com/<owner>/<model>/api/schema); fal: `image_urls`,
# Kontext `image_url` (https://fal.ai/models/<endpoint>/api).
REFERENCE_FIELDS = (
    "input_images",
    "image_input",
    "image_urls",
    "input_image",
    "image_url",
    "image",
)
LIST_REFERENCE_FIELDS = frozenset({"input_images", "image_input", "image_urls"})
# Lossy requests fall back to the other lossy format first, lossless ones to png.
_FALLBACKS = {"webp": ("jpeg", "png"), "jpeg": ("webp", "png"), "png": ("webp", "jpeg")}
_KEYS = ("formats", "params", "source")
_TIER_PARAMS = ("resolution", "size")


class CapabilitiesError(ValueError):
    """An offering's stored capabilities are malformed (an operator error)."""


@dataclass(frozen=True)
class Capabilities:
    """Output formats and input fields one endpoint takes, and the documents that say so.

    ``params`` empty means "not stated": any field the adapter builds is let through.
    """

    formats: tuple[str, ...] = FORMATS
    params: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    tier_param: str = "resolution"

    def __post_init__(self) -> None:
        if self.tier_param not in _TIER_PARAMS:
            raise CapabilitiesError(
                f"tier_param must be one of {', '.join(_TIER_PARAMS)}, got {self.tier_param!r}"
            )
        for name in _KEYS:
            value = getattr(self, name)
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise CapabilitiesError(f"{name} must be a list of strings, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown or not self.formats:
            raise CapabilitiesError(
                f"formats must be a non-empty subset of {', '.join(FORMATS)}; got {self.formats!r}"
            )

    @classmethod
    def from_json(cls, data: Mapping | None) -> Capabilities:
        """Parse the JSON object stored on an offering ({} or None: nothing stated)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise CapabilitiesError(f"capabilities must be a JSON object, got {data!r}")
        allowed = (*_KEYS, "tier_param")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise CapabilitiesError(
                f"unknown keys in capabilities: {', '.join(unknown)} "
                f"(allowed: {', '.join(allowed)})"
            )
        return cls(**{key: data[key] for key in allowed if key in data})

    def to_json(self) -> dict:
        data: dict = {key: list(getattr(self, key)) for key in _KEYS}
        if self.tier_param != "resolution":
            data["tier_param"] = self.tier_param
        return data

    def omitted_fields(self) -> frozenset[str]:
        """The optional fields to leave out of requests (those ``params`` does not list)."""
        if not self.params:
            return frozenset()
        return OPTIONAL_FIELDS - set(self.params)

    def reference_field(self) -> str | None:
        """The field this endpoint takes reference images in, when ``params`` names one."""
        return next((name for name in REFERENCE_FIELDS if name in self.params), None)

    def output_format(self, requested: str) -> str:
        """The format to ask the endpoint for: ``requested`` if it takes it, else the nearest.

        The API gateway converts the answer back to the requested format; a benchmark
        records what came.
        """
        requested = "jpeg" if requested == "jpg" else requested
        if requested in self.formats:
            return requested
        for candidate in _FALLBACKS.get(requested, ("png", "jpeg", "webp")):
            if candidate in self.formats:
                return candidate
        return self.formats[0]


# What each protocol takes when an offering states nothing (probe, new offerings).
# BFL's FLUX.2 needs sides in multiples of 16 (https://docs.bfl.ai/flux_2/flux2_text_to_image);
# fal's FLUX.2 endpoints take jpeg and png only (fal-js endpoints.ts, Flux2ProInput).
PROTOCOL_SIZE_RULES = {
    "bfl": {"multiple_of": 16, "custom": True, "min_side": 64, "max_mp": 4},
    "fal_queue": {"multiple_of": 16, "custom": True},
    "fal_sync": {"multiple_of": 16, "custom": True},
    # Replicate's models differ too much for one rule (FLUX.2 alone takes 256..2048):
    # a probe sends the pixels it is given.
    "replicate": {"custom": True},
    "openai_images": {"multiple_of": 16, "custom": True},
}  # fmt: skip
PROTOCOL_CAPABILITIES = {
    "bfl": Capabilities(formats=("jpeg", "png", "webp")),
    "fal_queue": Capabilities(formats=("jpeg", "png")),
    "fal_sync": Capabilities(formats=("jpeg", "png")),
    "replicate": Capabilities(formats=("webp", "jpeg", "png")),
    "openai_images": Capabilities(formats=("png", "jpeg", "webp")),
}


def protocol_defaults(kind: str) -> tuple[SizeRules, Capabilities]:
    """The size rules and capabilities assumed for an endpoint of ``kind`` with none stated."""
    return SizeRules.from_json(PROTOCOL_SIZE_RULES.get(kind, {})), PROTOCOL_CAPABILITIES.get(
        kind, Capabilities()
    )


def check_body(
    kind: str,
    body: Mapping,
    rules: SizeRules,
    capabilities: Capabilities,
    *,
    passthrough: tuple[str, ...] = (),
) -> list[str]:
    """Every way ``body`` (an adapter's provider-native input) breaks the endpoint's limits.

    ``passthrough`` names fields the caller added on purpose (unknown API parameters
    pass through unchecked). An empty list means the request may be sent.
    """
    problems: list[str] = []
    if capabilities.params:
        extra = sorted(set(body) - set(capabilities.params) - set(passthrough))
        if extra:
            problems.append(f"the endpoint takes no {', '.join(extra)}")
    fmt = body.get("output_format")
    if fmt is not None:
        fmt = "jpeg" if fmt == "jpg" else fmt
        if fmt not in capabilities.formats:
            problems.append(
                f"output_format {fmt!r} is not one of {', '.join(capabilities.formats)}"
            )
    problems += _size_problems(kind, body, rules, capabilities.tier_param)
    return problems


def _size_problems(
    kind: str, body: Mapping, rules: SizeRules, tier_param: str = "resolution"
) -> list[str]:
    if kind == "openai_images":
        size = body.get("size")
        if size is None or size == "auto":
            return [] if size is None or rules.auto else ["size 'auto' is not taken"]
        try:
            width, height = parse_pixels(str(size))
        except SizeError:
            return [f"size {size!r} is not WxH pixels"]
        if rules.fixed_sizes is not None:
            if size not in rules.fixed_sizes.values():
                allowed = ", ".join(rules.fixed_sizes.values())
                return [f"size {size} is not one of {allowed}"]
            return []
        return _pixel_problems(width, height, rules)
    if kind == "replicate":
        ratio = body.get("aspect_ratio")
        if tier_param == "size" and body.get("size") == "custom":
            ratio = "custom"  # Seedream 4 names custom sizes in its tier field
        if ratio == "custom" or "width" in body or "height" in body:
            if ratio != "custom":
                return ["width/height are only taken with aspect_ratio='custom'"]
            if not rules.custom:
                return ["the endpoint takes no custom size"]
            return _pixel_problems(body.get("width"), body.get("height"), rules, custom=True)
        tier = body.get(tier_param)
        if tier is not None:
            tier = str(tier).removesuffix(" MP").strip()
        return _label_problems(ratio, tier, rules)
    if kind in ("fal_queue", "fal_sync"):
        size = body.get("image_size")
        if isinstance(size, Mapping):
            if not rules.custom:
                return ["the endpoint takes no custom image_size"]
            return _pixel_problems(size.get("width"), size.get("height"), rules)
        return _label_problems(body.get("aspect_ratio"), body.get("resolution"), rules)
    if kind == "bfl":
        if "width" in body or "height" in body:
            if not rules.custom:
                return ["the endpoint takes aspect_ratio, not width/height"]
            return _pixel_problems(body.get("width"), body.get("height"), rules)
        return _label_problems(body.get("aspect_ratio"), None, rules)
    return []


def _pixel_problems(width, height, rules: SizeRules, *, custom: bool = False) -> list[str]:
    if not all(isinstance(side, int) and not isinstance(side, bool) for side in (width, height)):
        return [f"width and height must be whole pixels, got {width!r}x{height!r}"]
    problems = []
    if width % rules.multiple_of or height % rules.multiple_of:
        problems.append(f"{width}x{height} is not in multiples of {rules.multiple_of}")
    low = (rules.custom_min_side if custom else None) or rules.min_side
    high = (rules.custom_max_side if custom else None) or rules.max_side
    if not low <= min(width, height) <= max(width, height) <= high:
        problems.append(f"{width}x{height} has a side outside {low}..{high} px")
    if rules.max_aspect and max(width, height) > rules.max_aspect * min(width, height):
        problems.append(f"{width}x{height} is longer than 1:{rules.max_aspect}")
    return problems


def _label_problems(ratio, tier, rules: SizeRules) -> list[str]:
    problems = []
    if ratio is not None and ratio != "auto":
        try:
            value = parse_ratio(str(ratio))
        except SizeError:
            return [f"aspect_ratio {ratio!r} is not a ratio"]
        if all(parse_ratio(label) != value or label != ratio for label in rules.ratios):
            problems.append(f"aspect_ratio {ratio} is not one of {', '.join(rules.ratios)}")
    if tier is not None:
        try:
            label = parse_tier(str(tier))[0]
        except SizeError:
            return problems + [f"resolution {tier!r} is not a tier"]
        if label not in rules.tiers:
            problems.append(f"resolution {tier} is not one of {', '.join(rules.tiers)}")
    return problems
