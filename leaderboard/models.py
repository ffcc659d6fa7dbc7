"""Pairwise's tables: the curated catalog, the arena's facts, the benchmark's samples.

Votes and BenchSamples are append-only facts; ratings and stats are derived
from them and can always be rebuilt. The benchmark runner (bench/, no Django)
writes BenchRun, BenchSample and Generation rows through SQLAlchemy on these
same tables, so column names here are its contract too.
"""

import os

from django.core.exceptions import ValidationError
from django.db import models

from bench.capabilities import Capabilities, CapabilitiesError
from bench.pools import ARENA, DUPLICATE, POOLS
from bench.providers.base import FAILURE_CLASSES, OK, SKIPPED
from leaderboard.pricing import PricingError, PricingRule, price_per_image_usd
from leaderboard.sizes import SizeRules, SizeRulesError


class ArenaMode(models.TextChoices):
    TEXT_TO_IMAGE = "t2i", "Text to image"
    EDIT = "edit", "Image editing"


class StableSlugModel(models.Model):
    """A row whose slug is part of public URLs and API ids: set once, never changed."""

    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        self._refuse_slug_change()

    def save(self, *args, **kwargs):
        self._refuse_slug_change()
        super().save(*args, **kwargs)

    def _refuse_slug_change(self):
        if self.pk is None:
            return
        stored = type(self).objects.filter(pk=self.pk).values_list("slug", flat=True).first()
        if stored is not None and stored != self.slug:
            raise ValidationError(
                {"slug": f"Slugs are stable: {stored!r} cannot be renamed to {self.slug!r}."}
            )

    def __str__(self):
        return getattr(self, "name", None) or getattr(self, "title", None) or self.slug


class ImageModel(StableSlugModel):
    """An image-generation model (FLUX.2 [pro], Nano Banana, ...), whoever serves it."""

    name = models.CharField(max_length=120)
    vendor = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    does_text_to_image = models.BooleanField(default=True)
    does_edit = models.BooleanField(default=False)
    max_output_mp = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    max_reference_images = models.PositiveSmallIntegerField(default=0)
    release_date = models.DateField(null=True, blank=True)
    is_open_weights = models.BooleanField(default=False)
    is_active = models.BooleanField(
        default=True, help_text="Deprecated models keep their history but leave the arena."
    )
    retired_on = models.DateField(
        null=True,
        blank=True,
        help_text="The day its vendor shut it down; retired models keep their history, "
        "leave the arena and are no longer benchmarked.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "model"

    @property
    def modes(self) -> list[str]:
        return [
            mode
            for mode, supported in (
                (ArenaMode.TEXT_TO_IMAGE, self.does_text_to_image),
                (ArenaMode.EDIT, self.does_edit),
            )
            if supported
        ]


class Provider(StableSlugModel):
    """A service that runs models behind an HTTP API. Its key lives in the environment."""

    name = models.CharField(max_length=120)
    base_url = models.URLField(max_length=300)
    api_key_env = models.CharField(
        max_length=80,
        blank=True,
        help_text="Name of the environment variable holding the API key (never the key).",
    )
    website = models.URLField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def clean(self):
        super().clean()
        if self.api_key_env and not self.api_key_env.replace("_", "").isalnum():
            raise ValidationError(
                {"api_key_env": "Give the variable's name (e.g. REPLICATE_API_TOKEN), not a key."}
            )

    def api_key(self) -> str | None:
        # Stripped: a key variable ending in a newline would make an illegal header.
        key = os.environ.get(self.api_key_env, "").strip() if self.api_key_env else ""
        return key or None


class EndpointKind(models.TextChoices):
    REPLICATE = "replicate", "Replicate predictions"
    FAL_QUEUE = "fal_queue", "fal queue"
    FAL_SYNC = "fal_sync", "fal synchronous"
    BFL = "bfl", "Black Forest Labs"
    OPENAI_IMAGES = "openai_images", "OpenAI-compatible images"


def validate_pricing_rule(value):
    try:
        PricingRule.from_json(value)
    except PricingError as error:
        raise ValidationError(str(error)) from None


def validate_capabilities(value):
    try:
        Capabilities.from_json(value)
    except CapabilitiesError as error:
        raise ValidationError(str(error)) from None


def validate_size_rules(value):
    try:
        SizeRules.from_json(value)
    except SizeRulesError as error:
        raise ValidationError(str(error)) from None


class Offering(models.Model):
    """A model served by a provider: the provider's model id, protocol, price and sizes."""

    image_model = models.ForeignKey(ImageModel, on_delete=models.CASCADE, related_name="offerings")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="offerings")
    provider_model_id = models.CharField(
        max_length=200, help_text="e.g. black-forest-labs/flux-2-pro or fal-ai/flux-2-pro"
    )
    edit_model_id = models.CharField(
        max_length=200, blank=True, help_text="Endpoint for edits when it differs, e.g. .../edit"
    )
    endpoint_kind = models.CharField(max_length=20, choices=EndpointKind.choices)
    pricing = models.JSONField(validators=[validate_pricing_rule])
    sizes = models.JSONField(default=dict, blank=True, validators=[validate_size_rules])
    capabilities = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_capabilities],
        help_text="What the endpoint takes: formats, params, and the source documents "
        "(bench/capabilities.py). Requests that break it are refused before sending.",
    )
    max_reference_images = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["image_model__name", "provider__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["image_model", "provider"], name="one_offering_per_pair"
            )
        ]

    def __str__(self):
        return self.key

    @property
    def key(self) -> str:
        """Stable human id used on the command line: provider/model."""
        return f"{self.provider.slug}/{self.image_model.slug}"

    @property
    def pricing_rule(self) -> PricingRule:
        return PricingRule.from_json(self.pricing)

    @property
    def size_rules(self) -> SizeRules:
        return SizeRules.from_json(self.sizes)

    @property
    def capability_rules(self) -> Capabilities:
        return Capabilities.from_json(self.capabilities)

    @property
    def price_per_image_usd(self):
        return price_per_image_usd(self.pricing_rule)


