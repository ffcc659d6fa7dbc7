"""Stored leaderboards: one fit per arena, category and window, with its ratings."""

from django.db import models

from leaderboard.models.catalog import ArenaMode, Category, ImageModel


class RatingWindow(models.TextChoices):
    ALL_TIME = "all", "All time"
    LAST_30_DAYS = "30d", "Last 30 days"


class Leaderboard(models.Model):
    """One computed leaderboard: an arena mode, a category (or overall), a time window.

    Written by `manage.py ratings`; pages read the current one and never fit on a request.
    """

    mode = models.CharField(max_length=8, choices=ArenaMode.choices)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="leaderboards"
    )
    window = models.CharField(max_length=4, choices=RatingWindow.choices)
    computed_at = models.DateTimeField(db_index=True)
    vote_count = models.PositiveIntegerField()
    excluded_vote_count = models.PositiveIntegerField(default=0)
    bootstrap_rounds = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    notes = models.JSONField(default=list, blank=True, help_text="What the engine had to say")
    is_current = models.BooleanField(default=True, db_index=True)

    class Meta:
        ordering = ["-computed_at"]
        indexes = [models.Index(fields=["mode", "window", "category", "is_current"])]

    def __str__(self):
        category = self.category.name if self.category_id else "overall"
        return f"{self.get_mode_display()} / {category} / {self.get_window_display()}"


class Rating(models.Model):
    """One model's place on one leaderboard: Bradley-Terry rating, 95% interval, rank."""

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="ratings")
    image_model = models.ForeignKey(ImageModel, on_delete=models.CASCADE, related_name="ratings")
    rating = models.FloatField(null=True, help_text="Null when the model could not be rated")
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    rank = models.PositiveIntegerField(null=True, help_text="Place by rating (ties only if equal)")
    rank_best = models.PositiveIntegerField(null=True, help_text="Best place the 95% CI allows")
    rank_worst = models.PositiveIntegerField(null=True, help_text="Worst place the 95% CI allows")
    votes = models.PositiveIntegerField()
    wins = models.PositiveIntegerField()
    losses = models.PositiveIntegerField()
    ties = models.PositiveIntegerField()
    both_bad = models.PositiveIntegerField(default=0)
    win_rate = models.FloatField(null=True)
    is_provisional = models.BooleanField(default=False)
    status = models.CharField(
        max_length=200, blank=True, help_text="Why a rating is missing or special"
    )
    elo_history = models.JSONField(
        default=list, blank=True, help_text="Online Elo over time: [[iso date, rating], ...]"
    )

    class Meta:
        ordering = ["rank", "-rating"]
        constraints = [
            models.UniqueConstraint(
                fields=["leaderboard", "image_model"], name="one_rating_per_board"
            )
        ]

    def __str__(self):
        return f"{self.image_model_id}: {self.rating}"


class VoteDayCount(models.Model):
    """Non-excluded votes of one day, arena mode, challenge and unordered model pair.

    The refresh keeps this table in step with the votes (re-counting only the days that
    changed) and fits every board from sums over it, so it never reads votes one by one.
    `model_low` is the model with the lower id; `low_wins` counts votes it won.
    """

    # Counted from the votes, whose own keys are checked: no constraint or index per
    # key here. The refresh writes hundreds of thousands of rows at once, and the
    # database checked each of their four keys at commit (5 s for 10M votes).
    day = models.DateField()
    mode = models.CharField(max_length=8, choices=ArenaMode.choices)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    challenge = models.ForeignKey(
        "leaderboard.Challenge",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    model_low = models.ForeignKey(
        ImageModel, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    model_high = models.ForeignKey(
        ImageModel, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    low_wins = models.PositiveIntegerField(default=0)
    high_wins = models.PositiveIntegerField(default=0)
    ties = models.PositiveIntegerField(default=0)
    both_bad = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="votedaycount_day")]


class VoteCountState(models.Model):
    """How far VoteDayCount is counted (one row): votes up to `counted_until`, without
    the votes of the voters in `exclusions`. A change in the excluded voters re-counts
    the days of their votes; anything else only the days since `counted_until`."""

    counted_until = models.DateTimeField()
    exclusions = models.JSONField(default=list, blank=True)


class PairTally(models.Model):
    """Head-to-head counts per arena mode, challenge and model pair, as one refresh saw
    them (its `computed_at`): what the pages show instead of counting votes."""

    computed_at = models.DateTimeField(db_index=True)
    mode = models.CharField(max_length=8, choices=ArenaMode.choices)
    challenge = models.ForeignKey(
        "leaderboard.Challenge", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    model_low = models.ForeignKey(ImageModel, on_delete=models.CASCADE, related_name="+")
    model_high = models.ForeignKey(ImageModel, on_delete=models.CASCADE, related_name="+")
    low_wins = models.PositiveIntegerField(default=0)
    high_wins = models.PositiveIntegerField(default=0)
    ties = models.PositiveIntegerField(default=0)
    both_bad = models.PositiveIntegerField(default=0)


class RefreshState(models.Model):
    """Where the last ratings refresh stopped, per arena mode, so the next continues.

    `elo` holds the online Elo state after the last vote seen (ratings, first votes,
    chart points); `active_exclusions` the excluded voters it counted without, so a
    change there rebuilds the Elo history.
    """

    mode = models.CharField(max_length=8, choices=ArenaMode.choices, unique=True)
    counted_until = models.DateTimeField(help_text="Votes up to this moment are counted")
    last_vote_at = models.DateTimeField(null=True, blank=True)
    last_vote_id = models.BigIntegerField(default=0)
    elo = models.JSONField(default=dict, blank=True)
    active_exclusions = models.JSONField(default=list, blank=True)
