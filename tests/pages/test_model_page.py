"""The model page: every section of the reference page, with numbers from known data."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.models import Leaderboard
from tests.pages import builders
from tests.pages.builders import board, table, text

pytestmark = pytest.mark.django_db

SECTIONS = [
    "Provider performance",
    "Providers & pricing",
    "flux.2-pro API",
    "Parameter reference",
    "FLUX.2 [pro] benchmarks",
    "Elo versus cost and speed",
    "Competition results",
    "Top matchups",
    "FLUX.2 [pro] is best for",
    "Gallery",
    "FLUX.2 [pro] FAQ",
]


@pytest.fixture
def page(client):
    builders.site_with_results()

    def get(slug="flux.2-pro"):
        response = client.get(f"/models/{slug}/")
        assert response.status_code == 200
        return response.content.decode()

    return get


def headings(html: str) -> list[str]:
    return [text(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]


def test_the_model_page_has_every_section_of_the_reference_page(page):
    found = headings(page())
    for section in SECTIONS:
        assert any(h.startswith(section) for h in found), f"missing section {section!r} in {found}"


def test_provider_performance_names_the_fastest_provider_and_ranks_them_all(page):
    html = page()
    assert (
        "Fastest generation through replicate at 17,157ms median latency with 100.0% success rate."
        in text(html)
    )
    assert (
        "Aggregated from 200 API requests (12 through our gateway) over the last 30 days"
        in text(html)
    )
    rows = table(html, "provider-ranking")[1:]
    assert rows[0][:7] == [
        "1",
        "Replicate black-forest-labs/flux-2-pro",
        "17,157 ms",
        "28,771 ms",
        "100.0% 95% interval 95%–100%",
        "16,671 ms",
        "120",
    ]
    assert rows[1][:7] == [
        "2",
        "fal.ai fal-ai/flux-2-pro",
        "20,666 ms",
        "39,388 ms",
        "95.0% 95% interval 90%–97%",
        "19,169 ms",
        "80 12 via API",
    ]
    # Offerings never benchmarked are listed unranked.
    assert {row[0] for row in rows[2:]} == {"—"}


def test_the_latency_distribution_has_a_chart_and_a_percentile_table(page):
    html = page()
    assert re.search(r'src="/charts/[0-9a-f]{12}/models/flux.2-pro/latency.svg"', html)
    rows = table(html, "cdf-caption")
    replicate = next(row for row in rows if row[0] == "Replicate")
    # Five successes: 15000, 16000, 17157, 18000, 21000 ms; the median is the middle one.
    assert replicate[1] == "5"
    assert replicate[4] == "17,157 ms"


def test_pricing_is_generated_from_the_pricing_rules(page):
    page_text = text(page())
    assert (
        "FLUX.2 [pro] is available from 3 providers, with per-image pricing starting at $0.015 "
        "through Replicate (estimated)." in page_text
    )
    assert (
        "Pricing notes (5) $0.015 per megapixel Resolution is rounded up to the next megapixel"
        in page_text
    )
    assert "1 megapixel = 1024x1024 pixels" in page_text
    assert "Each reference image is counted separately (minimum 1 MP each)" in page_text
    # Replicate bills $0.015 per megapixel: its 4 MP tier is a 2048x2048 square, an edit
    # with two 1 MP references is 1 + 2 MP.
    assert "2048×2048 (4 MP) text to image $0.06" in page_text
    assert "Edit: 1024×1024 output with 2 reference images of 1024×1024 $0.045" in page_text
    # BFL: $0.03 for the first megapixel, $0.015 for each additional one.
    assert "$0.03 for the first megapixel, $0.015 for each additional megapixel" in page_text


def test_the_api_section_shows_curl_python_and_javascript_with_the_model_id(page):
    html = page()
    assert "curl -X POST http://testserver/openai/v1/images/generations" in html
    assert "&#34;model&#34;: &#34;flux.2-pro&#34;" in html or '"model": "flux.2-pro"' in html
    assert "-F &#34;model=flux.2-pro&#34;" in html or '-F "model=flux.2-pro"' in html
    assert "model=&#34;flux.2-pro&#34;," in html or 'model="flux.2-pro",' in html
    assert "model: &#34;flux.2-pro&#34;," in html or 'model: "flux.2-pro",' in html
    assert "/v1/images/edits" in html


def test_the_parameter_reference_has_size_tables_per_tier_from_the_size_rules(page):
    html = page("nano-banana")
    rows = table(html, "sizes-1-1K")
    # Nano Banana has no rounding rule: the reference page's 1K table exactly.
    assert ["1365 × 768", '"1365x768"', '"16:9" + "1K"'] in rows
    assert ["1183 × 887", '"1183x887"', '"4:3" + "1K"'] in rows
    assert ["887 × 1182", '"887x1182"', '"3:4" + "1K"'] in rows
    flux = page()
    # FLUX.2 [pro] at fal/BFL/Replicate rounds to multiples of 16 and has a 2K tier.
    assert ["2048 × 2048", '"2048x2048"', '"1:1" + "2K"'] in table(flux, "sizes-1-2K")
    assert "rounded to multiples of 16, scaled down to fit 4 MP" in text(flux)


def test_benchmarks_state_rank_of_n_rating_and_interval_per_arena(page):
    assert (
        "FLUX.2 [pro] currently holds #9 of 13 in text-to-image with 1255 (95% interval "
        "1252–1258, 500 votes) and #9 of 9 in image editing with 1190 (95% interval 1187–1193, "
        "200 votes)." in text(page())
    )


def test_landscape_charts_highlight_this_model_and_say_where_it_stands(page):
    html = page()
    charts = re.findall(r'src="(/charts/[^"]+/landscape/(?:cost|speed)\.svg\?[^"]+)"', html)
    assert len(charts) == 4  # cost and speed, in both arenas
    assert all("highlight=flux.2-pro" in url for url in charts)
    page_text = text(html)
    # Text to image: FLUX.2 [pro] ($0.015) is the cheapest model, so on the cost frontier.
    assert (
        "FLUX.2 [pro] is on the Pareto frontier: no model is both cheaper and better rated."
        in page_text
    )
    # On speed, Nano Banana Pro (9 s p50) is faster and better rated.
    assert (
        "FLUX.2 [pro] is not on the frontier: Nano Banana Pro is at least as fast and rated higher."
        in page_text
    )


def test_competition_results_and_gallery_show_the_models_images(page):
    html = page()
    assert re.search(
        r'<img src="/media/generations/flux.2-pro-neon-noodle-shop-replicate[^"]*\.png" '
        r'alt="FLUX.2 \[pro\]\'s image for the challenge “Neon noodle shop”"',
        html,
    )
    assert "Neon noodle shop" in text(html)
    assert "4 votes · 75% W · 25% L" in text(html)
    assert "The 1 newest of 1 images." in text(html)


def test_top_matchups_count_only_included_votes_up_to_the_ratings(page, client):
    builders.votes(
        "nano-banana-pro", "flux.2-pro", a_wins=1, b_wins=1, ties=1, challenge_slug="sneaker-ad"
    )
    builders.votes("flux.2-pro", "nano-banana-pro", a_wins=5, is_excluded=True)
    builders.votes(
        "flux.2-pro", "nano-banana-pro", a_wins=7, created_at=timezone.now() + timedelta(hours=1)
    )
    html = page()
    rows = table(html, "matchups-caption")
    # 3-1 on Neon noodle shop, 1-1-1 on Sneaker ad (as B there): 4 W, 2 L, 1 T of 7.
    assert rows[1] == ["vs Nano Banana Pro", "All challenges", "7", "4", "2", "1", "57% W · 29% L"]
    assert rows[2] == ["Neon noodle shop", "4", "3", "1", "0", "75% W · 25% L"]
    assert rows[3] == ["Sneaker launch ad", "3", "1", "1", "1", "33% W · 33% L"]


def test_each_price_names_its_source_and_estimates_are_marked(page):
    html = page()
    page_text = text(html)
    assert "Some prices estimated" in page_text
    # BFL's rule is from its own price list; Replicate's and fal's from secondary sources.
    bfl = page_text.split("Black Forest Labs flux-2-pro $0.03")[1][:400]
    assert "estimated" not in bfl.split("Pricing notes")[0]
    assert "Source: github.com/black-forest-labs/skills" in bfl and "checked 2026-12-04" in bfl
    replicate = page_text.split("Replicate black-forest-labs/flux-2-pro $0.015")[1][:300]
    assert replicate.startswith(" per image · priced per megapixel estimated Source:")
    assert 'href="https://replicate.com/black-forest-labs/flux-2-pro"' in html


def test_best_for_names_only_categories_where_the_model_is_first_with_50_votes(page):
    # Second by rating: listed in the table, never as "best for".
    board(
        {"flux.2-pro": (990, 960, 1020), "imagen-4": (1100, 1070, 1130)},
        category="anime",
        win_rates={"flux.2-pro": 0.3},
    )
    # First by rating, but on 47 votes: not enough to be named.
    board(
        {"flux.2-pro": (1100, 1000, 1200), "imagen-4": (1000, 900, 1100)},
        category="portraiture",
        votes={"flux.2-pro": 47},
    )
    # First by rating with 60 votes, inside the runner-up's interval: first, not clearly.
    board(
        {"flux.2-pro": (1050, 1000, 1100), "imagen-4": (1040, 990, 1090)},
        category="photorealism",
        votes={"flux.2-pro": 60},
    )
    page_text = text(page())
    assert (
        "FLUX.2 [pro] is first by rating in Product & branding (text-to-image, clearly best: "
        "its whole 95% interval lies above every other model's) and Photorealism "
        "(text-to-image, first by rating, though it could rank 1–2)." in page_text
    )
    assert "Anime & illustration styles Text to image #2 of 2" in page_text
    assert "Portraiture Text to image #1 of 2" in page_text  # in the table, not the sentence


def test_best_for_says_so_when_the_model_is_first_nowhere(page):
    page()  # builds the site, whose product board has FLUX.2 [pro] first
    Leaderboard.objects.filter(category__slug="product-branding").update(is_current=False)
    board(
        {"flux.2-pro": (1000, 990, 1010), "imagen-4": (1100, 1090, 1110)},
        category="product-branding",
    )
    assert (
        "FLUX.2 [pro] is not first by rating, with at least 50 votes, in any use-case category."
        in text(page())
    )


def test_the_faq_is_generated_from_the_data(page):
    page_text = text(page())
    assert (
        "How much does FLUX.2 [pro] cost? FLUX.2 [pro] starts at $0.015 per 1024×1024 image "
        "through Replicate; across 3 providers it costs up to $0.03." in page_text
    )
    assert (
        "Which provider is fastest for FLUX.2 [pro]? Fastest generation through replicate"
        in page_text
    )
    assert (
        "FLUX.2 [pro] supports images up to 2048×2048 (1:1 at the 2K tier), "
        "and other shapes up to 4 megapixels." in page_text
    )
    assert (
        "Can FLUX.2 [pro] edit images? Yes: FLUX.2 [pro] edits images from a prompt "
        "and up to 8 reference images" in page_text
    )


def test_a_model_without_votes_or_benchmarks_still_has_a_complete_page(client):
    builders.catalog()
    response = client.get("/models/recraft-v3/")
    assert response.status_code == 200
    page_text = text(response.content.decode())
    assert "No benchmark results yet for Recraft V3." in page_text
    assert (
        "Recraft V3 currently holds no rating yet in text-to-image (0 votes so far)." in page_text
    )
    assert (
        "Can Recraft V3 edit images? No, Recraft V3 only generates images from text." in page_text
    )
    assert Leaderboard.objects.count() == 0


def test_an_unknown_model_is_a_404_with_a_message(client):
    builders.catalog()
    response = client.get("/models/no-such-model/")
    assert response.status_code == 404
    assert "There is no model 'no-such-model'." in text(response.content.decode())


def test_the_rating_history_caption_explains_why_its_last_point_is_not_the_rating(page):
    # The online Elo line ends at 1000 + 8 * 28 = 1224; the Bradley-Terry rating is 1255.
    assert (
        "the ratings on this page are the Bradley-Terry fit of all votes at once, which does "
        "not depend on their order, so the two differ (the text-to-image line ends at 1224, "
        "the current rating is 1255)." in text(page())
    )
