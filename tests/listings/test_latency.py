"""Latency to the buyer (PROTOCOL.md §10): listings' city_code, near_city, estimated_latency_ms, sort=latency."""

import subprocess
import sys
from pathlib import Path

import pytest

from marketplace.identity.cities import cities, city_label, find_city
from marketplace.listings.latency import distance_km, estimate_ms, latency_class

from ..conftest import form_token, sign_in
from ..factories import bearer, gpu_payload, make_listing

API = "/api/v1/listings"
BEIJING, TIANJIN, GUIYANG = "110100", "120100", "520100"


def test_cities_come_from_the_gb_t_2260_table_with_their_seats():
    assert len(cities()) > 300
    assert find_city(GUIYANG).name == "贵阳市" and find_city(BEIJING).name == "北京市"
    assert find_city("520000") is None and find_city("999999") is None  # a province; no city
    # The standard as it is now: 莱芜市 is part of 济南市 since 2019; 那曲地区 (542400) is 那曲市 (540600).
    assert "371200" not in cities() and "542400" not in cities()  # never offered
    assert find_city("540600").name == "那曲市" and city_label("540600", "en") == "Nagqu 那曲市 (540600)"
    # ...but documents written with the old codes are understood, as the city each is part of now.
    assert find_city("371200").name == "济南市" and find_city("542400").code == "540600"
    from marketplace.listings.latency import path_table

    assert path_table(BEIJING)["542400"] == path_table(BEIJING)["540600"] > 0
    # Beijing–Shanghai by the great circle is about 1,068 km.
    assert abs(distance_km(find_city(BEIJING), find_city("310100")) - 1068) < 10


def test_english_pages_name_cities_in_pinyin_beside_their_chinese_names():
    names = {city.name: city.latin_name for city in cities().values()}
    chinese = ("贵阳市", "西安市", "大兴安岭地区", "重庆市", "六安市", "黔东南苗族侗族自治州", "兴安盟")
    assert [names[n] for n in chinese] == [
        "Guiyang", "Xi'an", "Daxing'anling", "Chongqing", "Lu'an", "Qiandongnan", "Xing'an"]  # fmt: skip
    assert [names[n] for n in ("乌鲁木齐市", "长治市", "伊犁哈萨克自治州")] == ["Urumqi", "Changzhi", "Ili"]
    assert all(name and name.isascii() or "ü" in name for name in names.values())
    assert city_label(GUIYANG, "en") == "Guiyang 贵阳市 (520100)" and city_label(GUIYANG) == "贵阳市 (520100)"


