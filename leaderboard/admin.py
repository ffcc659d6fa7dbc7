from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from leaderboard.arena import services
from leaderboard.arena.pool import pool_cells
from leaderboard.models import (
    BenchRun,
    BenchSample,
    Category,
    Challenge,
    ChallengeReference,
    Generation,
    ImageModel,
    Matchup,
    Offering,
    Provider,
    Vote,
    VoterExclusion,
    VoterIdentity,
)


class StableSlugAdmin(admin.ModelAdmin):
    """Slugs are typed once, on creation; after that they are shown, not edited."""

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + ["slug"] if obj is not None else readonly

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else super().get_prepopulated_fields(request, obj)


class OfferingInline(admin.TabularInline):
    model = Offering
    extra = 0
    fields = ["provider", "provider_model_id", "endpoint_kind", "pricing", "is_active"]
    show_change_link = True


@admin.register(ImageModel)
class ImageModelAdmin(StableSlugAdmin):
    list_display = [
        "name",
        "vendor",
        "does_text_to_image",
        "does_edit",
        "offering_count",
        "is_active",
    ]
    list_filter = ["is_active", "vendor", "does_text_to_image", "does_edit", "is_open_weights"]
    search_fields = ["name", "slug", "vendor"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OfferingInline]
    actions = ["deactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(offering_count=Count("offerings"))

    @admin.display(ordering="offering_count", description="offerings")
    def offering_count(self, obj):
        return obj.offering_count

    @admin.action(description="Deactivate (deprecate) the selected models")
    def deactivate(self, request, queryset):
        updated = queryset.update(is_active=False)
        self.message_user(request, f"{updated} model(s) deactivated; their votes are kept.")


@admin.register(Provider)
class ProviderAdmin(StableSlugAdmin):
    list_display = ["name", "slug", "base_url", "api_key_env", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OfferingInline]


@admin.register(Offering)
class OfferingAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "provider_model_id",
        "endpoint_kind",
        "price_per_image_usd",
        "price_is_estimated",
        "price_checked_on",
        "is_active",
    ]
    list_filter = ["provider", "endpoint_kind", "is_active", "image_model__vendor"]
    search_fields = ["provider_model_id", "image_model__name", "provider__name"]
    list_select_related = ["provider", "image_model"]


@admin.register(Category)
class CategoryAdmin(StableSlugAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ChallengeReferenceInline(admin.TabularInline):
    model = ChallengeReference
    extra = 0
    fields = ["position", "image", "width", "height", "description"]
    readonly_fields = ["width", "height"]


@admin.register(Challenge)
class ChallengeAdmin(StableSlugAdmin):
    list_display = ["title", "mode", "category", "is_active"]
    list_filter = ["mode", "category", "is_active"]
    search_fields = ["title", "slug", "prompt"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ChallengeReferenceInline]


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "pool", "impressions", "width", "height", "bytes", "created_at"]
    list_filter = ["pool", "offering__provider", "challenge__mode", "offering__image_model"]
    search_fields = ["sha256", "challenge__title", "offering__image_model__name"]
    list_select_related = ["offering__provider", "offering__image_model", "challenge"]
    readonly_fields = [
        "sha256", "pixel_sha256", "bytes", "width", "height", "created_at", "impressions",
        "retired_at",
    ]  # fmt: skip
    change_list_template = "admin/leaderboard/generation/change_list.html"

    def get_urls(self):
        pool_page = path(
            "pool/",
            self.admin_site.admin_view(self.pool_view),
            name="leaderboard_generation_pool",
        )
        return [pool_page, *super().get_urls()]

    def pool_view(self, request):
        """The arena's pool per model and challenge: live, retired, needed."""
        cells = pool_cells()
        context = {
            **self.admin_site.each_context(request),
            "title": "Arena pool",
            "opts": self.model._meta,
            "cells": cells,
            "needed": sum(cell.needed for cell in cells),
            "max_impressions": settings.ARENA_MAX_IMPRESSIONS,
            "target": settings.ARENA_LIVE_IMAGES_TARGET,
        }
        return TemplateResponse(request, "admin/leaderboard/generation/pool.html", context)


@admin.register(BenchRun)
class BenchRunAdmin(admin.ModelAdmin):
    list_display = ["id", "suite", "status", "started_at", "finished_at", "spent_usd"]
    list_filter = ["status", "suite"]


@admin.register(BenchSample)
class BenchSampleAdmin(admin.ModelAdmin):
    list_display = [
        "offering",
        "source",
        "status",
        "ttfb_ms",
        "generation_ms",
        "cost_usd",
        "started_at",
    ]
    list_filter = ["status", "source", "offering__provider", "offering__image_model"]
    list_select_related = ["offering__provider", "offering__image_model"]
    date_hierarchy = "started_at"


