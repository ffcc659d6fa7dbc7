"""The arena's facts: served matchups, votes, voter identities and exclusions, and
the rate-limit counters every web worker shares."""

from django.db import models

from leaderboard.models.catalog import ArenaMode, Category, Challenge, Generation, ImageModel


class MatchupKind(models.TextChoices):
    MODELS = "models", "Two models"
    SERVING = "serving", "One model, two providers"


class Matchup(models.Model):
    """Two generations served side by side to one voter; the only thing a vote may name."""

    code = models.CharField(max_length=43, unique=True, help_text="Random, unguessable public id")
    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="matchups")
    generation_a = models.ForeignKey(Generation, on_delete=models.PROTECT, related_name="+")
    generation_b = models.ForeignKey(Generation, on_delete=models.PROTECT, related_name="+")
    # The models behind A and B, copied from the generations when serving, so a vote
    # needs no join to know them (and the admin can list served pairs).
    model_a = models.ForeignKey(
        ImageModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    model_b = models.ForeignKey(
        ImageModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    voter = models.CharField(max_length=64, db_index=True, help_text="Hash of the voter session")
    ip_hash = models.CharField(max_length=64, blank=True)
    served_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    voted_at = models.DateTimeField(null=True, blank=True)
    # A database default: the main arena inserts matchups in plain SQL without this column.
    kind = models.CharField(
        max_length=8, choices=MatchupKind.choices, default=MatchupKind.MODELS, db_default="models"
    )

    class Meta:
        ordering = ["-served_at"]
        # A voter's recent matchups are read on every serve (no repeats).
        indexes = [models.Index(fields=["voter", "served_at"], name="matchup_voter_recent")]

    def __str__(self):
        return self.code


class VoteOutcome(models.TextChoices):
    A = "a", "A is better"
    B = "b", "B is better"
    TIE = "tie", "Tie"
    BOTH_BAD = "both_bad", "Both are bad"


class Vote(models.Model):
    """One voter's verdict on one matchup. Append-only; exclusion never deletes it."""

    matchup = models.OneToOneField(Matchup, null=True, blank=True, on_delete=models.PROTECT)
    model_a = models.ForeignKey(ImageModel, on_delete=models.PROTECT, related_name="+")
    model_b = models.ForeignKey(ImageModel, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=VoteOutcome.choices)
    mode = models.CharField(max_length=8, choices=ArenaMode.choices)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="votes"
    )
    challenge = models.ForeignKey(
        Challenge, null=True, blank=True, on_delete=models.PROTECT, related_name="votes"
    )
    voter = models.CharField(max_length=64, help_text="Hash of the voter session")
    created_at = models.DateTimeField(db_index=True)
    is_flagged = models.BooleanField(default=False, help_text="Cast faster than a human could")
    is_excluded = models.BooleanField(default=False, db_index=True)
    exclusion_reason = models.CharField(max_length=200, blank=True)
    is_demo = models.BooleanField(default=False, help_text="From the simulated demo crowd")
    decision_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time from serving the matchup to the vote"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(model_a=models.F("model_b")), name="vote_between_two_models"
            )
        ]
        indexes = [
            # Pages ask whether any demo vote exists: an index of just those answers at once.
            models.Index(fields=["is_demo"], condition=models.Q(is_demo=True), name="vote_demo"),
            # A voter's votes; and detection counts each voter's decisive votes per mode
            # by walking this index in order, never touching the table (a hash of ten
            # million votes by voter took 10 s on PostgreSQL, this walk 2.6 s).
            models.Index(fields=["voter", "mode", "outcome"], name="vote_voter_mode_outcome"),
        ]

    def __str__(self):
        return f"{self.model_a_id} vs {self.model_b_id}: {self.outcome}"


class VoterExclusion(models.Model):
    """Why one voter's votes are left out of the ratings; lifting it puts them back.

    The votes themselves stay in the database (Vote.is_excluded and exclusion_reason
    mirror the active exclusion); the arena services keep the two in step.
    """

    voter = models.CharField(max_length=64, db_index=True, help_text="Hash of the voter session")
    reason = models.CharField(max_length=200)
    is_automatic = models.BooleanField(default=False, help_text="Set by the flagged-share rule")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True)
    excluded_votes = models.PositiveIntegerField(default=0)
    # What detection found (rule, model, votes, expected, p-value, ...); {} for manual ones.
    evidence = models.JSONField(default=dict, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=150, blank=True)
    lift_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["voter"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_exclusion_per_voter",
            )
        ]

    def __str__(self):
        return f"{self.voter[:12]}: {self.reason}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class DetectionState(models.Model):
    """The last detection pass per arena mode: a routine pass tests the voters with votes
    since `tested_until` (less a margin); a full pass, at least daily, tests everyone."""

    mode = models.CharField(max_length=8, choices=ArenaMode.choices, unique=True)
    tested_until = models.DateTimeField()
    full_at = models.DateTimeField()


class VoterIdentity(models.Model):
    """A voter identity the server issued once its proof of work was verified.

    One row per solved challenge: the challenge's nonce is unique, so a solution proves
    one identity once. The network (hashed) is where the identity was issued, for the
    per-network limit and for detection.
    """

    voter = models.CharField(max_length=64, unique=True, help_text="Hash of the voter token")
    network_hash = models.CharField(max_length=64, db_index=True)
    challenge_nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "voter identities"

    def __str__(self):
        return f"{self.voter[:12]} since {self.created_at:%Y-%m-%d %H:%M}"


class ArenaRateCounter(models.Model):
    """Hits of one rate-limit key in one slice of its window, shared by every web worker."""

    key = models.CharField(max_length=100)
    bucket = models.BigIntegerField(help_text="Slice number: unix time // (window / 6)")
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True, help_text="Unix time the row is stale")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "bucket"], name="one_counter_per_window")
        ]

    def __str__(self):
        return f"{self.key} @{self.bucket}: {self.hits}"
