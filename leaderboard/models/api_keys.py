"""The OpenAI-compatible API's keys (stored hashed) and its request log."""

from django.db import models

from leaderboard.models.catalog import ImageModel


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
