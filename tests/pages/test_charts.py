"""Charts: valid, CSP-clean SVG with the expected points; the Pareto frontier; label placement."""

import contextlib
import re
import threading
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from leaderboard.pages import charts
from leaderboard.pages.landscape import ChartPoint, Landscape, pareto_frontier
from tests.pages import builders
from tests.pages.builders import board, stats

SVG = "{http://www.w3.org/2000/svg}"


def point(slug, x, y, spread=10.0):
    return ChartPoint(slug=slug, name=slug.upper(), x=x, y=y, low=y - spread, high=y + spread)


def groups(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg"
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}


def assert_csp_clean(svg: str):
    assert " style=" not in svg and "<style" not in svg and "<script" not in svg


def test_the_pareto_frontier_keeps_models_nothing_beats_on_both_axes():
    points = [
        point("cheap-weak", 0.01, 900),
        point("cheap-better", 0.01, 950),  # same price, better: replaces cheap-weak
        point("dominated", 0.04, 940),  # dearer and worse than cheap-better
        point("mid", 0.03, 1000),
        point("best", 0.15, 1100),
        point("dear-worse", 0.2, 1050),
    ]
    assert [p.slug for p in pareto_frontier(points)] == ["cheap-better", "mid", "best"]
    assert pareto_frontier([]) == []


def test_a_landscape_is_valid_svg_with_one_point_per_model_and_the_frontier():
    points = [
        point("a", 0.01, 950),
        point("b", 0.03, 1000),
        point("c", 0.05, 980),
        point("d", 0.15, 1100),
    ]
    landscape = Landscape("cost", tuple(points), tuple(pareto_frontier(points)), ())
    svg = charts.landscape_svg(landscape, title="Elo versus cost", highlight="c")
    found = groups(svg)
    assert {key for key in found if key.startswith("point-")} == {
        "point-a",
        "point-b",
        "point-c",
        "point-d",
    }
    assert {key for key in found if key.startswith("interval-")} == {
        "interval-a",
        "interval-b",
        "interval-c",
        "interval-d",
    }
    assert "pareto-frontier" in found
    frontier_text = "".join(found["frontier-names"].itertext()).strip()
    assert frontier_text.endswith("A → B → D")
    assert "<title>Elo versus cost</title>" in svg
    for name in ("A", "B", "C", "D"):
        assert f">{name}</text>" in svg  # every model is labelled, as text
    assert_csp_clean(svg)


def test_the_same_data_draws_the_same_bytes():
    points = (point("a", 1.5, 950), point("b", 3.0, 1000))
    landscape = Landscape("speed", points, tuple(pareto_frontier(points)), ())
    assert charts.landscape_svg(landscape, title="t") == charts.landscape_svg(landscape, title="t")


def test_an_empty_landscape_says_so_instead_of_failing():
    svg = charts.landscape_svg(Landscape("cost", (), (), ()), title="empty")
    assert "No rated model has a price or a timing yet." in svg
    assert_csp_clean(svg)


