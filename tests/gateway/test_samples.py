"""The gateway stores its samples like the runner does: one mapping, every column."""

from bench.store import sample_row
from leaderboard.models import BenchSample
from tests.gateway.test_generations import PROTOCOL_MODELS


def test_a_gateway_sample_keeps_the_polling_bracket_and_the_providers_own_times(api):
    # Replicate is polled: the runner stores when polling saw the job pending and
    # ready, and the provider's created/started/completed stamps; so must the API.
    api.images.generate(model=PROTOCOL_MODELS["replicate"], prompt="A lighthouse at dawn")

    sample = BenchSample.objects.get()
    assert sample.source == "gateway" and sample.status == "ok"
    assert sample.first_ready_ms is not None
    assert sample.first_ready_ms <= sample.generation_ms
    assert sample.provider_created_at is not None
    assert sample.provider_completed_at is not None
    assert sample.provider_created_at <= sample.provider_completed_at


def test_the_one_sample_mapping_fills_every_column_of_the_sample_table():
    from bench.providers.base import GenerationResult

    row = sample_row(GenerationResult(status="ok"), offering_id=1, source="bench", mode="t2i")
    columns = {field.attname for field in BenchSample._meta.concrete_fields} - {"id"}
    assert set(row) == columns