class Category(StableSlugModel):
    """A use case (product & branding, portraiture, ...): leaderboards exist per category."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"


class Challenge(StableSlugModel):
    """A named prompt in one arena mode; edit challenges carry reference images."""

    title = models.CharField(max_length=200)
    prompt = models.TextField()
    mode = models.CharField(max_length=8, choices=ArenaMode.choices)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="challenges")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def clean(self):
        super().clean()
        if self.mode == ArenaMode.TEXT_TO_IMAGE and self.pk and self.references.exists():
            raise ValidationError("Text-to-image challenges take no reference images.")


class ChallengeReference(models.Model):
    """One reference image of an edit challenge, in the order it is sent."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="references")
    position = models.PositiveSmallIntegerField(default=0)
    image = models.ImageField(upload_to="references/", width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["challenge", "position"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "position"], name="one_reference_per_slot")
        ]

    def __str__(self):
        return f"{self.challenge.slug} #{self.position}"


# The runner (no Django) decides which pool a new generation joins; see bench/pools.py.
GenerationPool = models.TextChoices("GenerationPool", [(pool.upper(), pool) for pool in POOLS])


class Generation(models.Model):
    """One image one offering made for one challenge (stored content-addressed).

    Its pool says where it may appear: showcase images on the public pages, arena
    images only in the arena until retired (leaderboard/publication.py has the rule).
    """

    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="generations")
    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="generations")
    image = models.FileField(upload_to="generations/", max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=40, default="image/png")
    seed = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    pixel_sha256 = models.CharField(
        max_length=64, blank=True, db_index=True, help_text="Of the decoded pixels: one picture"
    )
    pool = models.CharField(max_length=10, choices=GenerationPool.choices, default=ARENA)
    impressions = models.PositiveIntegerField(default=0, help_text="Arena matchups that showed it")
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["challenge", "offering"])]
        constraints = [
            # Identical pixels count as one picture: later copies are kept as duplicates.
            models.UniqueConstraint(
                fields=["pixel_sha256"],
                condition=~models.Q(pixel_sha256="") & ~models.Q(pool=DUPLICATE),
                name="one_generation_per_picture",
            )
        ]

    def __str__(self):
        return f"{self.offering} for {self.challenge.slug} ({self.sha256[:10]})"


class BenchRun(models.Model):
    """One invocation of the benchmark runner (cron or by hand)."""

    class Status(models.TextChoices):
        RUNNING = "running"
        FINISHED = "finished"
        INTERRUPTED = "interrupted"
        FAILED = "failed"

    suite = models.CharField(max_length=80, default="default")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=120, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    concurrency = models.PositiveSmallIntegerField(default=1)
    max_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    spent_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.suite} run {self.pk} ({self.status})"


class SampleSource(models.TextChoices):
    BENCH = "bench", "Benchmark runner"
    GATEWAY = "gateway", "API gateway traffic"


# The runner (no Django) owns the outcome classes; the table takes its choices from there.
SampleStatus = models.TextChoices(
    "SampleStatus", [(status.upper(), status) for status in (OK, *FAILURE_CLASSES, SKIPPED)]
)