def test_style_attributes_become_presentation_attributes():
    raw = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><style type="text/css">*{x: y}</style>'
        '</defs><path style="fill: #fff; stroke-width: 0.8"/>'
        "<text style=\"font-size: 10px; font-family: 'DejaVu Sans', sans-serif\">a</text></svg>"
    )
    clean = charts.clean_svg(raw, title="T & co")
    assert '<path fill="#fff" stroke-width="0.8"/>' in clean
    assert 'font-family="&#x27;DejaVu Sans&#x27;, sans-serif"' in clean
    assert "<title>T &amp; co</title>" in clean
    assert_csp_clean(clean)
    ET.fromstring(clean)


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_repelled_labels_do_not_overlap_and_stay_inside_the_plot():
    # Twelve labels whose anchors crowd one corner of a 500x300 plot.
    anchors = [(100 + 6 * (i % 4), 100 + 5 * (i // 4)) for i in range(12)]
    sizes = [(70.0, 12.0)] * 12
    bounds = (0.0, 0.0, 500.0, 300.0)
    corners = charts.repel_labels(anchors, sizes, bounds)
    boxes = [(x, y, x + w, y + h) for (x, y), (w, h) in zip(corners, sizes, strict=True)]
    for i, a in enumerate(boxes):
        assert bounds[0] <= a[0] and a[2] <= bounds[2] and bounds[1] <= a[1] and a[3] <= bounds[3]
        for b in boxes[i + 1 :]:
            assert not overlaps(a, b)
    assert charts.repel_labels(anchors, sizes, bounds) == corners  # deterministic


def test_a_lone_label_sits_just_right_of_its_point():
    [(x, y)] = charts.repel_labels([(100.0, 100.0)], [(40.0, 10.0)], (0, 0, 500, 300))
    assert (x, y) == (105.0, 95.0)


@pytest.fixture
def site(db):
    builders.site_with_results()


def chart_urls(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in re.findall(r'src="(/charts/[^"]+)"', html)]


def test_every_chart_on_the_model_page_is_served_as_clean_svg(client, site):
    urls = chart_urls(client.get("/models/flux.2-pro/").content.decode())
    assert len(urls) == 6  # latency, history, 2 landscapes x 2 arenas
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
        assert "immutable" in response["Cache-Control"]
        svg = response.content.decode()
        ET.fromstring(svg.encode())
        assert_csp_clean(svg)


def test_the_landscape_chart_plots_every_rated_model_with_a_price(client, site):
    html = client.get("/leaderboard/?mode=t2i").content.decode()
    cost = next(url for url in chart_urls(html) if "/landscape/cost.svg" in url)
    found = groups(client.get(cost).content.decode())
    # 13 rated models, but gpt-image-1 is retired: no live offering, so no price to plot.
    assert len([key for key in found if key.startswith("point-")]) == 12


def test_the_latency_chart_has_one_line_per_benchmarked_provider(client, site):
    url = next(
        u for u in chart_urls(client.get("/models/flux.2-pro/").content.decode()) if "latency" in u
    )
    found = groups(client.get(url).content.decode())
    assert {key for key in found if key.startswith("series-")} == {"series-replicate", "series-fal"}


def test_the_success_chart_has_the_provider_total_and_its_offerings(client, site):
    html = client.get("/providers/fal/").content.decode()
    found = groups(client.get(chart_urls(html)[0]).content.decode())
    assert {key for key in found if key.startswith("series-")} == {
        "series-all",
        "series-flux.2-pro",
    }


def test_a_chart_of_an_older_snapshot_is_not_cached_for_good(client, site):
    url = chart_urls(client.get("/models/flux.2-pro/").content.decode())[0]
    stale = re.sub(r"/charts/[0-9a-f]{12}/", "/charts/000000000000/", url)
    response = client.get(stale)
    assert response.status_code == 200 and response["Cache-Control"] == "no-cache"


def test_bad_chart_parameters_are_rejected(client, site):
    assert client.get("/charts/abc/landscape/cost.svg?highlight=nobody").status_code == 400
    assert client.get("/charts/abc/landscape/cost.svg?mode=xyz").status_code == 400
    assert client.get("/charts/abc/landscape/price.svg").status_code == 404
    assert client.get("/charts/abc/models/nobody/history.svg").status_code == 404


def test_a_model_without_history_gets_no_history_chart(client, db):
    builders.catalog()
    board({"imagen-4": (1000, 990, 1010)})
    stats("fal", "imagen-4", p50=5000, p95=9000)
    html = client.get("/models/imagen-4/").content.decode()
    assert "history.svg" not in html and "latency.svg" not in html  # no samples either


def draw_from_threads(threads: int = 6, rounds: int = 3) -> list[str]:
    series = [
        charts.Series("a", "Text to image", ((date(2026, 1, 1), 1000), (date(2026, 1, 5), 1050)))
    ]
    results: list[str] = []

    def draw(size):
        for _ in range(rounds):
            results.append(charts.history_svg(series, title="t", size=size))

    workers = [
        threading.Thread(target=draw, args=(charts.PHONE if i % 2 else charts.WIDE,))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def test_charts_drawn_at_once_by_several_threads_keep_their_text_as_text():
    # rcParams are global; unguarded, one thread's rc_context exit reset svg.fonttype
    # under another, which then drew its letters as paths.
    for svg in draw_from_threads():
        assert "<text" in svg and "DejaVuSans-" not in svg


def test_the_thread_check_would_catch_unguarded_drawing(monkeypatch):
    monkeypatch.setattr(charts, "_DRAW_LOCK", contextlib.nullcontext())
    outputs = draw_from_threads(threads=8, rounds=4)
    assert any("<text" not in svg for svg in outputs)


def test_a_phone_chart_is_narrow_with_no_text_under_11_units():
    series = [
        charts.Series("a", "Text to image", ((date(2026, 1, 1), 1000), (date(2026, 1, 5), 1050)))
    ]
    svg = charts.history_svg(series, title="t", size=charts.PHONE)
    assert 'viewBox="0 0 309.6 309.6"' in svg
    sizes = [float(value) for value in re.findall(r'font-size="([\d.]+)px"', svg)]
    assert sizes and min(sizes) >= 11


def test_a_phone_chart_is_asked_for_by_size_and_a_bad_size_is_refused(client, site):
    page = client.get("/models/flux.2-pro/").content.decode()
    url = re.search(r'srcset="([^"]+latency\.svg[^"]*)"', page).group(1).replace("&amp;", "&")
    assert url.endswith("size=phone")
    assert 'viewBox="0 0 309.6 309.6"' in client.get(url).content.decode()
    bad = client.get(url.replace("size=phone", "size=huge"))
    assert bad.status_code == 400 and "size" in bad.content.decode()


def test_a_date_chart_with_one_day_of_data_spans_only_that_day():
    from datetime import date

    from leaderboard.pages.charts import Series

    svg = charts.success_svg(
        [Series("all", "All offerings", ((date(2026, 12, 4), 0.97),), is_emphasised=True)],
        title="Success",
    )
    labels = re.findall(r">([^<>]+)</text>", svg)
    # Before the fix matplotlib widened a single day to ticks from 2025 to 2029.
    assert not any(re.fullmatch(r"20\d\d", label.strip()) for label in labels), labels
    assert any("Dec" in label or "04" in label for label in labels), labels
