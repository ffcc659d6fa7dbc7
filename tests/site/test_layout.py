"""The layout rules of the style guide that a machine can check.

Product modules (leaderboard/, bench/) stay under 600 lines, their functions under
~80 lines of code (docstring aside) unless the docstring says why ("Long on purpose:"),
and the performance scripts live in tests/benchmarks/, not in the product.
"""

import ast

from tests.support import REPO_ROOT

PRODUCT = ("leaderboard", "bench")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def product_modules():
    for package in PRODUCT:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def code_lines(node) -> int:
    """Lines of a function without its docstring."""
    length = node.end_lineno - node.lineno + 1
    first = node.body[0]
    is_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if is_docstring and isinstance(first.value.value, str):
        length -= first.end_lineno - first.lineno + 1
    return length


def test_no_product_module_reaches_600_lines():
    long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in product_modules()
        if (lines := len(path.read_text().splitlines())) >= MAX_MODULE_LINES
    }
    assert not long, f"split these modules: {long}"


def test_a_function_over_80_lines_says_why_in_its_docstring():
    unexplained = []
    for path in product_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if code_lines(node) > MAX_FUNCTION_LINES and "Long on purpose:" not in (
                ast.get_docstring(node) or ""
            ):
                where = f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name}"
                unexplained.append(f"{where} ({code_lines(node)} lines)")
    assert not unexplained, "split these functions or say why they are long: " + "; ".join(
        unexplained
    )


def test_performance_scripts_live_outside_the_product():
    # The scripts that used to live in the product (the models' benchmark.py is the
    # BenchRun/BenchSample tables, not a script).
    scripts = {"loadtest.py", "loadtest.lua", "quality.py"}
    inside = [
        str(path.relative_to(REPO_ROOT))
        for package in PRODUCT
        for path in (REPO_ROOT / package).rglob("*")
        if path.name in scripts
        or (path.name == "benchmark.py" and path.parent.name in ("pages", "ratings"))
    ]
    assert not inside, f"move to tests/benchmarks/: {inside}"
    for name in ("arena_load", "page_speed", "rating_engine", "harness"):
        assert (REPO_ROOT / "tests" / "benchmarks" / f"{name}.py").is_file()
