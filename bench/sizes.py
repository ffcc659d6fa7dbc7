"""Size rules of offerings and the normalization of a request's size parameters.

An offering stores the sizes it supports as a JSON object; every key is optional:

    {"ratios": ["1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "4:5", "5:4"],
     "tiers": ["1K", "2K"], "multiple_of": 16, "custom": true, "min_side": 1,
     "max_side": 14142, "max_mp": 4, "default_ratio": "1:1", "default_tier": "1K",
     "auto": true, "labels": false, "custom_min_side": 256, "custom_max_side": 2048,
     "fixed_sizes": {"1:1": "1024x1024", "3:2": "1536x1024"}, "max_aspect": 3}

``labels`` says the endpoint takes ratio and tier labels for the sizes of its table
even when it also takes custom pixels (Replicate's FLUX.2: ``aspect_ratio`` +
``resolution``, or ``aspect_ratio="custom"`` with ``width``/``height``); custom
pixels must then lie within ``custom_min_side``..``custom_max_side``, and a custom
size outside them maps to the nearest row of the table. ``fixed_sizes`` lists the
only sizes an endpoint takes, one per ratio (OpenAI's GPT image models:
1024x1024, 1536x1024, 1024x1536); any request maps to the one of nearest ratio.
``max_aspect`` bounds how many times longer than the short side the long one may be
(OpenAI's gpt-image-2 family: 3, i.e. 1:3..3:1); a custom size beyond it is cut down
on its long side.

A request names ``size`` ("WxH" pixels, "W:H" ratio or "auto"), ``aspect_ratio``
("16:9") and ``resolution`` ("0.5K", "1K", "2K", "4K", or megapixel tiers "0.25",
"1"). ``size`` always wins; otherwise the ratio sets the shape and the tier the
scale, each mapped to the nearest one the offering supports. A tier is an area:
"nK" is (n*1024)^2 px and "n" is n megapixels of 1,048,576 px. The width and
height of a ratio r = w/h at area A are

    height = round_half_up(sqrt(A / r)),  width = round_half_up(height * r)

which reproduces the reference 1K table exactly (1:1 -> 1024x1024, 16:9 ->
1365x768, 4:3 -> 1183x887, 3:4 -> 887x1182, ...); offerings with ``multiple_of``
then round each side to the nearest multiple.

Pure module: no Django, stdlib only (the site, the benchmark runner and the API
gateway all use it). Bad request values raise SizeError, whose ``param`` names the
offending parameter for OpenAI's error ``param`` field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

PIXELS_PER_MEGAPIXEL = 1024 * 1024
DEFAULT_RATIOS = ("1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "4:5", "5:4")
DEFAULT_TIERS = ("1K",)
DEFAULT_MAX_SIDE = 14142

_NUMBER = r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))"
_PIXELS_RE = re.compile(rf"{_NUMBER}\s*[x×]\s*{_NUMBER}", re.IGNORECASE)
_RATIO_RE = re.compile(rf"{_NUMBER}\s*:\s*{_NUMBER}")
_TIER_RE = re.compile(rf"{_NUMBER}\s*(k|mp)?", re.IGNORECASE)
_EXAMPLES = {
    "size": '"1024x1024", "16:9" or "auto"',
    "aspect_ratio": '"16:9"',
    "resolution": '"1K" or "0.25"',
}
_RULE_KEYS = (
    "ratios", "tiers", "multiple_of", "custom", "min_side", "max_side", "max_mp",
    "default_ratio", "default_tier", "auto", "labels", "custom_min_side", "custom_max_side",
    "fixed_sizes", "max_aspect",
)  # fmt: skip


class SizeError(ValueError):
    """A request's size parameter is malformed; ``param`` says which one."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


class SizeRulesError(ValueError):
    """An offering's stored size rules are malformed (an operator error, not a request's)."""


@dataclass(frozen=True)
class ImageSize:
    """Output dimensions in pixels, with the supported ratio and tier they stand for.

    Custom sizes carry their own reduced ratio ("1920x1080" -> "16:9") and no tier.
    ``is_auto`` means the offering may choose the size itself; width and height are
    then its default ratio at its default tier.
    """

    width: int
    height: int
    aspect_ratio: str
    tier: str | None = None
    is_auto: bool = False

    @property
    def size(self) -> str:
        """The "WxH" string a request would use for these dimensions."""
        return f"{self.width}x{self.height}"

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def megapixels(self) -> float:
        """Pixels / 1,048,576, for display; billing rounds with pricing.billed_megapixels."""
        return self.pixels / PIXELS_PER_MEGAPIXEL


