"""Campaign and recall pages and API: the builder with its live count, the launch, results with drill-down and
export, the call screen's campaign card, the recall import naming its bad rows, and another store's rows as 404."""

import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from aftercare.care.choices import CampaignState, CustomerClass, RecallVehicleState, TargetState
from aftercare.care.models import Campaign, CampaignTarget, CareProfile, Recall, RecallVehicle
from aftercare.care.selectors import recall_list
from aftercare.care.services.campaigns import campaign_launch, campaign_save
from aftercare.care.services.recalls import recall_completion_rate, recall_progress_update
from aftercare.followups.choices import FollowupKind, TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.followups.selectors import followup_queue
from aftercare.org.calendar import business_day_start
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from aftercare.testing.clients import page_client

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def crowd(store_a):
    """Three loyal and four regular customers with marketing consent, and one without."""
    out = []
    for klass, n in ((CustomerClass.LOYAL, 3), (CustomerClass.REGULAR, 4)):
        for _i in range(n):
            c = f.CustomerFactory(store=store_a, consent_marketing=True)
            f.owned_vehicle(c)
            CareProfile.objects.create(store=store_a, customer=c, customer_class=klass)
            out.append(c)
    f.owned_vehicle(f.CustomerFactory(store=store_a, consent_marketing=False))
    return out


FORM = {"name": "免费检测周", "event_start": "2026-12-01", "event_end": "2026-12-07", "purpose": "marketing",
        "channels": ["call"], "calls_days_before": "14", "second_wave_days": "3", "sms_text": ""}


@time_machine.travel(NOW, tick=False)
def test_it_builds_counts_saves_and_launches_from_the_pages(store_a, users, crowd, specialist):
    manager = users[Role.CS_MANAGER]
    client = page_client(manager)
    page = client.get("/care/campaigns/new/?segment=lost")
    assert page.status_code == 200 and 'value="lost" id="id_classes_3" checked' in page.content.decode()
    count = client.get("/care/campaigns/count/", {"classes": ["loyal"], "purpose": "marketing"}, HTTP_HX_REQUEST="true")
    assert 'data-count="3"' in count.content.decode() and "3 customers match." in count.content.decode()
    bad = client.get("/care/campaigns/count/", {"churn_risk_min": "7", "purpose": "marketing"})
    assert "Correct the filters" in bad.content.decode()
    response = client.post("/care/campaigns/new/", {**FORM, "stores": [str(store_a.pk)]})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/care/campaigns/{campaign.pk}/"
    detail = client.get(f"/care/campaigns/{campaign.pk}/")
    assert "7 customers match the segment today." in detail.content.decode()
    assert client.post(f"/care/campaigns/{campaign.pk}/launch/").status_code == 302
    assert client.post(f"/care/campaigns/{campaign.pk}/launch/").status_code == 302  # twice: nothing more
    assert FollowupTask.objects.filter(kind=FollowupKind.CAMPAIGN).count() == 7
    # the specialist's queue once the second wave is due: the loyal customers first
    queue = list(followup_queue(user=specialist, now=business_day_start(dt.date(2026, 11, 20)) + dt.timedelta(hours=3)))
    loyal = {c.pk for c in crowd[:3]}
    assert [t.customer_id in loyal for t in queue] == [True] * 3 + [False] * 4


def test_the_builder_names_a_bad_field_and_never_500s(store_a, users):
    client = page_client(users[Role.CS_MANAGER])
    response = client.post("/care/campaigns/new/", {**FORM, "event_end": "2026-11-01", "stores": [str(store_a.pk)],
                                                    "mileage_min": "-4"})
    assert response.status_code == 400
    assert "The event cannot end before it starts." in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_specialist_may_not_build_campaigns(users):
    assert page_client(users[Role.CS_SPECIALIST]).get("/care/campaigns/new/").status_code == 403
    assert page_client(users[Role.SERVICE_ADVISOR]).get("/care/campaigns/").status_code == 403


@pytest.fixture
def launched(store_a, users, crowd):
    with time_machine.travel(NOW, tick=False):
        campaign = campaign_save(actor=users[Role.CS_MANAGER], store_ids=[store_a.pk], name="清洗节气门",
                                 event_start=dt.date(2026, 12, 1), event_end=dt.date(2026, 12, 7),
                                 channels=["call", "sms"], sms_text="欢迎参加")
        campaign_launch(actor=users[Role.CS_MANAGER], campaign=campaign)
    return campaign


