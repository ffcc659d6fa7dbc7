from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Pairwise"

    def ready(self):
        from leaderboard import checks  # noqa: F401  (registers the deploy checks)