@dataclass(frozen=True)
class SizeRules:
    """The sizes one offering accepts (see the module docstring for the JSON shape).

    ``custom`` offerings take any "WxH" with sides in min_side..max_side, rounded to
    ``multiple_of``; a custom size over ``max_mp`` megapixels is scaled down, keeping
    its shape, to fit (the providers resize such images anyway). Offerings without
    ``custom`` map a "WxH" to their nearest ratio and tier. ``auto`` says whether the
    provider can choose the size itself when asked for "auto".
    """

    ratios: tuple[str, ...] = DEFAULT_RATIOS
    tiers: tuple[str, ...] = DEFAULT_TIERS
    multiple_of: int = 1
    custom: bool = True
    min_side: int = 1
    max_side: int = DEFAULT_MAX_SIDE
    max_mp: int | None = None
    default_ratio: str | None = None
    default_tier: str | None = None
    auto: bool = False
    labels: bool = False
    custom_min_side: int | None = None
    custom_max_side: int | None = None
    fixed_sizes: Mapping[str, str] | None = None
    max_aspect: int | None = None

    def __post_init__(self) -> None:
        fixed = _rules_fixed_sizes(self.fixed_sizes)
        if fixed is not None:
            if self.custom:
                raise SizeRulesError("fixed_sizes and custom exclude each other")
            if tuple(self.ratios) == DEFAULT_RATIOS:
                object.__setattr__(self, "ratios", tuple(fixed))
            if set(self.ratios) != set(fixed):
                raise SizeRulesError("ratios must be the keys of fixed_sizes")
            object.__setattr__(self, "fixed_sizes", fixed)
        ratios = _rules_labels("ratios", self.ratios)
        for label in ratios:
            _rules_check("ratios", parse_ratio, label)
        tiers = tuple(
            _rules_check("tiers", parse_tier, label)[0]
            for label in _rules_labels("tiers", self.tiers)
        )
        for name in ("multiple_of", "min_side", "max_side"):
            _rules_positive_int(name, getattr(self, name))
        if self.max_side < self.min_side:
            raise SizeRulesError(f"max_side {self.max_side} is below min_side {self.min_side}")
        if self.max_mp is not None:
            _rules_positive_int("max_mp", self.max_mp)
        for name in ("custom_min_side", "custom_max_side", "max_aspect"):
            if getattr(self, name) is not None:
                _rules_positive_int(name, getattr(self, name))
        for name in ("custom", "auto", "labels"):
            if not isinstance(getattr(self, name), bool):
                raise SizeRulesError(f"{name} must be true or false, got {getattr(self, name)!r}")

        default_ratio = self.default_ratio
        if default_ratio is None:
            default_ratio = "1:1" if "1:1" in ratios else ratios[0]
        if default_ratio not in ratios:
            raise SizeRulesError(f"default_ratio {default_ratio!r} is not one of the ratios")
        default_tier = self.default_tier
        if default_tier is None:
            default_tier = "1K" if "1K" in tiers else tiers[0]
        default_tier = _rules_check("default_tier", parse_tier, default_tier)[0]
        if default_tier not in tiers:
            raise SizeRulesError(f"default_tier {default_tier!r} is not one of the tiers")

        object.__setattr__(self, "ratios", ratios)
        object.__setattr__(self, "tiers", tiers)
        object.__setattr__(self, "default_ratio", default_ratio)
        object.__setattr__(self, "default_tier", default_tier)

    @classmethod
    def from_json(cls, data: Mapping) -> SizeRules:
        """Parse the JSON object stored on an offering; raise SizeRulesError if malformed."""
        if not isinstance(data, Mapping):
            raise SizeRulesError(f"size rules must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_RULE_KEYS))
        if unknown:
            raise SizeRulesError(
                f"unknown keys in size rules: {', '.join(unknown)} "
                f"(allowed: {', '.join(_RULE_KEYS)})"
            )
        return cls(**data)

    def to_json(self) -> dict:
        """The JSON object to store on the offering; ``from_json`` reads it back unchanged.

        The endpoint-shape keys (labels, custom bounds, fixed sizes) appear only when set.
        """
        data = {
            "ratios": list(self.ratios),
            "tiers": list(self.tiers),
            "multiple_of": self.multiple_of,
            "custom": self.custom,
            "min_side": self.min_side,
            "max_side": self.max_side,
            "max_mp": self.max_mp,
            "default_ratio": self.default_ratio,
            "default_tier": self.default_tier,
            "auto": self.auto,
        }
        if self.labels:
            data["labels"] = True
        for name in ("custom_min_side", "custom_max_side"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.fixed_sizes is not None:
            data["fixed_sizes"] = dict(self.fixed_sizes)
        if self.max_aspect is not None:
            data["max_aspect"] = self.max_aspect
        return data

    def sends_pixels(self, image_size: ImageSize) -> bool:
        """Whether a request for ``image_size`` names pixels (else ratio and tier labels).

        Custom offerings send pixels, except for the rows of their table when they also
        take labels; fixed sizes are pixels by nature (OpenAI's ``size="1536x1024"``).
        """
        if self.fixed_sizes is not None:
            return True
        if not self.custom:
            return False
        return not (self.labels and image_size.tier is not None)


def normalize_size(
    rules: SizeRules,
    *,
    size: str | None = None,
    aspect_ratio: str | None = None,
    resolution: str | None = None,
) -> ImageSize:
    """The output size an offering should produce for a request's size parameters.

    - ``size`` wins: "WxH" sets shape and scale (aspect_ratio and resolution are
      ignored), "W:H" stands for aspect_ratio, "auto" gives the default ratio at the
      default tier with is_auto set when the offering supports auto.
    - Otherwise ``aspect_ratio`` picks the nearest supported ratio (distance
      |log(r1/r2)|) and ``resolution`` the nearest supported tier (distance
      |log(A1/A2)| between areas); a missing or "auto" value takes the default.
      Ties go to the one listed first in the rules.
    Raises SizeError naming the parameter when a value is malformed.
    """
    ratio_param = "aspect_ratio"
    if size is not None:
        text = _text(size, "size")
        if text.lower() == "auto":
            return _row(rules, rules.default_ratio, rules.default_tier, is_auto=rules.auto)
        if ":" not in text:
            return _custom_size(rules, text)
        aspect_ratio, ratio_param = text, "size"

    ratio_text = None if aspect_ratio is None else _text(aspect_ratio, ratio_param)
    tier_text = None if resolution is None else _text(resolution, "resolution")
    ratio_label, tier_label = rules.default_ratio, rules.default_tier
    if ratio_text is not None and ratio_text.lower() != "auto":
        ratio_label = _nearest_ratio(rules, parse_ratio(ratio_text, param=ratio_param))
    if tier_text is not None and tier_text.lower() != "auto":
        tier_label = _nearest_tier(rules, parse_tier(tier_text)[1])
    given = [t.lower() for t in (ratio_text, tier_text) if t is not None]
    is_auto = rules.auto and bool(given) and all(t == "auto" for t in given)
    return _row(rules, ratio_label, tier_label, is_auto=is_auto)


def size_table(rules: SizeRules, tier: str | None = None) -> list[ImageSize]:
    """One row per supported ratio, in the rules' order, at ``tier`` (nearest supported).

    Without a tier the default tier is used. This is the model page's size table.
    """
    tier_label = rules.default_tier if tier is None else _nearest_tier(rules, parse_tier(tier)[1])
    return [_row(rules, ratio_label, tier_label) for ratio_label in rules.ratios]


def dimensions_for(ratio: str, tier: str, multiple_of: int = 1) -> tuple[int, int]:
    """(width, height) in pixels of ``ratio`` ("16:9") at ``tier`` ("1K", "0.25").

    height = round_half_up(sqrt(A / r)) and width = round_half_up(height * r), for
    r = w/h and A the tier's area, computed exactly in integers; then each side is
    rounded half up to the nearest multiple of ``multiple_of`` (at least one multiple).
    """
    return _dimensions(parse_ratio(ratio), parse_tier(tier)[1], multiple_of)


def parse_ratio(text: str, *, param: str = "aspect_ratio") -> Fraction:
    """The exact value w/h of a "W:H" ratio ("16:9", "2.39:1"); SizeError names ``param``."""
    text = _text(text, param)
    match = _RATIO_RE.fullmatch(text)
    if not match:
        raise SizeError(param, f'"{text}" is not an aspect ratio like "16:9"')
    width, height = Fraction(match[1]), Fraction(match[2])
    if width < 0 or height < 0:
        raise SizeError(param, f'"{text}" has a negative term; ratios look like "16:9"')
    if width == 0 or height == 0:
        raise SizeError(param, f'"{text}" has a zero term; ratios look like "16:9"')
    return width / height


def parse_tier(text: str, *, param: str = "resolution") -> tuple[str, Fraction]:
    """(canonical label, area in px) of a tier, case-insensitive.

    "0.5k" -> ("0.5K", 512^2), "4K" -> ("4K", 4096^2), "0.25" or "0.25 MP" ->
    ("0.25", 0.25 * 1,048,576). Any positive number is a tier; mapping to the
    offering's tiers happens later.
    """
    text = _text(text, param)
    match = _TIER_RE.fullmatch(text)
    if not match:
        raise SizeError(param, f'"{text}" is not a resolution tier like "1K", "2K" or "0.25"')
    value = Fraction(match[1])
    if value <= 0:
        raise SizeError(param, f'"{text}" must be above zero, like "1K" or "0.25"')
    number = format(Decimal(match[1]).normalize(), "f")
    if (match[2] or "").lower() == "k":
        return f"{number}K", (value * 1024) ** 2
    return number, value * PIXELS_PER_MEGAPIXEL


def _custom_size(rules: SizeRules, text: str) -> ImageSize:
    match = _PIXELS_RE.fullmatch(text)
    if not match:
        if _TIER_RE.fullmatch(text):
            raise SizeError(
                "size",
                f'"{text}" is a resolution tier, not a size; '
                f'pass it as resolution, or give "WxH" pixels',
            )
        raise SizeError("size", f'"{text}" is not "WxH" pixels, a "W:H" ratio or "auto"')
    width, height = Fraction(match[1]), Fraction(match[2])
    bounds = f"sides must be {rules.min_side}..{rules.max_side} px"
    if width.denominator != 1 or height.denominator != 1:
        raise SizeError("size", f'"{text}" has a fractional side; sides must be whole pixels')
    if min(width, height) < 0:
        raise SizeError("size", f'"{text}" has a negative side; {bounds}')
    if min(width, height) == 0:
        raise SizeError("size", f'"{text}" has a zero side; {bounds}')
    if max(width, height) > rules.max_side:
        raise SizeError("size", f'"{text}" has a side over {rules.max_side} px; {bounds}')
    if min(width, height) < rules.min_side:
        raise SizeError("size", f'"{text}" has a side under {rules.min_side} px; {bounds}')
    width, height = int(width), int(height)

    nearest = _row(
        rules,
        _nearest_ratio(rules, Fraction(width, height)),
        _nearest_tier(rules, Fraction(width * height)),
    )
    if not rules.custom:
        return nearest
    width = _round_to_multiple(width, rules.multiple_of, rules.max_side)
    height = _round_to_multiple(height, rules.multiple_of, rules.max_side)
    low, high = rules.custom_min_side or 1, rules.custom_max_side or rules.max_side
    if not low <= min(width, height) <= max(width, height) <= high:
        # Out of the endpoint's custom bounds: a labelled row is the nearest it can take.
        if rules.labels:
            return nearest
        width, height = _fit_sides(width, height, low, high, rules.multiple_of)
    if rules.max_aspect and max(width, height) > rules.max_aspect * min(width, height):
        longest = rules.max_aspect * min(width, height) // rules.multiple_of * rules.multiple_of
        width, height = (longest, height) if width > height else (width, longest)
    # A size the offering's own table lists keeps its labels, and is never shrunk
    # even where a tier's rounding lands a little over max_mp (2K 4:3 is 2365x1774).
    if (width, height) == (nearest.width, nearest.height):
        return nearest
    if rules.max_mp is not None and width * height > rules.max_mp * PIXELS_PER_MEGAPIXEL:
        width, height = _shrink(
            width, height, rules.max_mp * PIXELS_PER_MEGAPIXEL, rules.multiple_of
        )
    divisor = math.gcd(width, height)
    return ImageSize(width, height, f"{width // divisor}:{height // divisor}")


def _row(rules: SizeRules, ratio_label: str, tier_label: str, *, is_auto=False) -> ImageSize:
    if rules.fixed_sizes is not None:
        width, height = parse_pixels(rules.fixed_sizes[ratio_label])
        return ImageSize(width, height, ratio_label, tier_label, is_auto)
    width, height = dimensions_for(ratio_label, tier_label, rules.multiple_of)
    low, high = rules.custom_min_side, rules.custom_max_side
    if rules.custom and not rules.labels and (low or high):
        # Pixels are all such an endpoint takes: a row outside its bounds is scaled in.
        low, high = low or 1, high or rules.max_side
        if not low <= min(width, height) <= max(width, height) <= high:
            width, height = _fit_sides(width, height, low, high, rules.multiple_of)
    return ImageSize(width, height, ratio_label, tier_label, is_auto)


def _dimensions(ratio: Fraction, area_px: Fraction, multiple_of: int) -> tuple[int, int]:
    # round_half_up(sqrt(x)) == (isqrt(floor(4x)) + 1) // 2 exactly, with no float
    # that could flip a .5 case such as 3:4 at 1K (width 886.5 -> 887).
    height = max(1, (math.isqrt(math.floor(4 * area_px / ratio)) + 1) // 2)
    width = max(1, math.floor(height * ratio + Fraction(1, 2)))
    return _round_to_multiple(width, multiple_of), _round_to_multiple(height, multiple_of)


def _round_to_multiple(side: int, multiple: int, max_side: int | None = None) -> int:
    rounded = max(multiple, (2 * side + multiple) // (2 * multiple) * multiple)
    if max_side is not None and rounded > max_side:
        rounded = max(multiple, max_side // multiple * multiple)
    return rounded


def _fit_sides(width: int, height: int, low: int, high: int, multiple: int) -> tuple[int, int]:
    # Scale (keeping the shape) until both sides are within low..high, then round down.
    scale = min(
        Fraction(high, max(width, height)), max(Fraction(1), Fraction(low, min(width, height)))
    )
    width, height = math.floor(width * scale), math.floor(height * scale)
    return (
        min(high // multiple * multiple, max(multiple, width // multiple * multiple)),
        min(high // multiple * multiple, max(multiple, height // multiple * multiple)),
    )


def parse_pixels(text: str) -> tuple[int, int]:
    """(width, height) of a "WxH" string; SizeError when it is not one."""
    match = _PIXELS_RE.fullmatch(text.strip())
    if not match or "." in text:
        raise SizeError("size", f'"{text}" is not "WxH" pixels')
    return int(match[1]), int(match[2])


def _shrink(width: int, height: int, max_px: int, multiple: int) -> tuple[int, int]:
    # floor(side * sqrt(max_px / area)) in integers; rounding down keeps the area in bounds.
    area = width * height
    width = math.isqrt(width * width * max_px // area)
    height = math.isqrt(height * height * max_px // area)
    return max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)


def _nearest_ratio(rules: SizeRules, ratio: Fraction) -> str:
    return min(rules.ratios, key=lambda label: _log_distance(ratio, parse_ratio(label)))


def _nearest_tier(rules: SizeRules, area_px: Fraction) -> str:
    return min(rules.tiers, key=lambda label: _log_distance(area_px, parse_tier(label)[1]))


def _log_distance(a: Fraction, b: Fraction) -> Fraction:
    # max(a/b, b/a) orders candidates exactly as |log a - log b| does, without floats.
    return max(a / b, b / a)


def _text(value, param: str) -> str:
    if not isinstance(value, str):
        raise SizeError(
            param,
            f"expected a string such as {_EXAMPLES[param]}, got {type(value).__name__} {value!r}",
        )
    text = value.strip()
    if not text:
        raise SizeError(param, f'"{value}" is empty; expected a string such as {_EXAMPLES[param]}')
    return text


def _rules_labels(name: str, labels) -> tuple[str, ...]:
    if (
        not isinstance(labels, tuple | list)
        or not labels
        or not all(isinstance(label, str) for label in labels)
    ):
        raise SizeRulesError(f"{name} must be a non-empty list of strings, got {labels!r}")
    return tuple(label.strip() for label in labels)


def _rules_check(name: str, parse, label):
    try:
        return parse(label)
    except SizeError as error:
        raise SizeRulesError(f"{name}: {error}") from None


def _rules_fixed_sizes(value) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise SizeRulesError(f'fixed_sizes must map ratios to "WxH" sizes, got {value!r}')
    for ratio, pixels in value.items():
        _rules_check("fixed_sizes", parse_ratio, ratio)
        if not isinstance(pixels, str):
            raise SizeRulesError(f'fixed_sizes: {ratio} must map to a "WxH" string')
        _rules_check("fixed_sizes", parse_pixels, pixels)
    return dict(value)


def _rules_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SizeRulesError(f"{name} must be a positive integer, got {value!r}")
