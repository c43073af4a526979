"""The store picker of every settings page (`aftercare/templates/_settings_store_picker.html`, filled by
`org.scoping.settings_stores`): a user of two stores picks either; a user of one store sees no picker."""

import re

import pytest
from django.urls import reverse

from aftercare.org.choices import Role
from aftercare.testing import factories as f

SETTINGS_PAGES = ["appointments:settings", "care:class_settings", "care:reminder_settings", "care:channel_settings",
                  "complaints:settings", "renewals:settings"]


def _staff(role, stores, username):
    user = f.UserFactory(username=username)
    f.StaffFactory(user=user, group=stores[0].group, role=role, stores=stores, display_name=username)
    return user


@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_it_offers_a_two_store_manager_both_stores_with_the_chosen_one_selected(client, store_a, name):
    second = f.StoreFactory(group=store_a.group, region=store_a.region, code="A02", name="广州白云店")
    client.force_login(_staff(Role.STORE_MANAGER, [store_a, second], "sm_two"))
    response = client.get(reverse(name), {"store": second.pk})
    assert response.status_code == 200
    html = response.content.decode()
    picker = re.search(r'<select[^>]*id="settings-store".*?</select>', html, re.S)
    assert picker, "no store picker"
    options = re.findall(r'<option value="(\d+)"( selected)?>', picker.group(0))
    assert options == [(str(store_a.pk), ""), (str(second.pk), " selected")]


@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_it_shows_no_picker_to_a_one_store_manager(client, store_a, name):
    client.force_login(_staff(Role.STORE_MANAGER, [store_a], "sm_one"))
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert 'id="settings-store"' not in response.content.decode()
