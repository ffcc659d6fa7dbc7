"""Reading arena pages the way a browser would, for view tests."""

import re
from dataclasses import dataclass

VOTE_ACTION = re.compile(r'action="/arena/vote/([A-Za-z0-9_-]{43})"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IMAGE_SRC = re.compile(r'src="(/arena/image/[^"]+)"')


@dataclass
class ArenaPage:
    html: str
    code: str | None
    csrf_token: str | None
    image_urls: list[str]

    @property
    def vote_url(self) -> str:
        return f"/arena/vote/{self.code}"


def read_page(response) -> ArenaPage:
    html = response.content.decode()
    code = VOTE_ACTION.search(html)
    csrf = CSRF_INPUT.search(html)
    return ArenaPage(
        html=html,
        code=code.group(1) if code else None,
        csrf_token=csrf.group(1) if csrf else None,
        image_urls=IMAGE_SRC.findall(html),
    )


def open_arena(client, path="/arena/", **extra) -> ArenaPage:
    response = client.get(path, **extra)
    assert response.status_code == 200, response.status_code
    return read_page(response)


def solve(challenge: dict) -> str:
    """Solve an ALTCHA challenge the way a browser does; the payload to post back."""
    import base64
    import json

    import altcha

    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxNumber"]
    )
    payload = {**challenge, "number": solution.number}
    payload.pop("maxNumber")
    return base64.b64encode(json.dumps(payload).encode()).decode()


def prove(client, **extra):
    """Give a test client's voter identity its proof of work (as arena.js does).
    Returns the answer to the identity POST."""
    challenge = client.get("/arena/challenge", HTTP_ACCEPT="application/json", **extra).json()
    if "csrftoken" in client.cookies:
        extra.setdefault("HTTP_X_CSRFTOKEN", client.cookies["csrftoken"].value)
    return client.post(
        "/arena/identity",
        {"altcha": solve(challenge["challenge"])},
        HTTP_ACCEPT="application/json",
        **extra,
    )


def prove_over_http(client, csrf_token: str):
    """prove() for an httpx.Client talking to a live server."""
    challenge = client.get("/arena/challenge", headers={"Accept": "application/json"}).json()
    return client.post(
        "/arena/identity",
        data={"altcha": solve(challenge["challenge"])},
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token},
    )
