"""The operator revokes keys and reads usage in the admin; keys are never created there."""

from decimal import Decimal

import pytest

from leaderboard.gateway.auth import Usage, create_key, record_usage
from leaderboard.models import ApiKey


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """The admin user's password hash need not be slow here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_keys_are_listed_with_their_usage_and_revoked_from_the_admin(admin_client):
    row, key = create_key("mobile app")
    usage = Usage("generations", 200, images_requested=2, images_returned=2, attempts=3,
                  providers="simulated", cost_usd=Decimal("0.06"))  # fmt: skip
    record_usage(row, usage)

    listing = admin_client.get("/admin/leaderboard/apikey/").content.decode()
    requests = admin_client.get("/admin/leaderboard/apirequest/").content.decode()
    revoke = admin_client.post(
        "/admin/leaderboard/apikey/",
        {"action": "revoke", "_selected_action": [row.pk]},
        follow=True,
    )

    assert "mobile app" in listing and row.prefix in listing and key not in listing
    assert "0.060000" in listing
    assert "simulated" in requests
    assert "1 key(s) revoked" in revoke.content.decode()
    assert ApiKey.objects.get().revoked_at is not None


def test_keys_cannot_be_added_or_deleted_in_the_admin(admin_client):
    row, _ = create_key("ci")

    assert admin_client.get("/admin/leaderboard/apikey/add/").status_code == 403
    assert admin_client.get(f"/admin/leaderboard/apikey/{row.pk}/delete/").status_code == 403
    assert admin_client.get(f"/admin/leaderboard/apikey/{row.pk}/change/").status_code == 200
