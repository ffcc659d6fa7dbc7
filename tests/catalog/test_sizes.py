"""Size normalization: the reference page's 1K table, nearest matching, bad values.

Dimensions of ratio r = w/h at tier area A:
    height = round_half_up(sqrt(A / r)), width = round_half_up(height * r)
1K is A = 1024^2 = 1,048,576 px, 2K is A = 2048^2 = 4,194,304 px.
"""

from fractions import Fraction

import pytest

from bench.sizes import (
    ImageSize,
    SizeError,
    SizeRules,
    SizeRulesError,
    dimensions_for,
    normalize_size,
    parse_ratio,
    parse_tier,
    size_table,
)

# The ratios in the order the reference page lists its 1K table.
FLUX2_RULES = SizeRules(
    ratios=("4:3", "4:5", "5:4", "1:1", "3:4", "2:3", "3:2", "9:16", "16:9"),
    tiers=("1K", "2K"),
    auto=True,
)

REFERENCE_1K_TABLE = [
    ("4:3", 1183, 887),  # h = sqrt(A * 3/4) = 886.8 -> 887; w = 887 * 4/3 = 1182.7 -> 1183
    ("4:5", 916, 1145),  # h = sqrt(A * 5/4) = 1144.9 -> 1145; w = 1145 * 4/5 = 916
    ("5:4", 1145, 916),  # h = sqrt(A * 4/5) = 915.9 -> 916; w = 916 * 5/4 = 1145
    ("1:1", 1024, 1024),
    ("3:4", 887, 1182),  # h = sqrt(A * 4/3) = 1182.4 -> 1182; w = 1182 * 3/4 = 886.5 -> 887 (up)
    ("2:3", 836, 1254),  # h = sqrt(A * 3/2) = 1254.1 -> 1254; w = 1254 * 2/3 = 836
    ("3:2", 1254, 836),  # h = sqrt(A * 2/3) = 836.1 -> 836; w = 836 * 3/2 = 1254
    ("9:16", 768, 1365),  # h = sqrt(A * 16/9) = 1365.3 -> 1365; w = 1365 * 9/16 = 767.8 -> 768
    ("16:9", 1365, 768),  # h = sqrt(A * 9/16) = 768; w = 768 * 16/9 = 1365.3 -> 1365
]

TABLE_2K = [
    ("4:3", 2365, 1774),  # h = sqrt(4A * 3/4) = 1773.6 -> 1774; w = 1774 * 4/3 = 2365.3 -> 2365
    ("4:5", 1832, 2290),  # h = 2289.7 -> 2290; w = 2290 * 4/5 = 1832
    ("5:4", 2290, 1832),  # h = 1831.8 -> 1832; w = 1832 * 5/4 = 2290
    ("1:1", 2048, 2048),
    ("3:4", 1774, 2365),  # h = 2364.9 -> 2365; w = 2365 * 3/4 = 1773.75 -> 1774
    ("2:3", 1672, 2508),  # h = 2508.3 -> 2508; w = 2508 * 2/3 = 1672
    ("3:2", 2508, 1672),  # h = 1672.2 -> 1672; w = 1672 * 3/2 = 2508
    ("9:16", 1536, 2731),  # h = 2730.7 -> 2731; w = 2731 * 9/16 = 1536.2 -> 1536
    ("16:9", 2731, 1536),  # h = 1536; w = 1536 * 16/9 = 2730.7 -> 2731
]


@pytest.mark.parametrize(("ratio", "width", "height"), REFERENCE_1K_TABLE)
def test_the_reference_1k_table_comes_out_exactly(ratio, width, height):
    assert dimensions_for(ratio, "1K") == (width, height)
    assert normalize_size(FLUX2_RULES, aspect_ratio=ratio, resolution="1K") == ImageSize(
        width, height, ratio, "1K"
    )


@pytest.mark.parametrize(("ratio", "width", "height"), TABLE_2K)
def test_2k_rows_use_the_same_formula(ratio, width, height):
    assert normalize_size(FLUX2_RULES, aspect_ratio=ratio, resolution="2K") == ImageSize(
        width, height, ratio, "2K"
    )


