"""The channels demo: templates, a week of the delivery log, opt-out history; fast and idempotent in templates."""

from aftercare.customers.models import ConsentChange
from aftercare.demo.care_channels import demo_channels_create, demo_channels_exist
from aftercare.followups.models import LetterLog, MessageTemplate
from aftercare.testing import factories as f


def test_it_makes_the_channels_demo(store_a, store_b):
    for i in range(12):
        f.CustomerFactory(store=store_a, mobile=f"+86138000{i:05d}", consent_marketing=i % 2 == 0)
    assert not demo_channels_exist([store_a, store_b])
    counts = demo_channels_create(stores=[store_a, store_b], seed=1)
    assert demo_channels_exist([store_a])
    assert MessageTemplate.objects.count() == 3 and counts["messages"] == LetterLog.objects.count() == 12
    assert ConsentChange.objects.filter(granted=False).exclude(source="staff").count() > 0
    for template in MessageTemplate.objects.all():
        template.full_clean()  # every variable is a known one
    demo_channels_create(stores=[store_a, store_b], seed=1)
    assert MessageTemplate.objects.count() == 3
