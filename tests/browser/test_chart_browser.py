"""Browser test in Debian's Chromium: the return-visit chart (aftercare/core/charts.py, drawn by core/charts.js with
the vendored Chart.js) is drawn on a 390 px wide phone screen, under the Content-Security-Policy, without a console
error.

    .venv/bin/pytest -m browser tests/browser/test_chart_browser.py
"""

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.generation import followup_tasks_for_delivery
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.browser

STORE_BLUE = (0x0D, 0x6E, 0xFD)  # the first series' colour in core/charts.js
TARGET_RED = (0xDC, 0x35, 0x45)


@pytest.fixture
def rates(transactional_db):
    """Two stores with SSI tasks due in each of the last three months, some closed in time; a CS manager of both."""
    gz = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    fs = f.StoreFactory(code="FS01", name="粤通别克佛山店", group=gz.group)
    now = timezone.now()
    for store in (gz, fs):
        followup_rules_seed_defaults(store)
        for back in range(3):
            for in_time in (True, True, back == 1):
                customer = f.CustomerFactory(store=store)
                delivery = f.SalesDeliveryFactory(
                    store=store, customer=customer, vehicle=f.owned_vehicle(customer), delivered_at=now
                )
                followup_tasks_for_delivery(delivery=delivery)
                due = now - dt.timedelta(days=31 * back, minutes=1)
                task = FollowupTask.objects.filter(subject_type="delivery", subject_id=delivery.pk)
                if in_time:
                    task.update(due_at=due, status=TaskStatus.COMPLETED, completed_at=due - dt.timedelta(hours=1))
                else:
                    task.update(due_at=due)
    manager = f.UserFactory(username="kefujingli")
    f.StaffFactory(user=manager, group=gz.group, role=Role.CS_MANAGER, stores=[gz, fs], display_name="客服经理")
    return manager


def _coloured(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are about this colour."""
    data = image.convert("RGB").tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for pixel in pixels if all(abs(c - want) <= tolerance for c, want in zip(pixel, colour, strict=True)))


def test_it_draws_the_return_visit_chart_on_a_phone(rates, live_server, browser, csp_guard):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "kefujingli")
    page.fill("input[name=password]", "password")
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/followups/manage/")
    canvas = page.locator("#rate-chart canvas")
    canvas.scroll_into_view_if_needed()
    assert canvas.get_attribute("aria-label") == "各门店每月回访率"  # the spec's title, in Chinese
    box = canvas.bounding_box()
    assert 250 <= box["width"] <= 390 and box["height"] >= 200, box  # fits the phone, inside its card

    # Chart.js drew on the canvas: the stores' lines and the dashed target, not a blank box
    image = Image.open(io.BytesIO(canvas.screenshot()))
    assert _coloured(image, STORE_BLUE) > 50 and _coloured(image, TARGET_RED) > 20

    csp_guard.flush()
    assert csp_guard.errors == [] and csp_guard.violations == []
    context.close()
