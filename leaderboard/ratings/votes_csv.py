"""Read a vote CSV in the public arena battle export format.

Header with at least `model_a,model_b,winner`; winner is `model_a`, `model_b`, `tie` or
`tie (bothbad)`. Optional columns: `category`, and `timestamp` (or `tstamp`: seconds
since the epoch, or ISO 8601). pandas parses the file (C parser, categorical columns),
imported here only, so `import leaderboard.ratings` stays numpy/scipy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..csv_cells import restore_cell
from .votes import A_WINS, B_WINS, BOTH_BAD, TIE, Votes

WINNER_OUTCOMES = {"model_a": A_WINS, "model_b": B_WINS, "tie": TIE, "tie (bothbad)": BOTH_BAD}
REQUIRED_COLUMNS = ("model_a", "model_b", "winner")
TIMESTAMP_COLUMNS = ("timestamp", "tstamp")


class VotesFileError(ValueError):
    """The vote file is missing, unreadable, empty or not in the expected format."""


def read_votes_csv(path: str | Path, *, category: str | None = None) -> Votes:
    """Read votes from a CSV file into `Votes` (models sorted by name).

    With `category`, only rows whose `category` column equals it are kept. With a
    timestamp column the votes are put in time order (stable). Raises VotesFileError
    with a one-line message naming the file (and the line, for a bad value).

    Long on purpose: the file's checks in the order a reader meets them (header,
    columns, outcomes, timestamps), each with its own one-line message.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise VotesFileError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    try:
        header = pd.read_csv(path, nrows=0)
    except pd.errors.EmptyDataError:
        raise VotesFileError(f"{path}: empty file") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise VotesFileError(f"{path}: not a readable CSV file ({_first_line(error)})") from None
    columns = list(header.columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise VotesFileError(
            f"{path}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED_COLUMNS)})"
        )
    if category is not None and "category" not in columns:
        raise VotesFileError(f"{path}: no 'category' column to select category {category!r}")
    time_column = next((c for c in TIMESTAMP_COLUMNS if c in columns), None)
    wanted = [*REQUIRED_COLUMNS, *(["category"] if category is not None else [])]
    wanted += [time_column] if time_column else []

    try:
        frame = pd.read_csv(
            path,
            usecols=wanted,
            dtype={c: "category" for c in wanted if c != time_column},
            na_filter=False,
            index_col=False,
        )
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as error:
        raise VotesFileError(f"{path}: not a readable CSV file ({_first_line(error)})") from None
    for column in ("model_a", "model_b", "category"):
        if column in frame:  # cells the export quoted against formula injection
            frame[column] = _restored(frame[column])
    if category is not None:
        frame = frame[(frame["category"] == category).to_numpy()]
        if frame.empty:
            raise VotesFileError(f"{path}: no votes in category {category!r}")
    if frame.empty:
        raise VotesFileError(f"{path}: no votes (header only)")

    line_of_row = frame.index.to_numpy() + 2
    winner = frame["winner"].cat.remove_unused_categories()
    winner_values = [str(v) for v in winner.cat.categories]
    unknown = [v for v in winner_values if v not in WINNER_OUTCOMES]
    if unknown:
        bad = int(np.flatnonzero((winner == unknown[0]).to_numpy())[0])
        raise VotesFileError(
            f"{path}: line {line_of_row[bad]}: unknown winner {unknown[0]!r} "
            f"(expected one of {', '.join(WINNER_OUTCOMES)})"
        )
    outcome = np.array([WINNER_OUTCOMES[v] for v in winner_values], dtype=np.int8)[
        winner.cat.codes.to_numpy()
    ]

    side_a = frame["model_a"].cat.remove_unused_categories()
    side_b = frame["model_b"].cat.remove_unused_categories()
    models = sorted(
        {str(m) for m in side_a.cat.categories} | {str(m) for m in side_b.cat.categories}
    )
    if "" in models:
        empty = (side_a == "").to_numpy() | (side_b == "").to_numpy()
        raise VotesFileError(
            f"{path}: line {line_of_row[np.flatnonzero(empty)[0]]}: empty model name"
        )
    code_a = side_a.cat.rename_categories([str(m) for m in side_a.cat.categories])
    code_b = side_b.cat.rename_categories([str(m) for m in side_b.cat.categories])
    code_a = code_a.cat.set_categories(models).cat.codes.to_numpy().astype(np.int32)
    code_b = code_b.cat.set_categories(models).cat.codes.to_numpy().astype(np.int32)

    timestamp_s = None
    if time_column:
        timestamp_s = _parse_timestamps(frame[time_column], path, line_of_row)
        order = np.argsort(timestamp_s, kind="stable")
        code_a, code_b, outcome, timestamp_s = (
            code_a[order],
            code_b[order],
            outcome[order],
            timestamp_s[order],
        )
    return Votes(tuple(models), code_a, code_b, outcome, timestamp_s)


def _parse_timestamps(column, path: Path, line_of_row: np.ndarray) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64)
    parsed = pd.to_datetime(column.astype(str), errors="coerce", utc=True, format="ISO8601")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise VotesFileError(
            f"{path}: line {line_of_row[bad[0]]}: unreadable timestamp {column.iloc[bad[0]]!r}"
        )
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)


def _restored(column):
    names = [str(name) for name in column.cat.categories]
    restored = [restore_cell(name) for name in names]
    if restored == names:
        return column
    if len(set(restored)) == len(restored):
        return column.cat.rename_categories(restored)
    return column.astype(str).map(restore_cell).astype("category")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
