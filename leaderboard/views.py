"""Site views: thin, they look up, call one helper and render."""

from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import render

from leaderboard.models import ArenaMode, Category, Challenge, ImageModel, Offering


def home(request):
    models = ImageModel.objects.filter(is_active=True).prefetch_related(
        Prefetch(
            "offerings",
            queryset=Offering.objects.filter(is_active=True).select_related("provider"),
        )
    )
    catalog = [
        {
            "model": model,
            "offerings": list(model.offerings.all()),
            "cheapest_usd": min(
                (offering.price_per_image_usd for offering in model.offerings.all()),
                default=None,
            ),
        }
        for model in models
    ]
    challenges = Challenge.objects.filter(is_active=True).select_related("category")
    return render(
        request,
        "home.html",
        {
            "catalog": catalog,
            "categories": Category.objects.all(),
            "challenges_by_mode": {
                mode.label: [c for c in challenges if c.mode == mode] for mode in ArenaMode
            },
        },
    )


def healthz(request):
    return JsonResponse({"ok": True})
