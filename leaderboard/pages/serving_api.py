"""The serving boards in the data API: `GET /api/serving/<model slug>` (JSON) and
`/api/serving/<model slug>.csv`, read from what `manage.py serving_boards` stored."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from leaderboard.models import ImageModel
from leaderboard.pages.api import _csv_response, api_view
from leaderboard.pages.params import BadQuery
from leaderboard.serving_boards import BOARD_COLUMNS, serving_csv_rows, serving_payload


def _model(slug: str) -> ImageModel:
    model = ImageModel.objects.filter(slug=slug).first()
    if model is None:
        raise BadQuery(f"There is no model {slug!r}.", status=404)
    return model


@api_view
def serving_json(request, slug):
    body = json.dumps(serving_payload(_model(slug)), cls=DjangoJSONEncoder)
    return HttpResponse(body, content_type="application/json")


@api_view
def serving_csv(request, slug):
    payload = serving_payload(_model(slug))
    return _csv_response(serving_csv_rows(payload), BOARD_COLUMNS, f"serving-{slug}.csv")
