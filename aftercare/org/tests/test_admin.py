from django.contrib.auth import get_user_model

from aftercare.followups.models import FollowupRule
from aftercare.org.models import Store


def test_it_gives_a_store_added_in_admin_the_default_followup_rules(client, store_a):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    data = {
        "group": store_a.group_id,
        "region": store_a.region_id,
        "code": "N01",
        "name": "New store",
        "brand": "Demo",
        "customer_number_prefix": "N",
        "departments-TOTAL_FORMS": "0",
        "departments-INITIAL_FORMS": "0",
        "departments-MIN_NUM_FORMS": "0",
        "departments-MAX_NUM_FORMS": "1000",
    }
    r = client.post("/admin/org/store/add/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    store = Store.objects.get(code="N01")
    codes = set(FollowupRule.objects.filter(store=store).values_list("code", flat=True))
    assert {"SSI", "CSI", "VERIFY", "FTF"} <= codes
    # editing the store does not add anything twice
    data["name"] = "Renamed"
    client.post(f"/admin/org/store/{store.pk}/change/", data)
    assert FollowupRule.objects.filter(store=store).count() == len(codes)
