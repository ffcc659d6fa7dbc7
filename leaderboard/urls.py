from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from leaderboard import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("arena/", include("leaderboard.arena.urls")),
]

if settings.DEBUG or settings.SERVE_MEDIA:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
