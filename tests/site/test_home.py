import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_the_catalog_with_computed_prices(client):
    call_command("loaddata", "catalog", verbosity=0)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "FLUX.2 [pro]" in html and "Nano Banana Pro" in html
    # Cheapest 1024x1024 offering of FLUX.2 [pro]: Replicate's $0.015 per megapixel.
    row = html.split("FLUX.2 [pro]")[1].split("</tr>")[0]
    assert "$0.015" in row


def test_security_headers_are_set(client):
    response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
