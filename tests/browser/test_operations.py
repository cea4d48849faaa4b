"""An operator looks at national's operations page and the federation page: the charts draw."""

import pytest

from ..live import LiveNode
from .conftest import PASSWORD, Account, create_account, running

pytestmark = pytest.mark.browser


def test_the_operations_and_federation_pages_draw_their_charts(tmp_path, browser):
    node = LiveNode("N0", "national", tmp_path)
    node.prepare()
    operator = Account("operator@national.example.cn", "Zhou Min", "National Computing Network")
    create_account(node, operator, "operator")
    node.flask_ok("demo-data", "--count", "40")
    node.flask_ok("sync", "watch")  # a lag sample and today's price index
    node.flask_ok("sync", "watch")  # a second sample: a line, not a dot
    with running(node):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(node.url + "/federation")
        price_index = page.locator("#price-index svg")
        assert price_index.locator("circle").count() >= 1  # a point per GPU model, today
        page.screenshot(path=str(tmp_path / "federation.png"), full_page=True)
        page.goto(node.url + "/login")
        page.fill("input[name=email]", operator.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.goto(node.url + "/operations")
        lag = page.locator("#lag svg polyline").first
        box = lag.bounding_box()
        assert box is not None and box["height"] > 0  # the line of the samples is on the page
        chart = page.locator("#lag figure").screenshot(path=str(tmp_path / "lag.png"))
        assert len(chart) > 1000  # a real image of the chart
        assert page.locator("#audit tbody tr").count() >= 40  # 40 listings published, a sign-in
        page.close()
