"""Spreadsheet-safe CSV cells (OWASP's rule against CSV formula injection).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
as a formula by spreadsheet programs; a model named ``=HYPERLINK(...)`` in the catalog
must not become a live link in someone's Excel. Such cells get a leading single
quote. Numbers are numbers, not formulas: int, float and Decimal values, and text
that is a plain number ("-12.5"), are written as they are. No Django here: the rating
command line restores the cells of the vote export with `restore_cell`.
"""

from __future__ import annotations

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralize_cell(value):
    """``value`` safe to put in a CSV cell: formula-like text gets a leading quote."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralize_row(row):
    """A list or dict row with every cell passed through `neutralize_cell`."""
    if isinstance(row, dict):
        return {key: neutralize_cell(value) for key, value in row.items()}
    return [neutralize_cell(value) for value in row]


def restore_cell(value: str) -> str:
    """The text `neutralize_cell` was given (for values that never start with a quote,
    such as slugs, the round trip is exact)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value
