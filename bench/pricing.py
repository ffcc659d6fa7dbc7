"""Pricing rules of offerings and the cost of a generation request.

An offering stores its rule as a JSON object (a JSONField); money is a decimal
string so that no price ever passes through a float:

    {"unit": "image", "usd": "0.039"}
    {"unit": "image", "usd": "0.134", "tier_usd": {"4K": "0.24"}}
    {"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "0.015",
     "max_mp": 4, "bills_reference_images": true}

Megapixel rules follow the provider price sheets: 1 MP = 1024x1024 = 1,048,576 px;
the generated image and each reference image are rounded up to the next whole
megapixel separately; anything over ``max_mp`` is billed as ``max_mp`` (the
provider resizes it); the request's first megapixel costs ``first_mp_usd`` and
every further megapixel, of the output or of a reference, ``additional_mp_usd``.

Pure module: no Django, stdlib only. The site, the benchmark runner and the API
gateway all compute costs here, so a cost is never typed in by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PIXELS_PER_MEGAPIXEL = 1024 * 1024
DEFAULT_MAX_MP = 4

_UNITS = ("image", "megapixel")
_IMAGE_KEYS = {"unit", "usd", "tier_usd"}
_MEGAPIXEL_KEYS = {"unit", "first_mp_usd", "additional_mp_usd", "max_mp", "bills_reference_images"}


class PricingError(ValueError):
    """A malformed pricing rule, or a size or count that cannot be priced."""


@dataclass(frozen=True)
class PricingRule:
    """One offering's price sheet, either per image or per megapixel.

    Per image (``unit="image"``): ``usd`` per generated image, overridden for named
    resolution tiers by ``tier_usd`` (pairs of tier label and price, e.g.
    ``(("4K", Decimal("0.24")),)``); reference images are free.

    Per megapixel (``unit="megapixel"``): ``first_mp_usd`` for the request's first
    megapixel, ``additional_mp_usd`` for every further one, sizes capped at
    ``max_mp``; reference images are billed when ``bills_reference_images``.
    """

    unit: str
    usd: Decimal | None = None
    tier_usd: tuple[tuple[str, Decimal], ...] = ()
    first_mp_usd: Decimal | None = None
    additional_mp_usd: Decimal | None = None
    max_mp: int = DEFAULT_MAX_MP
    bills_reference_images: bool = True

    def __post_init__(self) -> None:
        if self.unit == "image":
            _check_price("usd", self.usd)
            for label, price in self.tier_usd:
                _check_price(f"tier_usd[{label!r}]", price)
            tiers = tuple((_tier_key(label), price) for label, price in self.tier_usd)
            object.__setattr__(self, "tier_usd", tiers)
        elif self.unit == "megapixel":
            _check_price("first_mp_usd", self.first_mp_usd)
            if self.additional_mp_usd is None:
                object.__setattr__(self, "additional_mp_usd", self.first_mp_usd)
            _check_price("additional_mp_usd", self.additional_mp_usd)
            if not _is_int(self.max_mp) or self.max_mp < 1:
                raise PricingError(f"max_mp must be a positive integer, got {self.max_mp!r}")
        else:
            raise PricingError(f"unit must be one of {', '.join(_UNITS)}; got {self.unit!r}")

    @classmethod
    def from_json(cls, data: Mapping) -> PricingRule:
        """Parse the JSON object stored on an offering; raise PricingError if malformed."""
        if not isinstance(data, Mapping):
            raise PricingError(f"a pricing rule must be a JSON object, got {type(data).__name__}")
        unit = data.get("unit")
        if unit not in _UNITS:
            raise PricingError(f"unit must be one of {', '.join(_UNITS)}; got {unit!r}")
        allowed = _IMAGE_KEYS if unit == "image" else _MEGAPIXEL_KEYS
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise PricingError(
                f"unknown keys for a per-{unit} rule: {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        if unit == "image":
            tier_usd = data.get("tier_usd", {})
            if not isinstance(tier_usd, Mapping):
                raise PricingError('tier_usd must be an object like {"4K": "0.24"}')
            return cls(
                unit="image",
                usd=_parse_usd("usd", _required(data, "usd")),
                tier_usd=tuple(
                    (_tier_key(label), _parse_usd(f"tier_usd[{label!r}]", price))
                    for label, price in tier_usd.items()
                ),
            )
        first_mp_usd = _parse_usd("first_mp_usd", _required(data, "first_mp_usd"))
        additional = data.get("additional_mp_usd")
        bills_references = data.get("bills_reference_images", True)
        if not isinstance(bills_references, bool):
            raise PricingError(
                f"bills_reference_images must be true or false, got {bills_references!r}"
            )
        return cls(
            unit="megapixel",
            first_mp_usd=first_mp_usd,
            additional_mp_usd=(
                first_mp_usd if additional is None else _parse_usd("additional_mp_usd", additional)
            ),
            max_mp=data.get("max_mp", DEFAULT_MAX_MP),
            bills_reference_images=bills_references,
        )

    def to_json(self) -> dict:
        """The JSON object to store on the offering; ``from_json`` reads it back unchanged."""
        if self.unit == "image":
            data: dict = {"unit": "image", "usd": str(self.usd)}
            if self.tier_usd:
                data["tier_usd"] = {label: str(price) for label, price in self.tier_usd}
            return data
        return {
            "unit": "megapixel",
            "first_mp_usd": str(self.first_mp_usd),
            "additional_mp_usd": str(self.additional_mp_usd),
            "max_mp": self.max_mp,
            "bills_reference_images": self.bills_reference_images,
        }

    def image_price_usd(self, tier: str | None = None) -> Decimal:
        """Per-image price at ``tier`` (a label such as "4K"); the base price if not listed."""
        if self.unit != "image":
            raise PricingError("image_price_usd applies to per-image rules only")
        if tier is not None:
            for label, price in self.tier_usd:
                if label == _tier_key(tier):
                    return price
        return self.usd


def billed_megapixels(width: int, height: int, *, max_mp: int = DEFAULT_MAX_MP) -> int:
    """Whole megapixels billed for one image: ceil(width*height / 1,048,576), at most max_mp.

    Rounding up makes every image, however small, count as at least 1 MP, which is
    the price sheets' minimum for reference images.
    """
    _check_side("width", width)
    _check_side("height", height)
    return min(-(-width * height // PIXELS_PER_MEGAPIXEL), max_mp)


def request_cost_usd(
    rule: PricingRule,
    width: int,
    height: int,
    reference_sizes: Iterable[tuple[int, int]] = (),
    n: int = 1,
    tier: str | None = None,
) -> Decimal:
    """Exact cost in USD of one provider request producing ``n`` images of width x height.

    Per image: price(tier) * n; reference images are free.

    Per megapixel, with out = billed_megapixels(output) and refs = the sum of
    billed_megapixels over ``reference_sizes``:
        n * (first_mp_usd + (out - 1) * additional_mp_usd) + refs * additional_mp_usd
    Reference images are sent, and billed, once per request whatever ``n`` is. A
    gateway that emulates ``n`` with several provider calls prices each call with
    n=1, so each call pays for its references. ``tier`` only matters for per-image
    rules; megapixel rules price the pixels themselves.
    """
    _check_side("width", width)
    _check_side("height", height)
    if not _is_int(n) or n < 1:
        raise PricingError(f"n must be a positive integer, got {n!r}")
    references = list(reference_sizes)
    for index, size in enumerate(references):
        if not isinstance(size, tuple | list) or len(size) != 2:
            raise PricingError(f"reference_sizes[{index}] must be a (width, height) pair")
        _check_side(f"reference_sizes[{index}] width", size[0])
        _check_side(f"reference_sizes[{index}] height", size[1])

    if rule.unit == "image":
        return rule.image_price_usd(tier) * n

    output_mp = billed_megapixels(width, height, max_mp=rule.max_mp)
    output_usd = rule.first_mp_usd + (output_mp - 1) * rule.additional_mp_usd
    reference_mp = 0
    if rule.bills_reference_images:
        reference_mp = sum(billed_megapixels(w, h, max_mp=rule.max_mp) for w, h in references)
    return n * output_usd + reference_mp * rule.additional_mp_usd


def price_per_image_usd(rule: PricingRule) -> Decimal:
    """The site's "price per image": one 1024x1024 text-to-image request."""
    return request_cost_usd(rule, 1024, 1024)


