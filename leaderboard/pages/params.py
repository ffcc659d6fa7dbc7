"""Query parameters of the public pages and the data API, checked once, with clear errors.

`mode=xyz`, `window=7y` or an unknown category is a 400 that names the parameter and
the accepted values; the pages render it, the API returns it as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from leaderboard.models import ArenaMode, RatingWindow


class BadQuery(Exception):
    """A request the pages cannot answer: a bad parameter (400) or an unknown slug (404)."""

    def __init__(self, message: str, *, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status

    @property
    def code(self) -> str:
        return "not_found" if self.status == 404 else "invalid_parameter"


@dataclass(frozen=True)
class BoardQuery:
    """Which leaderboard: an arena mode, a category slug (None = overall), a time window."""

    mode: str = ArenaMode.TEXT_TO_IMAGE
    category: str | None = None
    window: str = RatingWindow.ALL_TIME

    @property
    def key(self) -> tuple:
        return (self.mode, self.category or "", self.window)

    def as_params(self) -> dict[str, str]:
        """The canonical query string parameters (defaults left out)."""
        params = {"mode": self.mode}
        if self.category:
            params["category"] = self.category
        if self.window != RatingWindow.ALL_TIME:
            params["window"] = self.window
        return params


def board_query(data, *, categories: list[str]) -> BoardQuery:
    """A BoardQuery from request.GET, or BadQuery naming the first bad parameter.

    Plain set lookups rather than a Django form: this runs on every cached page view,
    where a form's construction would cost more than serving the page.
    """
    mode = data.get("mode") or ArenaMode.TEXT_TO_IMAGE
    if mode not in ArenaMode.values:
        raise BadQuery(
            f'mode: "{mode}" is not a valid mode; use one of: {", ".join(ArenaMode.values)}.',
            param="mode",
        )
    category = data.get("category") or None
    if category is not None and category not in categories:
        raise BadQuery(
            f'category: There is no category "{category}"; leave category empty for the '
            f"overall board or use one of: {', '.join(categories)}.",
            param="category",
        )
    window = data.get("window") or RatingWindow.ALL_TIME
    if window not in RatingWindow.values:
        raise BadQuery(
            f'window: "{window}" is not a valid window; use one of: '
            f"{', '.join(RatingWindow.values)}.",
            param="window",
        )
    return BoardQuery(mode=str(mode), category=category, window=str(window))
