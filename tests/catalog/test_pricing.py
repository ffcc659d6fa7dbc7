"""Pricing rules: worked examples whose expected cost can be checked by hand.

1 MP = 1024x1024 = 1,048,576 px. FLUX.2 [pro] is $0.03 for the first megapixel and
$0.015 for each additional one, output and references alike, capped at 4 MP.
"""

from decimal import Decimal

import pytest

from bench.pricing import (
    PricingError,
    PricingRule,
    billed_megapixels,
    format_usd,
    price_per_image_usd,
    pricing_notes,
    request_cost_usd,
)

FLUX2_PRO = PricingRule.from_json(
    {"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "0.015"}
)
NANO_BANANA = PricingRule.from_json({"unit": "image", "usd": "0.039"})
NANO_BANANA_PRO = PricingRule.from_json(
    {"unit": "image", "usd": "0.134", "tier_usd": {"4K": "0.24"}}
)


@pytest.mark.parametrize(
    ("width", "height", "expected_mp"),
    [
        (1024, 1024, 1),  # exactly 1,048,576 px
        (1024, 1025, 2),  # 1,049,600 px: one row over, rounds up
        (100, 100, 1),  # 10,000 px still counts a whole megapixel
        (1, 1, 1),
        (1365, 768, 1),  # 1,048,320 px, the 1K 16:9 size, just under 1 MP
        (2048, 2048, 4),  # exactly 4,194,304 px
        (2365, 1774, 4),  # 2K 4:3 is 4,195,510 px -> 5 MP, capped at 4
        (2560, 2048, 4),  # exactly 5 MP, capped at 4
        (4096, 4096, 4),  # 16 MP, capped at 4
    ],
)
def test_billed_megapixels_round_up_and_cap_at_4(width, height, expected_mp):
    assert billed_megapixels(width, height) == expected_mp


def test_billed_megapixels_cap_follows_max_mp():
    assert billed_megapixels(2560, 2048, max_mp=8) == 5


@pytest.mark.parametrize(
    ("width", "height", "references", "n", "expected_usd"),
    [
        # 1 MP output: the first megapixel only.
        (1024, 1024, (), 1, "0.03"),
        # 1024x1025 is 2 MP: 0.03 + 1 * 0.015.
        (1024, 1025, (), 1, "0.045"),
        # 2048x2048 is 4 MP: 0.03 + 3 * 0.015.
        (2048, 2048, (), 1, "0.075"),
        # 16 MP output billed as 4 MP: 0.03 + 3 * 0.015.
        (4096, 4096, (), 1, "0.075"),
        # A 100x100 reference counts 1 MP: 0.03 + 1 * 0.015.
        (1024, 1024, [(100, 100)], 1, "0.045"),
        # A 5 MP reference (2560x2048) is billed as 4 MP: 0.03 + 4 * 0.015.
        (1024, 1024, [(2560, 2048)], 1, "0.09"),
        # Nine 1 MP references: 0.03 + 9 * 0.015.
        (1024, 1024, [(1024, 1024)] * 9, 1, "0.165"),
        # Mixed references 1 + 2 + 4 MP with a 2 MP output: 0.03 + (1 + 7) * 0.015.
        (1024, 1536, [(512, 512), (1024, 1025), (3000, 3000)], 1, "0.15"),
        # n=3 of a 2 MP output plus one 1 MP reference billed once:
        # 3 * (0.03 + 0.015) + 1 * 0.015.
        (1024, 1536, [(1024, 1024)], 3, "0.15"),
        # n=3 of 1 MP, no references: 3 * 0.03.
        (1024, 1024, (), 3, "0.09"),
    ],
)
def test_flux2_pro_request_costs(width, height, references, n, expected_usd):
    cost = request_cost_usd(FLUX2_PRO, width, height, reference_sizes=references, n=n)
    assert cost == Decimal(expected_usd)
    assert isinstance(cost, Decimal)


@pytest.mark.parametrize(
    ("first_mp_usd", "additional_mp_usd", "expected_usd"),
    [
        # BFL's sheet, "1 MP out + 1 MP ref" column: first + additional.
        ("0.014", "0.001", "0.015"),  # FLUX.2 [klein] 4B
        ("0.015", "0.002", "0.017"),  # FLUX.2 [klein] 9B
        ("0.03", "0.015", "0.045"),  # FLUX.2 [pro]
        ("0.07", "0.03", "0.10"),  # FLUX.2 [max]
        ("0.05", None, "0.10"),  # FLUX.2 [flex]: additional defaults to first
    ],
)
def test_one_megapixel_edit_matches_bfl_price_sheet(first_mp_usd, additional_mp_usd, expected_usd):
    data = {"unit": "megapixel", "first_mp_usd": first_mp_usd}
    if additional_mp_usd is not None:
        data["additional_mp_usd"] = additional_mp_usd
    rule = PricingRule.from_json(data)
    assert request_cost_usd(rule, 1024, 1024, [(1024, 1024)]) == Decimal(expected_usd)


def test_references_are_free_when_the_rule_says_so():
    rule = PricingRule.from_json(
        {"unit": "megapixel", "first_mp_usd": "0.03", "bills_reference_images": False}
    )
    # 2 MP output at 0.03 per MP; the 9 references cost nothing.
    assert request_cost_usd(rule, 1024, 2048, [(1024, 1024)] * 9) == Decimal("0.06")


def test_max_mp_caps_both_output_and_references():
    rule = PricingRule.from_json(
        {"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "0.015", "max_mp": 2}
    )
    # Output 4 MP -> 2, reference 4 MP -> 2: 0.03 + (1 + 2) * 0.015.
    assert request_cost_usd(rule, 2048, 2048, [(2048, 2048)]) == Decimal("0.075")


def test_flat_price_is_per_image_and_ignores_size_and_references():
    # 0.039 * 3, whatever the size; references are free on per-image rules.
    assert request_cost_usd(NANO_BANANA, 4096, 4096, [(1024, 1024)] * 9, n=3) == Decimal("0.117")


@pytest.mark.parametrize(
    ("tier", "n", "expected_usd"),
    [
        (None, 1, "0.134"),
        ("1K", 1, "0.134"),  # not listed in tier_usd: the base price
        ("2K", 1, "0.134"),
        ("4K", 1, "0.24"),  # tier_usd overrides
        ("4k", 1, "0.24"),  # tier labels are case-insensitive
        ("4K", 2, "0.48"),  # 0.24 * 2
    ],
)
def test_flat_tier_price_overrides_the_base_price(tier, n, expected_usd):
    assert request_cost_usd(NANO_BANANA_PRO, 4096, 4096, n=n, tier=tier) == Decimal(expected_usd)


def test_tier_is_ignored_by_megapixel_rules():
    assert request_cost_usd(FLUX2_PRO, 1024, 1024, tier="4K") == Decimal("0.03")


def test_price_per_image_is_a_1024_square_text_to_image_request():
    assert price_per_image_usd(FLUX2_PRO) == Decimal("0.03")
    assert price_per_image_usd(NANO_BANANA) == Decimal("0.039")
    assert price_per_image_usd(NANO_BANANA_PRO) == Decimal("0.134")


def test_megapixel_notes_match_the_reference_page():
    assert pricing_notes(FLUX2_PRO) == [
        "$0.03 for the first megapixel, $0.015 for each additional megapixel",
        "Resolution is rounded up to the next megapixel, "
        "separately for each reference image and the generated image",
        "1 megapixel = 1024x1024 pixels",
        "Each reference image is counted separately (minimum 1 MP each)",
        "Images exceeding 4 megapixels are resized to 4 megapixels",
    ]


def test_notes_follow_the_rule():
    rule = PricingRule.from_json(
        {"unit": "megapixel", "first_mp_usd": "0.05", "max_mp": 8, "bills_reference_images": False}
    )
    assert pricing_notes(rule) == [
        "$0.05 per megapixel",
        "Resolution is rounded up to the next megapixel",
        "1 megapixel = 1024x1024 pixels",
        "Reference images are not billed",
        "Images exceeding 8 megapixels are resized to 8 megapixels",
    ]


def test_flat_notes_list_the_base_and_tier_prices():
    assert pricing_notes(NANO_BANANA) == ["$0.039 per image", "Reference images are not billed"]
    assert pricing_notes(NANO_BANANA_PRO) == [
        "$0.134 per image",
        "$0.24 per image at 4K",
        "Reference images are not billed",
    ]


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.03", "$0.03"), ("0.015", "$0.015"), ("0.030", "$0.03"), ("1", "$1.00"),
     ("0.1", "$0.10"), ("0.0011", "$0.0011"), ("0", "$0.00"), ("1234.5", "$1,234.50")],
)  # fmt: skip
def test_format_usd_shows_cents_and_any_further_digits(amount, text):
    assert format_usd(Decimal(amount)) == text


