from django.urls import path

from leaderboard import openapi
from leaderboard.gateway import views

# Mounted at /openai/v1/ (leaderboard/urls.py): the base URL the openai client is given.
urlpatterns = [
    path("images/generations", views.generations, name="gateway-generations"),
    path("images/edits", views.edits, name="gateway-edits"),
    path("images/files/<str:file_name>", views.image_file, name="gateway-image"),
    path("models", views.models, name="gateway-models"),
    path("models/<str:slug>", views.models, name="gateway-model"),
    path("openapi.json", openapi.gateway_openapi, name="gateway-openapi"),
]
