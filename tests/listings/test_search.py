"""Search of PROTOCOL.md §4: every filter, sorting, pages, cursors and capped counts."""

from datetime import timedelta

import pytest

from marketplace.listings import search as search_module

from ..factories import make_listing

API = "/api/v1/listings"


@pytest.fixture
def catalogue(db_session, seller, other_seller, now):
    """A small catalogue with known answers."""
    day = timedelta(days=1)
    listings = {
        "h100": make_listing(db_session, seller, title="H100 cluster Guiyang", unit_price=2200, latency_ms=2.0),
        "h800": make_listing(db_session, seller, title="H800 training pod", gpu_model="H800", unit_price=1900,
                             region="44", city="Shenzhen", latency_ms=0.8),
        "server": make_listing(db_session, other_seller, title="Whole 8-GPU A100 server", gpu_model="A100",
                               unit_price=6400, price_unit="hour", region="15", city="Ulanqab", latency_ms=9.0),
        "small": make_listing(db_session, other_seller, title="Single 4090 for inference", gpu_model="RTX 4090",
                              gpu_count=1, gpu_memory_gb=24, unit_price=250, region="44", city="Shenzhen",
                              latency_ms=4.0, available_from=(now + 30 * day).isoformat(),
                              available_until=(now + 60 * day).isoformat()),
        "storage": make_listing(db_session, seller, title="Cold object storage Ulanqab", resource_type="storage",
                                gpu_model=None, gpu_count=None, gpu_memory_gb=None, vcpus=None, memory_gb=None,
                                storage_gb=100000, price_unit="gb_month", unit_price=9, region="15", city="Ulanqab"),
        "draft": make_listing(db_session, seller, title="Draft H100 not for sale", status="draft"),
    }  # fmt: skip
    return listings


def codes(response) -> list[str]:
    body = response.get_json()
    assert response.status_code == 200, body
    return [item["code"] for item in body["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["storage", "small", "server", "h800", "h100"]),
        ({"resource_type": "storage"}, ["storage"]),
        ({"gpu_model": "H800"}, ["h800"]),
        ({"min_gpus": 8}, ["server", "h800", "h100"]),
        ({"region": "44"}, ["small", "h800"]),
        ({"max_price": 2000, "price_unit": "gpu_hour"}, ["small", "h800"]),  # like with like: per GPU-hour only
        ({"max_price": 7000, "price_unit": "hour"}, ["server"]),
        ({"max_price": 7000, "price_unit": "hour", "currency": "usd"}, []),
        ({"price_unit": "gb_month"}, ["storage"]),
        ({"max_latency_ms": 2}, ["storage", "h800", "h100"]),
        ({"origin": "R44"}, ["storage", "small", "server", "h800", "h100"]),
        ({"origin": "R11"}, []),
        ({"q": "guiyang"}, ["h100"]),
        ({"q": "GUIY"}, ["h100"]),  # prefix, any case
        ({"q": "storage ulanqab"}, ["storage"]),
        ({"q": "H100"}, ["h100"]),  # the draft never shows
        ({"q": "h100 shenzhen"}, []),
        ({"q": "  !!! "}, ["storage", "small", "server", "h800", "h100"]),
        ({"q": "Wang Lei"}, ["small", "server"]),  # the seller's name
        ({"resource_type": "gpu", "region": "44", "sort": "price"}, ["small", "h800"]),
        ({"sort": "price"}, ["storage", "small", "h800", "h100", "server"]),
        ({"sort": "-price"}, ["server", "h100", "h800", "small", "storage"]),
        # per GPU-hour: the 8-GPU server at 64.00/hour is 8.00 per GPU-hour
        ({"sort": "price_per_gpu"}, ["small", "server", "h800", "h100"]),
    ],
)
def test_filters_and_sorts(client, catalogue, params, expected):
    assert codes(client.get(API, query_string=params)) == [catalogue[name].code for name in expected]