def test_the_english_names_are_what_their_script_writes_from_the_city_table():
    check = subprocess.run([sys.executable, "scripts/city_names.py", "--check"], cwd=Path(__file__).parents[2],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_the_estimate_is_distance_times_1_5_over_200_km_per_ms_plus_access():
    path = distance_km(find_city(BEIJING), find_city(GUIYANG)) * 1.5 / 200
    assert estimate_ms(BEIJING, GUIYANG, 2.0) == pytest.approx(path + 2.0)
    assert estimate_ms(BEIJING, BEIJING, None) == 0.0
    assert estimate_ms(BEIJING, None, 1.0) is None
    assert [latency_class(x) for x in (0.5, 1.0, 1.01, 10.0, 10.5, None)] == [
        "metro", "metro", "regional", "regional", "far", None]  # fmt: skip


def test_a_listing_carries_its_city_code_and_an_unknown_one_is_refused(client, db_session, seller):
    headers = bearer(db_session, seller)
    created = client.post(API, json=gpu_payload(city_code=GUIYANG), headers=headers)
    assert created.status_code == 201 and created.get_json()["city_code"] == GUIYANG
    for code, message in (("999999", "Not a GB/T 2260 city code"), (BEIJING, "not in the listing's region")):
        refused = client.post(API, json=gpu_payload(city_code=code), headers=headers)
        assert refused.status_code == 422
        assert message in refused.get_json()["errors"]["json"]["city_code"][0]
    assert client.get(API).get_json()["total"] == 1
    changed = client.patch(f"{API}/{created.get_json()['code']}", json={"city_code": None}, headers=headers)
    assert changed.status_code == 200 and "city_code" not in changed.get_json()


@pytest.fixture
def placed(db_session, seller):
    """Listings in Tianjin, Beijing (two) and Guiyang, and one without a city."""
    return {
        "tianjin": make_listing(db_session, seller, region="12", city_code=TIANJIN, latency_ms=0.2),
        "beijing_slow": make_listing(db_session, seller, region="11", city_code=BEIJING, latency_ms=3.0),
        "beijing": make_listing(db_session, seller, region="11", city_code=BEIJING, latency_ms=0.4),
        "guiyang": make_listing(db_session, seller, city_code=GUIYANG, latency_ms=1.0),
        "nowhere": make_listing(db_session, seller, latency_ms=0.1),
    }


def _items(client, **params):
    response = client.get(API, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_near_city_adds_the_estimate_and_sort_latency_puts_listings_without_one_last(client, placed):
    answer = _items(client, near_city=BEIJING, sort="latency")
    order = [item["code"] for item in answer["items"]]
    names = {listing.code: name for name, listing in placed.items()}
    assert [names[code] for code in order] == ["beijing", "tianjin", "beijing_slow", "guiyang", "nowhere"]
    estimates = {names[item["code"]]: item["estimated_latency_ms"] for item in answer["items"]}
    assert estimates["beijing"] == 0.4 and estimates["nowhere"] is None
    assert estimates["tianjin"] == round(estimate_ms(BEIJING, TIANJIN, 0.2), 2)
    assert "estimated_latency_ms" not in _items(client)["items"][0]  # only with near_city


def test_sort_latency_pages_on_with_its_cursor(client, placed):
    first = _items(client, near_city=BEIJING, sort="latency", per_page=2)
    second = _items(client, near_city=BEIJING, sort="latency", per_page=2, cursor=first["next_cursor"])
    third = _items(client, near_city=BEIJING, sort="latency", per_page=2, cursor=second["next_cursor"])
    codes = [i["code"] for page in (first, second, third) for i in page["items"]]
    assert codes == [i["code"] for i in _items(client, near_city=BEIJING, sort="latency")["items"]]
    assert third["next_cursor"] is None


def test_max_latency_bounds_the_estimate_with_near_city_and_leaves_cityless_listings_out(client, placed):
    near = {i["code"] for i in _items(client, near_city=BEIJING, max_latency_ms=2)["items"]}
    assert near == {placed["beijing"].code, placed["tianjin"].code}
    # Without near_city it bounds the access latency alone, as before.
    access = {i["code"] for i in _items(client, max_latency_ms=0.3)["items"]}
    assert access == {placed["tianjin"].code, placed["nowhere"].code}


@pytest.mark.parametrize(("params", "field"), [
    ({"near_city": "999999"}, "near_city"),
    ({"near_city": "11"}, "near_city"),
    ({"sort": "latency"}, "near_city"),
])  # fmt: skip
def test_bad_latency_parameters_are_422(client, params, field):
    response = client.get(API, query_string=params)
    assert response.status_code == 422 and field in response.get_json()["errors"]["query"]


def test_search_page_shows_latency_classes_as_estimates(client, placed):
    page = client.get("/listings", query_string={"near_city": BEIJING, "sort": "latency"}).get_data(as_text=True)
    assert [page.count(f"badge latency-{c}") for c in ("metro", "regional", "far", "none")] == [1, 2, 1, 1]
    assert "Latencies are estimates" in page and "about 0.4 ms, estimated" in page


def test_publish_form_offers_the_city_from_a_list(client, db_session, seller):
    sign_in(client, seller)
    page = client.get("/listings/new").get_data(as_text=True)
    assert '<option value="520100"' in page and "Guiyang 贵阳市 (520100)" in page
    chinese = client.get("/listings/new", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert ">贵阳市 (520100)</option>" in chinese and "Guiyang" not in chinese
    form = {"csrf_token": form_token(client, "/listings/new"), "action": "publish"}
    fields = gpu_payload(city_code=GUIYANG) | {"price": "20.50"}
    form |= {k: str(v) for k, v in fields.items() if k not in ("unit_price", "available_from", "available_until")}
    form |= {"available_from": "2030-01-01T08:00", "available_until": "2030-03-01T08:00"}
    response = client.post("/listings/new", data=form)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    assert _items(client)["items"][0]["city_code"] == GUIYANG