def test_the_results_page_drills_down_and_exports(store_a, users, launched, crowd, django_assert_max_num_queries):
    client = page_client(users[Role.CS_MANAGER])
    target = CampaignTarget.objects.get(customer=crowd[0])
    v = crowd[0].ownerships.get().vehicle
    f.RepairOrderFactory(store=store_a, customer=crowd[0], vehicle=v, amount=Decimal("880"),
                         settled_at=business_day_start(dt.date(2026, 12, 2)))
    client.get(f"/care/campaigns/{launched.pk}/")  # warm the session and caches
    with django_assert_max_num_queries(14):
        page = client.get(f"/care/campaigns/{launched.pk}/?measure=came")
    html = page.content.decode()
    assert page.status_code == 200 and f'data-target="{target.pk}"' in html and html.count("data-target=") == 1
    assert "880.00" in html
    export = client.get(f"/care/campaigns/{launched.pk}/export.xlsx")
    assert export.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    results = {row[0]: row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert results["Targeted"] == 7 and results["Came"] == 1 and Decimal(str(results["Revenue"])) == Decimal("880")
    assert book.worksheets[1].max_row == 8


def test_the_call_screen_records_the_campaign_outcome(store_a, users, launched, crowd):
    specialist = users[Role.CS_SPECIALIST]
    client = page_client(specialist)
    target = CampaignTarget.objects.get(customer=crowd[0])
    screen = client.get(f"/followups/tasks/{target.task_id}/")
    assert screen.status_code == 200 and 'id="campaign-card"' in screen.content.decode()
    response = client.post(f"/care/campaigns/targets/{target.pk}/outcome/",
                           {"outcome": "declined", "decline_reason": "price"})
    assert response.status_code == 302 and response["Location"] == f"/followups/tasks/{target.task_id}/"
    target.refresh_from_db()
    assert (target.state, target.decline_reason, target.reached, target.outcome_by) == (
        TargetState.DECLINED, "price", True, specialist)


def test_another_stores_campaign_and_recall_answer_404(store_a, users, store_b):
    other = Campaign.objects.create(store=store_b, name="B", event_start=dt.date(2026, 12, 1),
                                    event_end=dt.date(2026, 12, 2), state=CampaignState.DRAFT)
    recall = Recall.objects.create(store=store_b, code="R-B", title="B", started_on=dt.date(2026, 11, 1))
    client = page_client(users[Role.CS_MANAGER])
    for url in (f"/care/campaigns/{other.pk}/", f"/care/campaigns/{other.pk}/export.xlsx",
                f"/care/recalls/{recall.pk}/", f"/api/care/campaigns/{other.pk}/results",
                f"/api/care/recalls/{recall.pk}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/care/campaigns/{other.pk}/launch/").status_code == 404
    assert client.post(f"/api/care/campaigns/{other.pk}/launch", content_type="application/json").status_code == 404


@time_machine.travel(NOW, tick=False)
def test_the_api_counts_creates_launches_and_reports(store_a, users, crowd):
    client = page_client(users[Role.CS_MANAGER])
    count = client.post("/api/care/segments/count", {"segment": {"classes": ["regular"]}},
                        content_type="application/json")
    assert count.status_code == 200 and count.json() == {"count": 4}
    bad = client.post("/api/care/segments/count", {"segment": {"churn_risk_min": 3}}, content_type="application/json")
    assert bad.status_code == 422
    made = client.post("/api/care/campaigns", {"name": "免费检测周", "event_start": "2026-12-01",
                                               "event_end": "2026-12-07"}, content_type="application/json")
    assert made.status_code == 201, made.content
    cid = made.json()["id"]
    launch = client.post(f"/api/care/campaigns/{cid}/launch", content_type="application/json")
    assert launch.status_code == 200 and launch.json()["targets_made"] == 7
    again = client.post(f"/api/care/campaigns/{cid}/launch", content_type="application/json")
    assert again.json()["targets_made"] == 0 and again.json()["campaign"]["state"] == "launched"
    results = client.get(f"/api/care/campaigns/{cid}/results").json()
    assert (results["targeted"], results["reached"], results["came"]) == (7, 0, 0)
    assert [c["id"] for c in client.get("/api/care/campaigns").json()] == [cid]


def _csv(rows: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("vins.csv", ("车架号,车型\n" + "\n".join(rows) + "\n").encode("utf-8"))


def test_the_recall_import_makes_calls_names_bad_rows_and_tracks_completion(store_a, users, store_b):
    manager = users[Role.CS_MANAGER]
    owners = [f.CustomerFactory(store=store_a) for _i in range(3)]
    vehicles = [f.owned_vehicle(c) for c in owners]
    foreign = f.owned_vehicle(f.CustomerFactory(store=store_b))
    unknown = f.make_vin(9_999_999)
    rows = [f"{vehicles[0].vin},英朗", f"{vehicles[1].vin.lower()},英朗", "LSGAB12E8R123,英朗", f"{foreign.vin},x",
            f"{vehicles[2].vin},英朗", f"{unknown},x", f"{vehicles[0].vin},英朗"]
    client = page_client(manager)
    with time_machine.travel(NOW, tick=False):
        page = client.post("/care/recalls/", {"code": "R2026-01", "title": "燃油泵召回", "started_on": "2026-11-16",
                                              "store": str(store_a.pk), "file": _csv(rows)})
    html = page.content.decode()
    assert page.status_code == 200, html
    assert "Rows read: 7; vehicles of the store: 3." in html
    for row in (4, 5, 7, 8):  # the header is row 1
        assert f"Row {row}:" in html, row
    assert "Row 2:" not in html and "Row 3:" not in html
    recall = Recall.objects.get()
    assert FollowupTask.objects.filter(kind=FollowupKind.RECALL).count() == 3
    # done: an RO of vehicle 0 after the start; unreachable: vehicle 1's call; vehicle 2 still open
    f.RepairOrderFactory(store=store_a, customer=owners[0], vehicle=vehicles[0], kind="warranty",
                         settled_at=business_day_start(dt.date(2026, 11, 20)))
    f.RepairOrderFactory(store=store_a, customer=owners[2], vehicle=vehicles[2],
                         settled_at=business_day_start(dt.date(2026, 11, 1)))  # before the start: not done
    rv1 = RecallVehicle.objects.get(vehicle=vehicles[1])
    FollowupTask.objects.filter(pk=rv1.task_id).update(status=TaskStatus.UNREACHABLE)
    assert recall_progress_update(recall=recall) == 2
    assert recall_progress_update(recall=recall) == 0
    r = recall_list(user=manager).get()
    assert (r.total, r.done, r.unreachable) == (3, 1, 1) and recall_completion_rate(r) == pytest.approx(1 / 3)
    assert RecallVehicle.objects.get(vehicle=vehicles[2]).state == RecallVehicleState.OPEN
    detail = client.get(f"/care/recalls/{recall.pk}/")
    assert "1 of 3 vehicles done, 1 unreachable." in detail.content.decode()
    # the call screen's recall card: the customer says the work is done
    rv2 = RecallVehicle.objects.get(vehicle=vehicles[2])
    screen = client.get(f"/followups/tasks/{rv2.task_id}/")
    assert 'id="recall-card"' in screen.content.decode()
    assert client.post(f"/care/recalls/vehicles/{rv2.pk}/done/").status_code == 302
    rv2.refresh_from_db()
    assert rv2.state == RecallVehicleState.DONE and rv2.done_by_call
    api = client.get(f"/api/care/recalls/{recall.pk}").json()
    assert api["done"] == 2 and len(api["vehicles"]) == 3


def test_recall_progress_is_two_statements_and_done_at_is_the_first_order_since_the_start(
        store_a, django_assert_num_queries):
    owners = [f.CustomerFactory(store=store_a) for _i in range(2)]
    vehicles = [f.owned_vehicle(c) for c in owners]
    recall = Recall.objects.create(store=store_a, code="R1", title="召回", started_on=dt.date(2026, 11, 16))
    rvs = [RecallVehicle.objects.create(store=store_a, recall=recall, vehicle=v, customer=c)
           for v, c in zip(vehicles, owners, strict=True)]
    for day in (dt.date(2026, 11, 25), dt.date(2026, 11, 18), dt.date(2026, 11, 10)):
        f.RepairOrderFactory(store=store_a, customer=owners[0], vehicle=vehicles[0], settled_at=business_day_start(day))
    with django_assert_num_queries(2):
        assert recall_progress_update(recall=recall) == 1
    done, still = (RecallVehicle.objects.get(pk=rv.pk) for rv in rvs)
    assert (done.state, done.done_at) == (RecallVehicleState.DONE, business_day_start(dt.date(2026, 11, 18)))
    assert (still.state, still.done_at) == (RecallVehicleState.OPEN, None)


def test_importing_the_same_recall_code_again_adds_only_the_new_vehicles(store_a, users):
    owners = [f.CustomerFactory(store=store_a) for _i in range(3)]
    vehicles = [f.owned_vehicle(c) for c in owners]
    client = page_client(users[Role.CS_MANAGER])
    form = {"code": "R2026-01", "title": "燃油泵召回", "started_on": "2026-11-16", "store": str(store_a.pk)}
    with time_machine.travel(NOW, tick=False):
        first = client.post("/care/recalls/", {**form, "file": _csv([f"{v.vin},英朗" for v in vehicles[:2]])})
        again = client.post("/care/recalls/", {**form, "file": _csv([f"{v.vin},英朗" for v in vehicles])})
    assert first.status_code == again.status_code == 200
    recall = Recall.objects.get()
    assert sorted(recall.vehicles.values_list("vehicle_id", flat=True)) == sorted(v.pk for v in vehicles)
    tasks = FollowupTask.objects.filter(kind=FollowupKind.RECALL)
    assert tasks.count() == 3 and sorted(tasks.values_list("vehicle_id", flat=True)) == sorted(v.pk for v in vehicles)


def test_a_recall_list_without_a_vin_column_is_refused_by_name(store_a, users):
    client = page_client(users[Role.CS_MANAGER])
    upload = SimpleUploadedFile("x.csv", "车牌,车型\n粤A12345,英朗\n".encode())
    page = client.post("/care/recalls/", {"code": "R1", "title": "t", "started_on": "2026-11-16",
                                          "store": str(store_a.pk), "file": upload})
    assert page.status_code == 400 and "The list has no VIN column" in page.content.decode()
    assert not Recall.objects.exists()


def test_the_lists_read_a_constant_number_of_queries(store_a, users, django_assert_max_num_queries):
    client = page_client(users[Role.CS_MANAGER])
    client.get("/care/campaigns/")  # warm the session
    for n in range(4):
        c = Campaign.objects.create(store=store_a, name=f"活动{n}", event_start=dt.date(2026, 12, 1),
                                    event_end=dt.date(2026, 12, 2))
        c.stores.set([store_a])
        Recall.objects.create(store=store_a, code=f"R{n}", title="召回", started_on=dt.date(2026, 11, 1))
    with django_assert_max_num_queries(8):
        page = client.get("/care/campaigns/")
    assert page.content.decode().count("/care/campaigns/") >= 4
    with django_assert_max_num_queries(8):
        page = client.get("/care/recalls/")
    assert page.content.decode().count('href="/care/recalls/') == 4


def test_a_campaign_whose_event_is_over_is_not_launched(store_a, users, crowd):
    manager = users[Role.CS_MANAGER]
    with time_machine.travel(NOW, tick=False):
        campaign = campaign_save(actor=manager, store_ids=[store_a.pk], name="过期活动",
                                 event_start=dt.date(2026, 11, 1), event_end=dt.date(2026, 11, 7))
        client = page_client(manager)
        page = client.post(f"/care/campaigns/{campaign.pk}/launch/", follow=True)
        api = client.post(f"/api/care/campaigns/{campaign.pk}/launch", content_type="application/json")
    assert page.status_code == 200 and "The event is over; it can no longer be launched." in page.content.decode()
    assert api.status_code == 422 and "event_end" in api.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT and not CampaignTarget.objects.exists()


def test_an_invalid_outcome_is_refused_by_name_and_another_stores_target_is_404(store_a, store_b, users, launched,
                                                                               crowd):
    """The outcome form posts back to the call screen (a redirect with the error), leaving the target as it was."""
    client = page_client(users[Role.CS_SPECIALIST])
    target = CampaignTarget.objects.get(customer=crowd[0])
    url = f"/care/campaigns/targets/{target.pk}/outcome/"
    for data, message in (({}, "This field is required."),
                          ({"outcome": "declined"}, "Say why the customer declined.")):
        response = client.post(url, data, follow=True)
        assert response.redirect_chain[0] == (f"/followups/tasks/{target.task_id}/", 302), data
        assert message in response.content.decode(), data
    target.refresh_from_db()
    assert (target.state, target.reached, target.outcome_by) == (TargetState.TARGETED, False, None)
    other = Campaign.objects.create(store=store_b, name="B", event_start=dt.date(2026, 12, 1),
                                    event_end=dt.date(2026, 12, 2), state=CampaignState.LAUNCHED)
    foreign = CampaignTarget.objects.create(store=store_b, campaign=other, customer=f.CustomerFactory(store=store_b))
    assert client.post(f"/care/campaigns/targets/{foreign.pk}/outcome/", {"outcome": "invited"}).status_code == 404


def test_the_api_refuses_a_campaign_for_another_store(store_a, store_b, users):
    response = page_client(users[Role.CS_MANAGER]).post(
        "/api/care/campaigns", {"name": "越权", "event_start": "2026-12-01", "event_end": "2026-12-07",
                                "store_ids": [store_a.pk, store_b.pk]}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"] == {"stores": ["You may only choose your own stores."]}
    assert not Campaign.objects.exists()


def _card_rows(html: str, key: str) -> list[tuple[str, str, int]]:
    """(label, href, count) of each row of the start-page card `key`."""
    card = html.split(f'data-card="{key}"', 1)[1].split("</ul>", 1)[0]
    return [(label.strip(), href.replace("&amp;", "&"), int(n)) for href, label, n in re.findall(
        r'<a href="([^"]+)"[^>]*>([^<]+)</a>\s*<span[^>]*data-count="(\d+)"', card)]


def test_the_start_page_shows_campaign_calls_and_running_campaigns_each_number_linking_its_rows(
        store_a, users, launched, crowd):
    manager, specialist = users[Role.CS_MANAGER], users[Role.CS_SPECIALIST]
    during = dt.datetime(2026, 12, 2, 4, tzinfo=dt.UTC)  # 12:00 Shanghai, the event's second day
    CampaignTarget.objects.filter(customer__in=crowd[:2]).update(reached=True, state=TargetState.INVITED)
    v = crowd[0].ownerships.get().vehicle
    f.RepairOrderFactory(store=store_a, customer=crowd[0], vehicle=v,
                         settled_at=business_day_start(dt.date(2026, 12, 1)) + dt.timedelta(hours=10))
    # neither a draft nor a campaign whose event is over is running
    campaign_save(actor=manager, store_ids=[store_a.pk], name="草稿活动", event_start=dt.date(2026, 12, 1),
                  event_end=dt.date(2026, 12, 9), channels=["call"])
    Campaign.objects.create(store=store_a, name="已结束活动", event_start=dt.date(2026, 11, 1),
                            event_end=dt.date(2026, 11, 30), state=CampaignState.LAUNCHED)
    with time_machine.travel(during, tick=False):
        html = page_client(manager).get("/today/").content.decode()
        rows = _card_rows(html, "care.campaigns_running")
        assert [(label, n) for label, _url, n in rows] == [("清洗节气门: reached", 2), ("清洗节气门: came", 1)]
        assert "草稿活动" not in html and "已结束活动" not in html
        for _label, url, n in rows:  # each number opens exactly its rows
            assert url.startswith(f"/care/campaigns/{launched.pk}/?measure=")
            assert page_client(manager).get(url).content.decode().count("data-target=") == n
        assert 'data-card="care.campaign_calls"' not in html  # a specialist's card
        # the specialist: the campaign calls of their queue
        FollowupTask.objects.filter(pk=CampaignTarget.objects.get(customer=crowd[2]).task_id).update(
            status=TaskStatus.COMPLETED)
        html = page_client(specialist).get("/today/").content.decode()
        rows = _card_rows(html, "care.campaign_calls")
        queue = followup_queue(user=specialist, kind=FollowupKind.CAMPAIGN, now=during)
        assert [n for _label, _url, n in rows][1] == queue.count() == 6  # seven calls, one completed
        for _label, url, n in rows:
            assert "kind=campaign" in url
            assert page_client(specialist).get(url).content.decode().count("data-task=") == n
        assert 'data-card="care.campaigns_running"' not in html
        # translated
        zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        zh.force_login(manager)
        page = zh.get("/today/").content.decode()
        assert "进行中的活动" in page and "清洗节气门：已接通" in page


@time_machine.travel(NOW, tick=False)
def test_a_draft_is_edited_with_the_builder_and_audited_a_launched_one_is_not(store_a, users, crowd):
    from aftercare.core.models import AuditEvent

    manager = users[Role.CS_MANAGER]
    client = page_client(manager)
    campaign = campaign_save(actor=manager, store_ids=[store_a.pk], name="免费检测周", event_start=dt.date(2026, 12, 1),
                             event_end=dt.date(2026, 12, 7), segment={"classes": ["loyal"], "model": "英朗"},
                             channels=["call"])
    detail = client.get(f"/care/campaigns/{campaign.pk}/").content.decode()
    assert f'href="/care/campaigns/{campaign.pk}/edit/"' in detail
    page = client.get(f"/care/campaigns/{campaign.pk}/edit/")
    html = page.content.decode()
    assert page.status_code == 200 and 'value="免费检测周"' in html and 'value="英朗"' in html
    assert 'value="loyal" id="id_classes_1" checked' in html and f'action="/care/campaigns/{campaign.pk}/edit/"' in html
    assert 'data-count="' in html  # the builder's live count
    bad = client.post(f"/care/campaigns/{campaign.pk}/edit/", {**FORM, "event_end": "2026-11-01",
                                                               "stores": [str(store_a.pk)]})
    assert bad.status_code == 400 and "The event cannot end before it starts." in bad.content.decode()
    response = client.post(f"/care/campaigns/{campaign.pk}/edit/", {**FORM, "name": "冬季免费检测",
                                                                    "classes": ["regular"],
                                                                    "stores": [str(store_a.pk)]})
    assert response.status_code == 302 and response["Location"] == f"/care/campaigns/{campaign.pk}/"
    campaign.refresh_from_db()
    assert (campaign.name, campaign.segment) == ("冬季免费检测", {"classes": ["regular"]})
    event = AuditEvent.objects.filter(object_type="care.campaign", action="update").latest("id")
    assert event.actor == manager and {"name", "segment"} <= set(event.changed_fields)
    assert Campaign.objects.count() == 1
    # launched: the page says it can no longer be changed, and nothing changes
    campaign_launch(actor=manager, campaign=campaign)
    for response in (client.get(f"/care/campaigns/{campaign.pk}/edit/", follow=True),
                     client.post(f"/care/campaigns/{campaign.pk}/edit/", {**FORM, "stores": [str(store_a.pk)]},
                                 follow=True)):
        assert response.redirect_chain[-1][0] == f"/care/campaigns/{campaign.pk}/"
        assert "This campaign has been launched; it can no longer be changed." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.name == "冬季免费检测"
    assert 'id="campaign-edit"' not in client.get(f"/care/campaigns/{campaign.pk}/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_api_patches_a_draft_only(store_a, store_b, users, crowd):
    manager = users[Role.CS_MANAGER]
    client = page_client(manager)
    cid = client.post("/api/care/campaigns", {"name": "免费检测周", "event_start": "2026-12-01",
                                              "event_end": "2026-12-07", "segment": {"model": "英朗"}},
                      content_type="application/json").json()["id"]
    patch = client.patch(f"/api/care/campaigns/{cid}", {"name": "冬季免费检测", "calls_days_before": 7},
                         content_type="application/json")
    assert patch.status_code == 200, patch.content
    body = patch.json()
    assert (body["name"], body["calls_days_before"], body["segment"]["model"]) == ("冬季免费检测", 7, "英朗")
    assert body["event_start"] == "2026-12-01"  # what was not given is kept
    cleared = client.patch(f"/api/care/campaigns/{cid}", {"segment": {"classes": ["loyal"]}},
                           content_type="application/json").json()
    assert cleared["segment"] == {"classes": ["loyal"]}  # the segment given replaces the segment
    for payload, field in (({"event_end": "2026-11-01"}, "event_end"), ({"name": None}, "name"),
                           ({"store_ids": [store_b.pk]}, "stores"), ({"calls_days_before": 99}, "calls_days_before")):
        bad = client.patch(f"/api/care/campaigns/{cid}", payload, content_type="application/json")
        assert bad.status_code == 422 and field in str(bad.json()), (payload, bad.content)
    other = Campaign.objects.create(store=store_b, name="B", event_start=dt.date(2026, 12, 1),
                                    event_end=dt.date(2026, 12, 2), state=CampaignState.DRAFT)
    assert client.patch(f"/api/care/campaigns/{other.pk}", {"name": "x"},
                        content_type="application/json").status_code == 404
    assert client.get(f"/care/campaigns/{other.pk}/edit/").status_code == 404
    assert client.post(f"/care/campaigns/{other.pk}/edit/", {**FORM, "stores": [str(store_a.pk)]}).status_code == 404
    client.post(f"/api/care/campaigns/{cid}/launch", content_type="application/json")
    launched = client.patch(f"/api/care/campaigns/{cid}", {"name": "x"}, content_type="application/json")
    assert launched.status_code == 409
    assert launched.json()["detail"] == "This campaign has been launched; it can no longer be changed."
    assert page_client(users[Role.CS_SPECIALIST]).patch(f"/api/care/campaigns/{cid}", {"name": "x"},
                                                    content_type="application/json").status_code == 403
