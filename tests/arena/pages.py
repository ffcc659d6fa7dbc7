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