def test_size_table_lists_one_row_per_ratio_in_the_rules_order():
    rows = size_table(FLUX2_RULES, "1K")
    assert [(row.aspect_ratio, row.width, row.height) for row in rows] == REFERENCE_1K_TABLE
    assert {row.tier for row in rows} == {"1K"}
    assert [row.size for row in size_table(FLUX2_RULES, "2K")][:2] == ["2365x1774", "1832x2290"]


def test_size_table_defaults_to_the_default_tier_and_maps_to_the_nearest():
    assert size_table(FLUX2_RULES) == size_table(FLUX2_RULES, "1K")
    assert size_table(FLUX2_RULES, "4K") == size_table(FLUX2_RULES, "2K")


def test_every_table_size_given_as_size_comes_back_with_its_labels():
    for tier in ("1K", "2K"):
        for row in size_table(FLUX2_RULES, tier):
            assert normalize_size(FLUX2_RULES, size=row.size) == row


@pytest.mark.parametrize(
    ("ratio", "tier", "expected"),
    [
        ("1:1", "0.5K", (512, 512)),
        ("1:1", "4K", (4096, 4096)),
        ("1:1", "0.25", (512, 512)),  # 0.25 MP = 262,144 px = 512^2
        ("1:1", "1", (1024, 1024)),  # 1 MP = 1024^2
        ("16:9", "4K", (5461, 3072)),  # h = sqrt(16A * 9/16) = 3072; w = 3072 * 16/9 = 5461.3
    ],
)
def test_other_tiers_use_the_same_formula(ratio, tier, expected):
    assert dimensions_for(ratio, tier) == expected


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        ("1:1", (1024, 1024)),
        ("16:9", (1360, 768)),  # 1365 / 16 = 85.3 -> 85 * 16; 768 = 48 * 16
        ("4:3", (1184, 880)),  # 1183 / 16 = 73.9 -> 74 * 16; 887 / 16 = 55.4 -> 55 * 16
        ("3:4", (880, 1184)),  # 887 -> 880; 1182 / 16 = 73.9 -> 1184
        ("2:3", (832, 1248)),  # 836 / 16 = 52.25 -> 832; 1254 / 16 = 78.4 -> 1248
    ],
)
def test_multiple_of_16_rounds_each_table_side_to_the_nearest_multiple(ratio, expected):
    assert dimensions_for(ratio, "1K", multiple_of=16) == expected
    rules = SizeRules(multiple_of=16)
    assert normalize_size(rules, aspect_ratio=ratio).size == "{}x{}".format(*expected)


def test_multiple_of_16_rounds_custom_sizes_half_up():
    rules = SizeRules(multiple_of=16)
    # 1000 / 16 = 62.5 -> 63 * 16 = 1008; 563 / 16 = 35.2 -> 35 * 16 = 560
    assert normalize_size(rules, size="1000x563") == ImageSize(1008, 560, "9:5")
    # 5 / 16 rounds to 0, but a side is at least one multiple
    assert normalize_size(rules, size="5x5").size == "16x16"
    # 14142 would round up past max_side, so it rounds down: 883 * 16 = 14128
    assert normalize_size(rules, size="14142x16").size == "14128x16"


def test_nearest_ratio_is_chosen_in_log_space():
    rules = SizeRules(ratios=("1:1", "4:1", "8:1"))
    # |log 7 - log 8| = 0.13 < |log 7 - log 4| = 0.56
    assert normalize_size(rules, aspect_ratio="7:1").aspect_ratio == "8:1"
    # 5.8 is nearer 4 on a line (1.8 < 2.2) but nearer 8 in log space (8/5.8 = 1.38 < 5.8/4 = 1.45)
    assert normalize_size(rules, aspect_ratio="5.8:1").aspect_ratio == "8:1"
    # and the same holds for the portrait side: 1:7 -> 1:8
    portrait = SizeRules(ratios=("1:1", "1:4", "1:8"))
    assert normalize_size(portrait, aspect_ratio="1:7").aspect_ratio == "1:8"