class ReadOnlyFactsAdmin(admin.ModelAdmin):
    """Matchups, votes, API requests and voter identities are facts: the admin shows them
    and never edits or deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Matchup)
class MatchupAdmin(ReadOnlyFactsAdmin):
    list_display = [
        "code", "challenge", "model_a", "model_b", "short_voter", "served_at", "expires_at",
        "voted_at",
    ]  # fmt: skip
    list_filter = ["challenge__mode", ("voted_at", admin.EmptyFieldListFilter)]
    search_fields = ["code", "voter"]
    list_select_related = ["challenge", "model_a", "model_b"]
    date_hierarchy = "served_at"

    @admin.display(description="voter")
    def short_voter(self, obj):
        return obj.voter[:12]


@admin.register(Vote)
class VoteAdmin(ReadOnlyFactsAdmin):
    list_display = [
        "created_at",
        "model_a",
        "model_b",
        "outcome",
        "mode",
        "decision_ms",
        "is_flagged",
        "is_excluded",
        "exclusion_reason",
        "exclude_voter_link",
    ]
    list_filter = ["mode", "outcome", "is_flagged", "is_excluded", "is_demo", "category"]
    search_fields = ["voter", "exclusion_reason"]
    list_select_related = ["model_a", "model_b"]
    date_hierarchy = "created_at"

    @admin.display(description="voter")
    def exclude_voter_link(self, obj):
        if obj.is_excluded:
            url = reverse("admin:leaderboard_voterexclusion_changelist") + f"?q={obj.voter}"
            return format_html('<a href="{}">{}… (excluded)</a>', url, obj.voter[:12])
        url = reverse("admin:leaderboard_voterexclusion_add") + f"?voter={obj.voter}"
        return format_html('<a href="{}">{}… exclude</a>', url, obj.voter[:12])


class VoterExclusionForm(forms.ModelForm):
    class Meta:
        model = VoterExclusion
        fields = ["voter", "reason", "lift_reason"]

    def clean(self):
        cleaned = super().clean()
        voter = cleaned.get("voter")
        if self.instance.pk is None and voter:
            if VoterExclusion.objects.filter(voter=voter, lifted_at__isnull=True).exists():
                raise forms.ValidationError("This voter is already excluded.")
        return cleaned


@admin.register(VoterExclusion)
class VoterExclusionAdmin(admin.ModelAdmin):
    """Exclude a voter (with a reason) by adding a row; lift it by giving a lift reason.

    Both go through the arena services, which flip Vote.is_excluded for all the
    voter's votes; the rows stay as the history of who was excluded and why.
    """

    form = VoterExclusionForm
    list_display = [
        "short_voter",
        "rule",
        "reason",
        "is_automatic",
        "excluded_votes",
        "created_at",
        "created_by",
        "is_active",
        "lifted_at",
        "lift_reason",
    ]
    list_filter = ["is_automatic", ("lifted_at", admin.EmptyFieldListFilter)]
    search_fields = ["voter", "reason", "lift_reason"]
    date_hierarchy = "created_at"
    history_fields = [
        "voter",
        "reason",
        "is_automatic",
        "created_at",
        "created_by",
        "excluded_votes",
        "lifted_at",
        "lifted_by",
        "lift_reason",
        "evidence_table",
    ]

    @admin.display(description="voter")
    def short_voter(self, obj):
        return obj.voter[:12]

    @admin.display(description="rule")
    def rule(self, obj):
        return (obj.evidence or {}).get("rule", "flagged share" if obj.is_automatic else "manual")

    @admin.display(description="evidence")
    def evidence_table(self, obj):
        """What detection saw (leaderboard/arena/detection.py), one line per figure."""
        if not obj.evidence:
            return "—"
        rows = []
        for key, value in obj.evidence.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {v}" for k, v in value.items())
            rows.append(format_html("<tr><th>{}</th><td>{}</td></tr>", key, value))
        return format_html("<table>{}</table>", format_html_join("", "{}", ((r,) for r in rows)))

    @admin.display(boolean=True, description="active")
    def is_active(self, obj):
        return obj.is_active

    def get_fields(self, request, obj=None):
        return ["voter", "reason"] if obj is None else self.history_fields

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        editable = {"lift_reason"} if obj.is_active else set()
        return [f for f in self.history_fields if f not in editable]

    def save_model(self, request, obj, form, change):
        user = request.user.get_username()
        if not change:
            obj.pk = services.exclude_voter(obj.voter, obj.reason, by=user).pk
        elif obj.lift_reason.strip() and "lift_reason" in form.changed_data:
            services.include_voter(obj.voter, obj.lift_reason, by=user)
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        return False


# The OpenAI-compatible API (leaderboard/gateway): keys and their usage.
from django.utils import timezone  # noqa: E402

from leaderboard.models import ApiKey, ApiRequest  # noqa: E402


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by `manage.py create_api_key` (the only place a key is ever shown);
    here they are renamed, limited, revoked, and their usage read. Revoked keys stay
    so their requests remain attributable."""

    list_display = [
        "name", "prefix", "is_active", "rate_limit_per_minute", "request_count", "image_count",
        "cost_usd", "last_used_at", "created_at", "revoked_at",
    ]  # fmt: skip
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    fields = [
        "name", "prefix", "rate_limit_per_minute", "revoked_at", "created_at", "request_count",
        "image_count", "cost_usd", "last_used_at",
    ]  # fmt: skip
    readonly_fields = [
        "prefix", "created_at", "request_count", "image_count", "cost_usd", "last_used_at",
    ]  # fmt: skip
    actions = ["revoke"]

    @admin.display(boolean=True, description="active")
    def is_active(self, obj):
        return obj.is_active

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{revoked} key(s) revoked; they stop working at once.")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiRequest)
class ApiRequestAdmin(ReadOnlyFactsAdmin):
    """Every call to the API, read-only; its upstream attempts are gateway BenchSamples."""

    list_display = [
        "created_at", "api_key", "endpoint", "image_model", "status_code", "error_code",
        "images_requested", "images_returned", "attempts", "providers", "cost_usd", "duration_ms",
    ]  # fmt: skip
    list_filter = ["endpoint", "status_code", "api_key", "image_model"]
    list_select_related = ["api_key", "image_model"]
    date_hierarchy = "created_at"


@admin.register(VoterIdentity)
class VoterIdentityAdmin(ReadOnlyFactsAdmin):
    list_display = ["voter", "network_hash", "created_at"]
    search_fields = ["voter", "network_hash"]
    date_hierarchy = "created_at"
