"""Keys stay secret: never logged, never stored in clear, never sent upstream, never echoed.

The canary is a real key made by create_api_key; a second canary is a wrong key.
The simulator is told to echo whatever credential it receives into its error
bodies (as misbehaving providers do), so a forwarded Authorization header would
surface in the samples. Then the logs, every response, and a full dump of every
table are searched.
"""

import hashlib
import io
import logging

import httpx
import openai
import pytest
import sqlalchemy as sa
from django.core.management import call_command

from leaderboard.models import ApiKey, BenchSample, Provider
from tests.gateway.builders import extra_offering, measured, openai_client, png, use_profile

PROVIDER_KEY = "sim-provider-secret-3f9a0c71d2"


def database_dump(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        rows = [
            repr(tuple(row))
            for table in metadata.sorted_tables
            for row in connection.execute(sa.select(table))
        ]
    engine.dispose()
    return "\n".join(rows)


def test_keys_are_never_logged_stored_in_clear_forwarded_or_echoed(
    live_server, api, api_key, catalog, database_url, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    wrong_key = "pw_canary-wrong-" + "z" * 30
    monkeypatch.setenv("PAIRWISE_TEST_PROVIDER_KEY", PROVIDER_KEY)
    keyed = extra_offering("flux.2-pro", "keyed", catalog.base_url, "sim/keyed",
                           api_key_env="PAIRWISE_TEST_PROVIDER_KEY")  # fmt: skip
    measured(keyed, success_rate=1.0, p50_ms=10)
    use_profile(
        catalog,
        {"sim/keyed": {"failures": {"server_error": 1.0}}, "sim/flux.2-max": {"failures": {
            "server_error": 1.0}}},
        echo_credentials=True,
    )  # fmt: skip
    answers = []

    ok = api.images.with_raw_response.generate(model="flux.2-pro", prompt="A fox")
    answers.append(ok.http_response)
    edit = api.images.with_raw_response.edit(
        model="nano-banana", image=("a.png", png(), "image/png"), prompt="Blue"
    )
    answers.append(edit.http_response)
    with pytest.raises(openai.InternalServerError) as failed:
        api.images.generate(model="flux.2-max", prompt="A fox")
    answers.append(failed.value.response)
    with openai_client(live_server, wrong_key) as wrong:
        with pytest.raises(openai.AuthenticationError) as refused:
            wrong.images.generate(model="flux.2-pro", prompt="A fox")
    answers.append(refused.value.response)
    answers.append(httpx.get(ok.parse().data[0].url))

    # The keyed provider got its own key (and the 500 it answered echoed it) ...
    keyed_sample = BenchSample.objects.get(offering=keyed)
    assert keyed_sample.status == "http_5xx" and PROVIDER_KEY not in keyed_sample.error
    # ... and no provider ever saw ours: the echoing simulator had nothing to echo.
    dump = database_dump(database_url)
    django_dump = io.StringIO()
    call_command("dumpdata", stdout=django_dump)
    texts = [caplog.text, dump, django_dump.getvalue()]
    texts += [str(a.headers) + a.content.decode("latin-1") for a in answers]
    for secret in (api_key, wrong_key, PROVIDER_KEY):
        for text in texts:
            assert secret not in text
    # Only the key's hash and its short prefix are stored.
    assert ApiKey.objects.get().key_hash == hashlib.sha256(api_key.encode()).hexdigest()
    assert api_key[:10] in dump and api_key[:16] not in dump
    # The 502 says what happened in our words, not the provider's body.
    assert failed.value.body["message"] == "Every provider failed (simulated: http_5xx)."
    assert Provider.objects.filter(slug="keyed").exists()


def test_the_create_api_key_command_prints_the_key_once_and_stores_its_hash(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "ci", "--rate-limit", "5", stdout=out, stderr=err)

    key = out.getvalue().strip()
    row = ApiKey.objects.get(name="ci")
    assert key.startswith("pw_") and len(key) > 40
    assert key not in err.getvalue() and row.prefix in err.getvalue()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.rate_limit_per_minute == 5
