"""What each voter was shown lately, kept per web worker and topped up from the database.

Serving must not re-read a voter's last 500 matchups every time (at that depth the read
and the sets built from it cost more than the rest of the serve). So each worker keeps
the recent voters' windows in memory, as counters that are updated row by row, and asks
the database only for the matchups served since its last look (usually one or two,
served by other workers). The database stays the truth: a voter new to this worker, or
pushed out of the cache, is read in full.

A voter's matchups are assumed to be served in time order (one server clock); two
serves of one voter at the same instant on two workers can see each other's pick
late, as they would without the cache.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, deque
from datetime import datetime

from leaderboard.arena.sampling import (
    GENERATION_MEMORY,
    PAIR_PROMPT_MEMORY,
    History,
    pair_prompt_key,
)

# Voters remembered per worker (about 100 kB each at full depth).
CACHED_VOTERS = 256
_COLUMNS = "id, served_at, generation_a_id, generation_b_id, challenge_id, model_a_id, model_b_id"
LATEST_MATCHUPS = f"""
    SELECT {_COLUMNS} FROM leaderboard_matchup
    WHERE voter = %s ORDER BY served_at DESC, id DESC LIMIT %s
"""
MATCHUPS_SINCE = f"""
    SELECT {_COLUMNS} FROM leaderboard_matchup
    WHERE voter = %s AND served_at >= %s ORDER BY served_at, id
"""


class _Window:
    """One voter's last GENERATION_MEMORY matchups as counters, oldest dropped first."""

    def __init__(self) -> None:
        self.images: deque[tuple[int, int]] = deque()
        self.pairs: deque[tuple[int, int, int] | None] = deque()
        self.image_counts: Counter = Counter()
        self.pair_counts: Counter = Counter()
        self.latest: datetime | None = None
        self.latest_ids: set[int] = set()

    def add(self, row) -> None:
        matchup_id, served_at, generation_a, generation_b, challenge, model_a, model_b = row
        if served_at == self.latest and matchup_id in self.latest_ids:
            return
        if served_at != self.latest:
            self.latest, self.latest_ids = served_at, set()
        self.latest_ids.add(matchup_id)
        self.images.append((generation_a, generation_b))
        self.image_counts.update((generation_a, generation_b))
        if len(self.images) > GENERATION_MEMORY:
            self._forget(self.image_counts, self.images.popleft())
        pair = None
        if model_a is not None and model_b is not None:
            pair = pair_prompt_key(challenge, model_a, model_b)
            self.pair_counts[pair] += 1
        self.pairs.append(pair)
        if len(self.pairs) > PAIR_PROMPT_MEMORY:
            old = self.pairs.popleft()
            if old is not None:
                self._forget(self.pair_counts, (old,))

    @staticmethod
    def _forget(counts: Counter, keys) -> None:
        for key in keys:
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]

    def history(self) -> History:
        # The counters' keys are exactly the images and pair-prompts in the windows.
        return History(self.image_counts.keys(), self.pair_counts.keys())


class HistoryCache:
    """This worker's windows of recent voters (least recently served dropped first)."""

    def __init__(self, size: int = CACHED_VOTERS) -> None:
        self.size = size
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def history(self, cursor, voter: str, *, to_db, from_db) -> History:
        """`voter`'s recent images and pair-prompts, read through `cursor` as needed.

        `to_db` and `from_db` convert datetimes to and from the cursor's form.
        """
        with self._lock:
            window = self._windows.pop(voter, None)
        if window is None or window.latest is None:
            window = _Window()
            cursor.execute(LATEST_MATCHUPS, [voter, GENERATION_MEMORY])
            rows = reversed(cursor.fetchall())
        else:
            cursor.execute(MATCHUPS_SINCE, [voter, to_db(window.latest)])
            rows = cursor.fetchall()
        for row in rows:
            window.add((row[0], from_db(row[1]), *row[2:]))
        with self._lock:
            self._windows[voter] = window
            while len(self._windows) > self.size:
                self._windows.popitem(last=False)
        return window.history()


# This worker's memory of recent voters (the serve path reads it; tests clear it).
voter_histories = HistoryCache()