def test_21_9_maps_to_16_9_on_the_default_ratios():
    size = normalize_size(SizeRules(), aspect_ratio="21:9")
    assert (size.aspect_ratio, size.size) == ("16:9", "1365x768")


def test_a_tie_between_ratios_goes_to_the_one_listed_first():
    # 2:1 is exactly halfway (log 2) between 1:1 and 4:1
    wide_first, square_first = SizeRules(ratios=("4:1", "1:1")), SizeRules(ratios=("1:1", "4:1"))
    assert normalize_size(wide_first, aspect_ratio="2:1").aspect_ratio == "4:1"
    assert normalize_size(square_first, aspect_ratio="2:1").aspect_ratio == "1:1"


@pytest.mark.parametrize(
    ("tiers", "requested", "expected"),
    [
        # 3K = 3072^2: 16M/9.4M = 1.78 (4K) beats 9.4M/4.2M = 2.25 (2K)
        (("1K", "2K", "4K"), "3K", "4K"),
        # 0.3 MP: 0.3/0.25 = 1.2 beats 1/0.3 = 3.3
        (("0.25", "1"), "0.3", "0.25"),
        (("1K", "2K"), "4k", "2K"),
        (("1K", "2K"), "0.5K", "1K"),
        # 2 MP is 2,097,152 px: 2048^2 / 2 MP = 2 equals 2 MP / 1024^2 = 2, tie to first listed
        (("1K", "2K"), "2", "1K"),
        # 1 MP has the area of 1K
        (("0.5K", "1K", "2K"), "1", "1K"),
        (("1K", "2K"), "auto", "1K"),
    ],
)
def test_nearest_tier_is_chosen_by_log_of_area(tiers, requested, expected):
    assert normalize_size(SizeRules(tiers=tiers), resolution=requested).tier == expected


def test_size_wins_over_aspect_ratio_and_resolution():
    size = normalize_size(FLUX2_RULES, size="1920x1080", aspect_ratio="1:1", resolution="2K")
    assert size == ImageSize(1920, 1080, "16:9")


def test_ratio_given_as_size_equals_aspect_ratio():
    as_size = normalize_size(FLUX2_RULES, size="16:9", resolution="2K")
    assert as_size == normalize_size(FLUX2_RULES, aspect_ratio="16:9", resolution="2K")
    assert as_size.size == "2731x1536"
    # the size's ratio wins over aspect_ratio
    assert normalize_size(FLUX2_RULES, size="16:9", aspect_ratio="1:1").aspect_ratio == "16:9"


def test_aspect_ratio_and_resolution_set_shape_and_scale_independently():
    assert normalize_size(FLUX2_RULES, aspect_ratio="9:16").size == "768x1365"  # default 1K
    assert normalize_size(FLUX2_RULES, resolution="2K").size == "2048x2048"  # default 1:1
    assert normalize_size(FLUX2_RULES).size == "1024x1024"


def test_auto_gives_the_default_size_marked_auto():
    assert normalize_size(FLUX2_RULES, size="auto") == ImageSize(1024, 1024, "1:1", "1K", True)
    assert normalize_size(FLUX2_RULES, size="AUTO").is_auto
    assert normalize_size(FLUX2_RULES, aspect_ratio="auto", resolution="auto").is_auto
    assert not normalize_size(FLUX2_RULES).is_auto
    # half auto: the other half is concrete, so the gateway sends explicit dimensions
    assert normalize_size(FLUX2_RULES, aspect_ratio="auto", resolution="2K") == ImageSize(
        2048, 2048, "1:1", "2K"
    )
    # an offering that cannot choose still gets the default, sent explicitly
    assert not normalize_size(SizeRules(auto=False), size="auto").is_auto


