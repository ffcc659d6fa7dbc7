"""The model page opens with a hero: the showcase image of its best-voted challenge."""

import re

import pytest

from leaderboard.rating_refresh import refresh_leaderboards
from tests.pages import builders
from tests.pages.builders import generation, text, votes

pytestmark = pytest.mark.django_db


def hero_of(html: str) -> str:
    found = re.search(r'<figure class="hero">(.*?)</figure>', html, re.S)
    return found.group(1) if found else ""


def test_the_hero_is_the_showcase_image_of_the_best_voted_challenge(client):
    builders.catalog()
    weak = generation("replicate", "flux.2-pro", "neon-noodle-shop")
    strong = generation("fal", "flux.2-pro", "sneaker-ad", colour=(10, 200, 90))
    # An arena image of an even better challenge: the arena may serve it, so never the hero.
    arena = generation("bfl", "flux.2-pro", "product-on-marble", colour=(0, 0, 250), pool="arena")
    votes("flux.2-pro", "imagen-4", a_wins=3, b_wins=3, challenge_slug="neon-noodle-shop")
    votes("flux.2-pro", "imagen-4", a_wins=5, b_wins=1, challenge_slug="sneaker-ad")
    votes("flux.2-pro", "imagen-4", a_wins=9, challenge_slug="product-on-marble")
    refresh_leaderboards(bootstrap=0)  # the pages read the tallies a refresh stores
    html = client.get("/models/flux.2-pro/").content.decode()
    hero = hero_of(html)
    assert strong.image.name in hero and weak.image.name not in hero
    assert arena.image.name not in html
    assert "Sneaker launch ad" in text(hero) and "won 83% of its 6 votes" in text(hero)
    assert "Prompt “" in text(hero)


def test_without_a_showcase_image_there_is_no_hero(client):
    builders.catalog()
    generation("replicate", "flux.2-pro", "neon-noodle-shop", pool="arena")
    assert hero_of(client.get("/models/flux.2-pro/").content.decode()) == ""
