from django.urls import path

from leaderboard.playground import views

app_name = "playground"
urlpatterns = [
    path("", views.playground_page, name="page"),
    path("run", views.run, name="run"),
]