def test_custom_sizes_within_the_side_limits():
    assert normalize_size(SizeRules(), size="14142x1").size == "14142x1"
    assert normalize_size(SizeRules(), size="1x1").size == "1x1"
    assert normalize_size(SizeRules(), size=" 640 X 480 ") == ImageSize(640, 480, "4:3")
    with pytest.raises(SizeError) as caught:
        normalize_size(SizeRules(), size="14143x1")
    assert str(caught.value) == (
        'size: "14143x1" has a side over 14142 px; sides must be 1..14142 px'
    )


def test_custom_sizes_over_max_mp_are_scaled_down_keeping_their_shape():
    rules = SizeRules(max_mp=4)
    # 4096x4096 = 16 MP scales by 1/2 to 2048x2048 = 4 MP
    assert normalize_size(rules, size="4096x4096") == ImageSize(2048, 2048, "1:1")
    # 4000x3000: floor(4000 * sqrt(4 MP / 12e6)) = 2364, floor(3000 * ...) = 1773
    scaled = normalize_size(rules, size="4000x3000")
    assert scaled.size == "2364x1773"
    assert scaled.pixels <= 4 * 1024 * 1024
    # the offering's own 2K row is 1,206 px over 4 MP and stays as listed
    rules_2k = SizeRules(tiers=("1K", "2K"), max_mp=4)
    assert normalize_size(rules_2k, size="2365x1774") == ImageSize(2365, 1774, "4:3", "2K")


def test_offerings_without_custom_sizes_map_wxh_to_the_nearest_ratio_and_tier():
    rules = SizeRules(tiers=("1K", "2K"), custom=False)
    # 1920/1080 is 16:9; 2,073,600 px is x1.98 the area of 1K and /2.02 that of 2K
    assert normalize_size(rules, size="1920x1080") == ImageSize(1365, 768, "16:9", "1K")
    # 2560x1440 = 3,686,400 px is /1.14 the area of 2K
    assert normalize_size(rules, size="2560x1440") == ImageSize(2731, 1536, "16:9", "2K")
    assert normalize_size(rules, size="1000x1000") == ImageSize(1024, 1024, "1:1", "1K")
    with pytest.raises(SizeError, match="has a side over"):
        normalize_size(rules, size="99999x2")


def test_image_size_reports_its_megapixels():
    size = normalize_size(FLUX2_RULES, aspect_ratio="16:9")
    assert size.pixels == 1365 * 768
    assert size.megapixels == pytest.approx(0.99976, abs=1e-5)
    assert normalize_size(FLUX2_RULES, resolution="2K").megapixels == 4.0


@pytest.mark.parametrize(
    ("kwargs", "param", "message"),
    [
        ({"size": "0x5"}, "size", 'size: "0x5" has a zero side; sides must be 1..14142 px'),
        ({"size": "-5x10"}, "size", 'size: "-5x10" has a negative side; sides must be 1..14142 px'),
        ({"size": "99999x2"}, "size",
         'size: "99999x2" has a side over 14142 px; sides must be 1..14142 px'),
        ({"size": "10.5x10"}, "size", 'size: "10.5x10" has a fractional side'),
        ({"size": "16:0"}, "size", 'size: "16:0" has a zero term'),
        ({"size": "abc"}, "size", 'size: "abc" is not "WxH" pixels, a "W:H" ratio or "auto"'),
        ({"size": "1K"}, "size", 'size: "1K" is a resolution tier, not a size'),
        ({"size": ""}, "size", 'size: "" is empty'),
        ({"size": 1024}, "size", "size: expected a string such as"),
        ({"size": ["1024x1024"]}, "size", "got list"),
        ({"aspect_ratio": "16:0"}, "aspect_ratio",
         'aspect_ratio: "16:0" has a zero term; ratios look like "16:9"'),
        ({"aspect_ratio": "-16:9"}, "aspect_ratio", 'aspect_ratio: "-16:9" has a negative term'),
        ({"aspect_ratio": "wide"}, "aspect_ratio",
         'aspect_ratio: "wide" is not an aspect ratio like "16:9"'),
        ({"aspect_ratio": "16x9"}, "aspect_ratio", "aspect_ratio: "),
        ({"aspect_ratio": 1.78}, "aspect_ratio", "aspect_ratio: expected a string such as"),
        ({"resolution": "8Q"}, "resolution",
         'resolution: "8Q" is not a resolution tier like "1K", "2K" or "0.25"'),
        ({"resolution": "0K"}, "resolution", 'resolution: "0K" must be above zero'),
        ({"resolution": "-1"}, "resolution", 'resolution: "-1" must be above zero'),
        ({"resolution": 2}, "resolution", "resolution: expected a string such as"),
        ({"resolution": None, "aspect_ratio": None, "size": True}, "size", "got bool"),
    ],
)  # fmt: skip
def test_bad_values_raise_size_error_naming_the_parameter(kwargs, param, message):
    with pytest.raises(SizeError) as caught:
        normalize_size(FLUX2_RULES, **kwargs)
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_bad_aspect_ratio_is_ignored_when_size_is_given():
    # size always wins, so the other parameters are not even read
    assert normalize_size(FLUX2_RULES, size="512x512", aspect_ratio="nonsense").size == "512x512"


