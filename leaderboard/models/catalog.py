"""The curated catalog: models, providers, offerings, categories, challenges, and
the generations offerings made for challenges."""

import os

from django.core.exceptions import ValidationError
from django.db import models

from bench.capabilities import Capabilities, CapabilitiesError
from bench.pools import ARENA, DUPLICATE, POOLS
from bench.pricing import PricingError, PricingRule, price_per_image_usd
from bench.sizes import SizeRules, SizeRulesError


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
    price_source_url = models.URLField(
        max_length=500, blank=True, help_text="Where the pricing rule was read"
    )
    price_checked_on = models.DateField(
        null=True, blank=True, help_text="When the price was last checked against the source"
    )
    price_is_estimated = models.BooleanField(
        default=False,
        help_text="The rule comes from a secondary source or an estimate, not the provider's "
        "own price page: the pages say 'estimated'",
    )

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
