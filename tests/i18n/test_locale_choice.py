"""Which language a page is in: the person's choice, then the browser's, then English."""

import re

import pytest
from sqlalchemy import select

from marketplace.models import User

from ..conftest import form_token, sign_in
from ..factories import make_user


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)">', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    ("accept_language", "lang"),
    [(None, "en"), ("zh-CN,zh;q=0.9", "zh-CN"), ("zh", "zh-CN"), ("zh-TW,zh-HK;q=0.8", "zh-CN"),
     ("en-US,en;q=0.9,zh-CN;q=0.5", "en"), ("fr-FR", "en"), ("fr-FR,zh;q=0.3", "zh-CN")],
)  # fmt: skip
def test_a_browsers_language_without_a_choice(client, accept_language, lang):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/", headers=headers)
    assert html_lang(response) == lang and response.headers["Content-Language"] == lang
    assert ("查找全国算力资源" in response.get_data(as_text=True)) == (lang == "zh-CN")
    assert "Accept-Language" in response.headers["Vary"]


def test_the_switcher_is_on_every_page_and_comes_back_to_it(client):
    page = client.get("/listings?resource_type=gpu&sort=price", headers={"Accept-Language": "en"})
    body = page.get_data(as_text=True)
    form = re.search(r'<form class="inline lang-switch" method="post" action="/language".*?</form>', body, re.S).group(
        0
    )
    assert 'name="csrf_token"' in form and 'value="/listings?resource_type=gpu&amp;sort=price"' in form
    assert 'name="locale" value="zh_CN"' in form and 'name="locale" value="en"' not in form  # the current one is text
    response = client.post("/language", data={"locale": "zh_CN", "return_to": "/listings?resource_type=gpu&sort=price",
                                              "csrf_token": form_token(client, "/")})  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"] == "/listings?resource_type=gpu&sort=price"
    assert re.search(r"lang=zh_CN; .*HttpOnly.*SameSite=Lax", response.headers["Set-Cookie"], re.I)
    chosen = client.get("/listings?resource_type=gpu&sort=price", headers={"Accept-Language": "en"})
    assert html_lang(chosen) == "zh-CN" and "筛选" in chosen.get_data(as_text=True)  # the choice beats the browser
    back = client.post("/language", data={"locale": "en", "return_to": "/", "csrf_token": form_token(client, "/")})
    assert html_lang(client.get(back.headers["Location"], headers={"Accept-Language": "zh-CN"})) == "en"


@pytest.mark.parametrize("return_to", ["https://evil.example/", "//evil.example/x", "", "javascript:alert(1)"])
def test_the_switcher_never_sends_people_off_the_site(client, return_to):
    response = client.post("/language", data={"locale": "zh_CN", "return_to": return_to,
                                              "csrf_token": form_token(client, "/")})  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_the_switcher_refuses_unknown_languages_and_forged_forms(client):
    unknown = client.post("/language", data={"locale": "xx", "return_to": "/", "csrf_token": form_token(client, "/")})
    assert unknown.status_code == 400 and "lang=" not in unknown.headers.get("Set-Cookie", "")
    forged = client.post("/language", data={"locale": "zh_CN", "return_to": "/"})
    assert forged.status_code == 400 and "lang=" not in forged.headers.get("Set-Cookie", "")


def test_a_signed_in_persons_choice_follows_them_to_another_browser(app, client, db_session):
    person = make_user(db_session, role="buyer", name="李娜")
    sign_in(client, person)
    chosen = client.post("/language", data={"locale": "zh_CN", "return_to": "/", "csrf_token": form_token(client, "/")})
    assert chosen.status_code == 303
    assert db_session.scalars(select(User.locale).where(User.id == person.id)).one() == "zh_CN"
    other_browser = app.test_client()
    assert html_lang(other_browser.get("/", headers={"Accept-Language": "en"})) == "en"
    sign_in(other_browser, person)
    assert html_lang(other_browser.get("/tokens", headers={"Accept-Language": "en"})) == "zh-CN"


def test_flash_messages_and_times_follow_the_language(client, db_session):
    person = make_user(db_session, role="buyer", name="李娜")
    sign_in(client, person)
    client.post("/tokens", data={"name": "同步", "csrf_token": form_token(client, "/tokens")})
    page = client.get("/tokens", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）", page)
    english = client.get("/tokens", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d CST", english)