class BenchSample(models.Model):
    """One timed request to one offering: what happened, how long it took, what it cost.

    Times are milliseconds from the moment the request was sent (monotonic clock).
    """

    run = models.ForeignKey(
        BenchRun, null=True, blank=True, on_delete=models.CASCADE, related_name="samples"
    )
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="samples")
    challenge = models.ForeignKey(
        Challenge, null=True, blank=True, on_delete=models.SET_NULL, related_name="samples"
    )
    source = models.CharField(max_length=10, choices=SampleSource.choices, default="bench")
    mode = models.CharField(
        max_length=8, choices=ArenaMode.choices, default=ArenaMode.TEXT_TO_IMAGE
    )
    started_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=20, choices=SampleStatus.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    submit_ttfb_ms = models.FloatField(null=True, blank=True)
    ttfb_ms = models.FloatField(null=True, blank=True)
    generation_ms = models.FloatField(null=True, blank=True)
    queue_ms = models.FloatField(null=True, blank=True)
    processing_ms = models.FloatField(null=True, blank=True)
    # Polled protocols: completion happened between these two answers (ms after send).
    last_pending_ms = models.FloatField(null=True, blank=True)
    first_ready_ms = models.FloatField(null=True, blank=True)
    # The provider's own clock, where its API reports it (Replicate's prediction times).
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_started_at = models.DateTimeField(null=True, blank=True)
    provider_completed_at = models.DateTimeField(null=True, blank=True)
    requested_width = models.PositiveIntegerField(null=True, blank=True)
    requested_height = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    provider_request_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True, help_text="Sanitised: never a key, header or signed URL.")
    generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.SET_NULL, related_name="samples"
    )

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["offering", "started_at"])]

    def __str__(self):
        return f"{self.offering_id} {self.status} at {self.started_at:%Y-%m-%d %H:%M}"


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
    voter = models.CharField(max_length=64, db_index=True, help_text="Hash of the voter session")
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

    def __str__(self):
        return f"{self.model_a_id} vs {self.model_b_id}: {self.outcome}"


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
    rank = models.PositiveIntegerField(null=True)
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


class OfferingStats(models.Model):
    """Rolling-window benchmark statistics of one offering, computed by `manage.py stats`.

    Times are milliseconds; success_ci_* is the Wilson 95% interval of the success rate.
    """

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="stats")
    computed_at = models.DateTimeField(db_index=True)
    window_days = models.PositiveSmallIntegerField(default=30)
    is_current = models.BooleanField(default=True, db_index=True)
    sample_count = models.PositiveIntegerField()
    success_count = models.PositiveIntegerField()
    success_rate = models.FloatField(null=True)
    success_ci_low = models.FloatField(null=True)
    success_ci_high = models.FloatField(null=True)
    generation_p50_ms = models.FloatField(null=True)
    generation_p95_ms = models.FloatField(null=True)
    generation_p99_ms = models.FloatField(null=True)
    ttfb_p50_ms = models.FloatField(null=True)
    submit_ttfb_p50_ms = models.FloatField(null=True)
    # Median width of the polling bracket of polled successes: generation times may
    # be this much later than the completion they stand for.
    poll_bracket_p50_ms = models.FloatField(null=True, blank=True)
    cost_per_success_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True)
    failures = models.JSONField(default=dict, blank=True, help_text="Failure class -> count")
    gateway_sample_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-computed_at"]
        verbose_name_plural = "offering stats"

    def __str__(self):
        return f"{self.offering} over {self.window_days} d at {self.computed_at:%Y-%m-%d %H:%M}"


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


class ApiKey(models.Model):
    """A bearer key of the OpenAI-compatible API. Only its SHA-256 is stored.

    The key itself is shown once, by `manage.py create_api_key`; ``prefix`` (its first
    characters) is enough to recognise it in the admin and in logs, not to use it.
    Revoking sets ``revoked_at``; rows are kept so usage stays attributable.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, for display")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Requests per minute; empty uses GATEWAY_RATE_LIMIT_PER_MINUTE, 0 is unlimited",
    )
    # The rate limit's state (a token bucket, as GCRA): the unix time in milliseconds at
    # which the key's bucket is full again. One number, so one row lock guards it.
    rate_full_at_ms = models.BigIntegerField(default=0, editable=False)
    request_count = models.PositiveBigIntegerField(default=0)
    image_count = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiRequest(models.Model):
    """One call to the OpenAI-compatible API by one key: what was asked, what it cost.

    Each upstream attempt behind it is a BenchSample with source "gateway".
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="requests")
    created_at = models.DateTimeField(db_index=True)
    endpoint = models.CharField(max_length=20, help_text="generations, edits or models")
    image_model = models.ForeignKey(
        ImageModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_code = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=40, blank=True)
    images_requested = models.PositiveSmallIntegerField(default=0)
    images_returned = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Upstream requests sent")
    providers = models.CharField(max_length=200, blank=True, help_text="Providers that served it")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API request"
        indexes = [models.Index(fields=["api_key", "created_at"])]

    def __str__(self):
        return f"{self.endpoint} {self.status_code} at {self.created_at:%Y-%m-%d %H:%M:%S}"
