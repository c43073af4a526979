"""No English left on a Chinese page: every list a measure's figure drills down to (docs/reports.md, "Measures"),
rendered in zh-Hans for a month and with a bad filter (its error named in Chinese), shows no English word but the
language switcher's and the product's name."""

import pytest

from aftercare.org.choices import Role
from aftercare.testing.clients import page_client
from aftercare.testing.i18n import english_words

pytestmark = pytest.mark.django_db

LISTS = [
    "/complaints/measures/rows/?measure=timeliness&counted=numerator",
    "/complaints/measures/orders/?counted=repeated",
    "/followups/measures/tasks/?counted=due",
    "/followups/measures/sheets/?counted=answered",
    "/followups/measures/deliveries/?counted=errors",
    "/care/reminders/success/?counted=worked",
    "/care/campaigns/measure-rows/?counted=came",
]


@pytest.mark.parametrize("url", LISTS)
def test_the_drill_lists_speak_chinese(users, url):
    client = page_client(users[Role.CS_MANAGER], lang="zh-hans")
    good = client.get(f"{url}&month=2026-03")
    assert good.status_code == 200, url
    assert not english_words(good.content.decode()), url
    bad = client.get(f"{url}&month=2026-13")  # no such month: the field's error, in Chinese
    assert bad.status_code == 400 and "invalid-feedback" in bad.content.decode(), url
    assert not english_words(bad.content.decode()), url


def test_the_class_flow_of_a_measure_speaks_chinese(users):
    client = page_client(users[Role.CS_MANAGER], lang="zh-hans")
    for query in ("from=base&to=lost", "from=&to=base", "from=base&to="):
        response = client.get(f"/care/classes/flow/?month=2026-03&{query}")
        assert response.status_code == 200, query
        assert not english_words(response.content.decode()), query