def test_available_at(client, catalogue, now):
    later = (now + timedelta(days=45)).isoformat()
    found = codes(client.get(API, query_string={"available_at": later, "resource_type": "gpu"}))
    assert found == [catalogue[n].code for n in ("small", "server", "h800", "h100")]
    today = codes(client.get(API, query_string={"available_at": now.isoformat()}))
    assert catalogue["small"].code not in today and catalogue["h100"].code in today


def test_pages_and_totals(client, catalogue):
    body = client.get(API, query_string={"per_page": 2, "page": 2, "sort": "price"}).get_json()
    assert [i["code"] for i in body["items"]] == [catalogue["h800"].code, catalogue["h100"].code]
    assert (body["page"], body["per_page"], body["total"], body["total_exact"]) == (2, 2, 5, True)
    assert body["next_cursor"]
    last = client.get(API, query_string={"per_page": 2, "page": 3, "sort": "price"}).get_json()
    assert [i["code"] for i in last["items"]] == [catalogue["server"].code] and last["next_cursor"] is None


@pytest.mark.parametrize("sort", ["newest", "price", "-price", "price_per_gpu"])
def test_cursor_walks_every_result_once_in_order(client, catalogue, sort):
    everything = codes(client.get(API, query_string={"sort": sort, "per_page": 100}))
    walked, cursor = [], None
    while True:
        params = {"sort": sort, "per_page": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get(API, query_string=params).get_json()
        walked += [item["code"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert walked == everything


def test_cursor_with_equal_sort_values_loses_nothing(client, db_session, seller):
    same = [make_listing(db_session, seller, unit_price=1000).code for _ in range(5)]
    walked, cursor = [], None
    for _ in range(5):
        params = {"sort": "price", "per_page": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get(API, query_string=params).get_json()
        walked += [i["code"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(walked) == sorted(same) and len(walked) == 5


def test_counts_are_capped(client, catalogue, monkeypatch):
    monkeypatch.setattr(search_module, "COUNT_CAP", 3)
    body = client.get(API).get_json()
    assert (body["total"], body["total_exact"]) == (3, False)
    assert len(body["items"]) == 5  # the cap limits the count, never the results
    monkeypatch.undo()  # the same search again counts everything: no cap stays behind in a reused statement
    again = client.get(API, query_string={"per_page": 100}).get_json()
    assert (again["total"], again["total_exact"]) == (len(again["items"]), True) and again["total"] > 3


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"per_page": 101}, "per_page", "less than or equal to 100"),
        ({"per_page": 0}, "per_page", "greater than or equal to 1"),
        ({"page": 0}, "page", "greater than or equal to 1"),
        ({"page": 1001, "per_page": 10}, "page", "cursor"),
        ({"sort": "cheapest"}, "sort", "Must be one of"),
        ({"resource_type": "tpu"}, "resource_type", "Must be one of"),
        ({"region": "00"}, "region", "GB/T 2260"),
        ({"min_gpus": "many"}, "min_gpus", "integer"),
        ({"max_price": -1}, "max_price", "greater than or equal to 0"),
        ({"max_latency_ms": "fast"}, "max_latency_ms", "number"),
        ({"available_at": "2026-12-01"}, "available_at", "RFC 3339"),
        ({"origin": "Z9"}, "origin", "node code"),
        ({"q": "x" * 201}, "q", "200"),
        ({"cursor": "not-a-cursor"}, "cursor", "Not a cursor"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client, params, field, reason):
    response = client.get(API, query_string=params)
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == 422
    assert reason in " ".join(body["errors"]["query"][field])


def test_cursor_of_another_sort_is_refused(client, catalogue):
    cursor = client.get(API, query_string={"per_page": 1, "sort": "price"}).get_json()["next_cursor"]
    body = client.get(API, query_string={"cursor": cursor, "sort": "-price"}).get_json()
    assert body["code"] == 422 and "another sort" in body["errors"]["query"]["cursor"][0]


@pytest.fixture
def with_stale(db_session, catalogue):
    """The catalogue, two of whose listings come from an origin unreachable for long."""
    for name in ("h800", "storage"):
        catalogue[name].stale_since = catalogue[name].updated_at
    db_session.flush()
    return catalogue


@pytest.mark.parametrize("sort", ["newest", "price", "-price", "price_per_gpu"])
def test_include_stale_merges_fresh_and_stale_listings_in_order(client, with_stale, sort):
    hidden = codes(client.get(API, query_string={"sort": sort}))
    everything = codes(client.get(API, query_string={"sort": sort, "include_stale": "true"}))
    assert with_stale["h800"].code not in hidden and with_stale["h800"].code in everything
    expected = {"newest": ["storage", "small", "server", "h800", "h100"],
                "price": ["storage", "small", "h800", "h100", "server"],
                "-price": ["server", "h100", "h800", "small", "storage"],
                "price_per_gpu": ["small", "server", "h800", "h100"]}[sort]  # fmt: skip
    assert everything == [with_stale[name].code for name in expected]
    walked, cursor = [], None  # two by two, by cursor and by page: every listing once, in the same order
    for page in range(1, len(everything) // 2 + 2):
        by_page = codes(client.get(API, query_string={"sort": sort, "include_stale": "true", "per_page": 2,
                                                      "page": page}))  # fmt: skip
        body = client.get(API, query_string={"sort": sort, "include_stale": "true", "per_page": 2}
                          | ({"cursor": cursor} if cursor else {})).get_json()  # fmt: skip
        assert [item["code"] for item in body["items"]] == by_page == everything[2 * (page - 1) : 2 * page]
        walked += by_page
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == everything


def test_include_stale_counts_both(client, with_stale, monkeypatch):
    body = client.get(API, query_string={"include_stale": "true", "q": "h"}).get_json()
    assert (body["total"], body["total_exact"]) == (len(body["items"]), True) == (2, True)  # H100, H800
    monkeypatch.setattr(search_module, "COUNT_CAP", 3)
    body = client.get(API, query_string={"include_stale": "true"}).get_json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (3, False, 5)


@pytest.mark.parametrize("sort", ["newest", "price", "-price"])
@pytest.mark.parametrize("q", ["h", "gpu", "shenzhen", "h100 guiyang", "zzzq"])
def test_text_search_answers_alike_with_few_or_many_matches(client, catalogue, monkeypatch, sort, q):
    # Above COUNT_CAP matches PostgreSQL walks the sort's index; at most, it reads the matches and sorts them.
    params = {"q": q, "sort": sort, "per_page": 2}
    few = client.get(API, query_string=params).get_json()
    monkeypatch.setattr(search_module, "COUNT_CAP", 0)
    many = client.get(API, query_string=params).get_json()
    assert many["items"] == few["items"]
    assert (many["next_cursor"] is None) == (few["next_cursor"] is None)
    if few["next_cursor"]:
        after_few = client.get(API, query_string=params | {"cursor": few["next_cursor"]}).get_json()
        after_many = client.get(API, query_string=params | {"cursor": many["next_cursor"]}).get_json()
        assert after_many["items"] == after_few["items"]
    assert few["total_exact"] and (many["total"], many["total_exact"]) == (0, few["total"] == 0)


def test_more_whole_word_matches_than_the_cap_still_finds_every_prefix_match(client, db_session, seller, other_seller,
                                                                             monkeypatch):  # fmt: skip
    # PostgreSQL counts whole words first and, above the cap, skips counting prefixes: the page must still
    # show the listings that only a prefix matches ("Shenzhen" for "shen").
    shen = make_listing(db_session, seller, title="Shen pod", city="Guiyang")
    more = make_listing(db_session, other_seller, title="Shen row two", city="Guiyang")
    city = make_listing(db_session, seller, title="Training pod", region="44", city="Shenzhen")
    monkeypatch.setattr(search_module, "COUNT_CAP", 1)
    body = client.get(API, query_string={"q": "shen", "sort": "newest"}).get_json()
    assert [item["code"] for item in body["items"]] == [city.code, more.code, shen.code]
    assert (body["total"], body["total_exact"]) == (1, False)
