"""The serving-quality arena's facts: one model served by two offerings, judged blind.

Its matchups are ordinary Matchup rows (kind "serving"); its votes live here, apart
from the model arena's Vote table, so model ratings, exports and detection never see
them. ServingBoard is derived: `manage.py serving_boards` rebuilds it from the votes.
"""

from django.db import models

from leaderboard.models.arena import Matchup, VoteOutcome
from leaderboard.models.catalog import Challenge, Generation, ImageModel, Offering


class ServingVote(models.Model):
    """One voter's verdict on a serving matchup. Append-only; exclusion never deletes it."""

    matchup = models.OneToOneField(Matchup, on_delete=models.PROTECT, related_name="serving_vote")
    image_model = models.ForeignKey(ImageModel, on_delete=models.PROTECT, related_name="+")
    offering_a = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="+")
    offering_b = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="+")
    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=VoteOutcome.choices)
    voter = models.CharField(max_length=64, db_index=True, help_text="Hash of the voter session")
    created_at = models.DateTimeField(db_index=True)
    decision_ms = models.PositiveIntegerField(null=True, blank=True)
    is_flagged = models.BooleanField(default=False, help_text="Cast faster than a human could")
    is_excluded = models.BooleanField(default=False, db_index=True)
    exclusion_reason = models.CharField(max_length=200, blank=True)
    is_demo = models.BooleanField(default=False, help_text="From the simulated demo crowd")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(offering_a=models.F("offering_b")),
                name="serving_vote_between_two_offerings",
            )
        ]

    def __str__(self):
        return f"{self.offering_a_id} vs {self.offering_b_id}: {self.outcome}"


class ServingBoard(models.Model):
    """One model's offerings rated against each other from the serving votes.

    `offerings` holds one row per rated offering (offering key, provider, rating, 95%
    interval, votes, win rate), best first; `verdict` says in plain words whether any
    offering is detectably worse. Rebuilt by `manage.py serving_boards`.
    """

    image_model = models.OneToOneField(
        ImageModel, on_delete=models.CASCADE, related_name="serving_board"
    )
    computed_at = models.DateTimeField()
    vote_count = models.PositiveIntegerField()
    offerings = models.JSONField(default=list)
    differences = models.JSONField(default=list, help_text="Every pair's difference interval")
    verdict = models.TextField()
    worst_offering = models.CharField(max_length=200, blank=True)
    is_demo = models.BooleanField(default=False)

    def __str__(self):
        return f"Serving board of {self.image_model}"


class ServingDifference(models.Model):
    """How far apart two offerings' images of one request are, measured by the bench
    runner (bench/serving.py) when it stores them: the same model, challenge and seed.

    `ssim` is the structural similarity of the two pictures (1 = the same picture), on
    grey levels at the smaller image's size; exactly 1 when the pixels were identical.
    Delivered size, format and file size are the generations' own columns.
    """

    image_model = models.ForeignKey(ImageModel, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="+")
    seed = models.BigIntegerField()
    # The offerings that answered; their images may be one generation when the pixels
    # were identical (the runner stores one picture once, bench/pools.py).
    offering_a = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="+")
    offering_b = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="+")
    generation_a = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="+")
    generation_b = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="+")
    ssim = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offering_a", "offering_b", "challenge", "seed"],
                name="one_difference_per_request_pair",
            )
        ]


class PlaygroundRun(models.Model):
    """One image a visitor asked for in the playground: what it cost and how long it took.

    The image itself is stored with the API's outputs (MEDIA_ROOT/gateway/), never as a
    Generation: playground outputs stay out of the arena's pools. The row is written
    before the provider is called, with the estimated cost, so that concurrent runs
    count against the daily caps; the actual cost replaces it afterwards.
    """

    voter = models.CharField(max_length=64, db_index=True, help_text="Hash of the voter token")
    ip_hash = models.CharField(max_length=64, blank=True)
    image_model = models.ForeignKey(ImageModel, on_delete=models.PROTECT, related_name="+")
    offering = models.ForeignKey(
        Offering, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6)
    status = models.CharField(max_length=20, default="pending")
    ttfb_ms = models.FloatField(null=True, blank=True)
    generation_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.voter[:12]} {self.image_model_id} {self.cost_usd}"