@pytest.mark.parametrize(
    "data",
    [
        {"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "0.015"},
        {"unit": "megapixel", "first_mp_usd": "0.05", "max_mp": 8, "bills_reference_images": False},
        {"unit": "image", "usd": "0.039"},
        {"unit": "image", "usd": "0.134", "tier_usd": {"4K": "0.24"}},
    ],
)
def test_rules_round_trip_through_json(data):
    rule = PricingRule.from_json(data)
    assert PricingRule.from_json(rule.to_json()) == rule


def test_to_json_writes_defaults_out():
    assert PricingRule.from_json({"unit": "megapixel", "first_mp_usd": "0.05"}).to_json() == {
        "unit": "megapixel",
        "first_mp_usd": "0.05",
        "additional_mp_usd": "0.05",
        "max_mp": 4,
        "bills_reference_images": True,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"unit": "token", "usd": "0.01"}, "unit must be one of image, megapixel; got 'token'"),
        ({"usd": "0.01"}, "unit must be one of"),
        ({"unit": "image"}, "missing key 'usd'"),
        ({"unit": "megapixel", "additional_mp_usd": "0.01"}, "missing key 'first_mp_usd'"),
        ({"unit": "image", "usd": "-0.01"}, "usd must not be negative"),
        ({"unit": "megapixel", "first_mp_usd": "0.03", "additional_mp_usd": "-1"},
         "additional_mp_usd must not be negative"),
        ({"unit": "image", "usd": "0.04", "tier_usd": {"4K": "-0.24"}},
         "tier_usd['4K'] must not be negative"),
        ({"unit": "image", "usd": 0.039}, 'usd must be a decimal string like "0.039", got float'),
        ({"unit": "image", "usd": "cheap"}, 'usd must be a decimal string like "0.039"'),
        ({"unit": "image", "usd": "NaN"}, "usd must be a finite amount"),
        ({"unit": "image", "usd": "0.04", "tier_usd": ["4K"]}, "tier_usd must be an object"),
        ({"unit": "megapixel", "frist_mp_usd": "0.03"}, "unknown keys for a per-megapixel rule"),
        ({"unit": "image", "usd": "0.04", "max_mp": 4},
         "unknown keys for a per-image rule: max_mp"),
        ({"unit": "megapixel", "first_mp_usd": "0.03", "max_mp": 0}, "max_mp must be a positive"),
        ({"unit": "megapixel", "first_mp_usd": "0.03", "max_mp": "4"}, "max_mp must be a positive"),
        ({"unit": "megapixel", "first_mp_usd": "0.03", "bills_reference_images": "yes"},
         "bills_reference_images must be true or false"),
        ("0.03", "a pricing rule must be a JSON object, got str"),
    ],
)  # fmt: skip
def test_bad_rules_are_rejected_with_a_clear_message(data, message):
    with pytest.raises(PricingError) as caught:
        PricingRule.from_json(data)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0, "height": 1024}, "width must be a positive whole number of pixels, got 0"),
        ({"width": 1024, "height": -1}, "height must be a positive whole number of pixels, got -1"),
        ({"width": 1024.0, "height": 1024}, "width must be a positive whole number"),
        ({"width": True, "height": 1024}, "width must be a positive whole number"),
        ({"width": 1024, "height": 1024, "reference_sizes": [(0, 5)]},
         "reference_sizes[0] width must be a positive whole number of pixels, got 0"),
        ({"width": 1024, "height": 1024, "reference_sizes": [(5,)]},
         "reference_sizes[0] must be a (width, height) pair"),
        ({"width": 1024, "height": 1024, "n": 0}, "n must be a positive integer, got 0"),
    ],
)  # fmt: skip
def test_bad_sizes_and_counts_are_rejected(kwargs, message):
    with pytest.raises(PricingError) as caught:
        request_cost_usd(FLUX2_PRO, **kwargs)
    assert message in str(caught.value)
