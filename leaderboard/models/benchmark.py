"""The benchmark's runs and samples (written by bench/ through SQLAlchemy) and the
rolling provider stats derived from them."""

from django.db import models

from bench.providers.base import FAILURE_CLASSES, OK, SKIPPED
from leaderboard.models.catalog import ArenaMode, Challenge, Generation, Offering


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
    # `bench run --shard K/N --region NAME`: which part of the plan, measured from where.
    shard = models.CharField(max_length=20, blank=True, db_default="")
    region = models.CharField(max_length=40, blank=True, db_default="")
    # Set by `manage.py demo`: every answer came from the loopback simulator, whatever
    # provider the offerings name. db_default: bench/store.py inserts runs without it.
    is_simulated = models.BooleanField(default=False, db_default=False)

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
    # Where the request was sent from (`bench run --region`); blank: unnamed or the gateway.
    region = models.CharField(max_length=40, blank=True, db_default="")

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["offering", "started_at"])]

    def __str__(self):
        return f"{self.offering_id} {self.status} at {self.started_at:%Y-%m-%d %H:%M}"


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
