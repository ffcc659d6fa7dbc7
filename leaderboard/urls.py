from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("arena/", include("leaderboard.arena.urls")),
    path("playground/", include("leaderboard.playground.urls")),
    path("openai/v1/", include("leaderboard.gateway.urls")),
    path("", include("leaderboard.pages.urls")),
]

# Errors answer in the shape their path promises (leaderboard/errors.py).
handler400 = "leaderboard.errors.bad_request"
handler403 = "leaderboard.errors.permission_denied"
handler404 = "leaderboard.errors.page_not_found"
handler500 = "leaderboard.errors.server_error"

if settings.DEBUG or settings.SERVE_MEDIA:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