def pricing_notes(rule: PricingRule) -> list[str]:
    """Human-readable notes for the model page, generated from the rule: prices first."""
    if rule.unit == "image":
        notes = [f"{format_usd(rule.usd)} per image"]
        notes += [f"{format_usd(price)} per image at {label}" for label, price in rule.tier_usd]
        notes.append("Reference images are not billed")
        return notes

    if rule.first_mp_usd == rule.additional_mp_usd:
        notes = [f"{format_usd(rule.first_mp_usd)} per megapixel"]
    else:
        notes = [
            f"{format_usd(rule.first_mp_usd)} for the first megapixel, "
            f"{format_usd(rule.additional_mp_usd)} for each additional megapixel"
        ]
    if rule.bills_reference_images:
        notes.append(
            "Resolution is rounded up to the next megapixel, "
            "separately for each reference image and the generated image"
        )
    else:
        notes.append("Resolution is rounded up to the next megapixel")
    notes.append("1 megapixel = 1024x1024 pixels")
    if rule.bills_reference_images:
        notes.append("Each reference image is counted separately (minimum 1 MP each)")
    else:
        notes.append("Reference images are not billed")
    notes.append(
        f"Images exceeding {rule.max_mp} megapixels are resized to {rule.max_mp} megapixels"
    )
    return notes


def format_usd(amount: Decimal) -> str:
    """Dollars for display: at least cents, more digits only when the price has them.

    Decimal("0.03") -> "$0.03", Decimal("0.015") -> "$0.015", Decimal("1") -> "$1.00".
    """
    exponent = amount.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"${amount:,.{places}f}"


def _required(data: Mapping, key: str):
    if key not in data:
        raise PricingError(f"missing key {key!r} for a per-{data['unit']} rule")
    return data[key]


def _parse_usd(name: str, value) -> Decimal:
    # Floats are refused: 0.1 in binary is not 0.1 and money must add up exactly.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PricingError(
            f'{name} must be a decimal string like "0.039", got {type(value).__name__} {value!r}'
        )
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise PricingError(f'{name} must be a decimal string like "0.039", got {value!r}') from None
    _check_price(name, amount)
    return amount


def _check_price(name: str, amount) -> None:
    if not isinstance(amount, Decimal):
        raise PricingError(f"{name} is required and must be a Decimal, got {amount!r}")
    if not amount.is_finite():
        raise PricingError(f"{name} must be a finite amount, got {amount}")
    if amount < 0:
        raise PricingError(f"{name} must not be negative, got {amount}")


def _tier_key(label) -> str:
    if not isinstance(label, str) or not label.strip():
        raise PricingError(f"tier labels must be non-empty strings like '4K', got {label!r}")
    return label.strip().upper()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_side(name: str, value) -> None:
    if not _is_int(value) or value < 1:
        raise PricingError(f"{name} must be a positive whole number of pixels, got {value!r}")