def test_parse_helpers():
    assert parse_ratio("16:9") == Fraction(16, 9)
    assert parse_ratio("2.39:1") == Fraction(239, 100)
    assert parse_tier("0.5k") == ("0.5K", Fraction(512**2))
    assert parse_tier("0.25 MP") == ("0.25", Fraction(1024**2, 4))
    assert parse_tier("1.50K") == ("1.5K", Fraction(1536**2))
    with pytest.raises(SizeError) as caught:
        parse_ratio("0:1", param="size")
    assert caught.value.param == "size"


def test_rules_round_trip_through_json_and_fill_defaults():
    data = {
        "ratios": ["1:1", "4:3", "3:4", "16:9", "9:16", "3:2", "2:3", "4:5", "5:4"],
        "tiers": ["1K", "2K"],
        "multiple_of": 16,
        "custom": True,
        "min_side": 1,
        "max_side": 14142,
        "max_mp": 4,
        "default_ratio": "1:1",
        "default_tier": "1K",
        "auto": True,
    }
    rules = SizeRules.from_json(data)
    assert rules.to_json() == data
    assert SizeRules.from_json(rules.to_json()) == rules
    assert SizeRules.from_json({}) == SizeRules()
    assert SizeRules.from_json({}).to_json()["tiers"] == ["1K"]
    # defaults fall back to the first listed when 1:1 or 1K is not offered
    only_wide = SizeRules.from_json({"ratios": ["16:9", "21:9"], "tiers": ["2k", "4K"]})
    assert (only_wide.default_ratio, only_wide.default_tier, only_wide.tiers) == (
        "16:9",
        "2K",
        ("2K", "4K"),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ratios": []}, "ratios must be a non-empty list of strings"),
        ({"ratios": "16:9"}, "ratios must be a non-empty list of strings"),
        ({"ratios": ["16:0"]}, 'ratios: aspect_ratio: "16:0" has a zero term'),
        ({"tiers": ["huge"]}, "tiers: "),
        ({"multiple_of": 0}, "multiple_of must be a positive integer, got 0"),
        ({"max_side": 10, "min_side": 64}, "max_side 10 is below min_side 64"),
        ({"max_mp": 0}, "max_mp must be a positive integer"),
        ({"custom": "yes"}, "custom must be true or false"),
        ({"default_ratio": "21:9"}, "default_ratio '21:9' is not one of the ratios"),
        ({"default_tier": "4K"}, "default_tier '4K' is not one of the tiers"),
        ({"ratio": ["1:1"]}, "unknown keys in size rules: ratio"),
        (["1:1"], "size rules must be a JSON object"),
    ],
)
def test_bad_rules_are_rejected_with_a_clear_message(data, message):
    with pytest.raises(SizeRulesError) as caught:
        SizeRules.from_json(data)
    assert message in str(caught.value)
