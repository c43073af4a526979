"""The action register (docs/reports.md, "Action register"): create, done, verify / reopen, cancel; who may do what;
the start card; the page and the API."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.reports.cards import actions_card
from aftercare.reports.models import RectificationAction
from aftercare.reports.services.actions import action_cancel, action_complete, action_create, action_verify
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 18, 10, 0, tzinfo=SH)


@pytest.fixture
def manager(users):
    return users[Role.CS_MANAGER]


@pytest.fixture
def owner(users):
    return users[Role.DEPARTMENT_DESIGNEE]


def _create(manager, owner, store, **kw):
    data = {"title": "前台接待时间缩短", "source": "ssi_factor", "source_detail": "经销商设施", "owner": owner,
            "due_date": dt.date(2026, 3, 20)} | kw
    return action_create(actor=manager, store_id=store.pk, **data)


def test_it_runs_an_action_from_open_to_verified_with_a_reopen(store_a, manager, owner):
    with time_machine.travel(NOW, tick=False):
        action = _create(manager, owner, store_a)
        assert (action.status, action.created_by) == ("open", manager)
        with pytest.raises(ValidationError) as exc:
            action_complete(actor=owner, action_id=action.pk, note="  ")
        assert "note" in exc.value.message_dict
        action = action_complete(actor=owner, action_id=action.pk, note="增加一名接待")
        assert action.status == "done" and action.done_at is not None
        with pytest.raises(ValidationError) as exc:  # not effective needs the reason
            action_verify(actor=manager, action_id=action.pk, effective=False, note="")
        action = action_verify(actor=manager, action_id=action.pk, effective=False, note="等候仍超过10分钟")
        assert (action.status, action.reopen_count, action.done_at) == ("open", 1, None)
        action = action_complete(actor=owner, action_id=action.pk, note="高峰期两人接待")
        action = action_verify(actor=manager, action_id=action.pk, effective=True, note="")
    assert (action.status, action.verified_by) == ("verified", manager)
    assert AuditEvent.objects.filter(object_type__icontains="rectificationaction").count() == 5


def test_it_refuses_what_a_role_may_not_do(store_a, store_b, manager, owner, users):
    specialist = users[Role.CS_SPECIALIST]
    with pytest.raises(PermissionDenied):
        _create(specialist, owner, store_a)  # only who owns the KPIs adds actions
    with pytest.raises(ValidationError) as exc:  # the owner works in the store
        _create(manager, f.StaffFactory(group=store_b.group, stores=[store_b]).user, store_a)
    assert "owner" in exc.value.message_dict
    with pytest.raises(Http404):
        _create(manager, owner, store_b)
    action = _create(manager, owner, store_a)
    with pytest.raises(PermissionDenied):
        action_complete(actor=specialist, action_id=action.pk, note="x")  # neither owner nor manager
    with pytest.raises(PermissionDenied):
        action_verify(actor=owner, action_id=action.pk, effective=True, note="")
    with pytest.raises(ValidationError):
        action_verify(actor=manager, action_id=action.pk, effective=True, note="")  # not done yet
    action_cancel(actor=manager, action_id=action.pk, note="重复")
    with pytest.raises(ValidationError):
        action_complete(actor=owner, action_id=action.pk, note="x")


def test_it_counts_the_start_card_and_links_each_number(store_a, manager, owner):
    with time_machine.travel(NOW, tick=False):
        _create(manager, owner, store_a, due_date=dt.date(2026, 3, 10))  # overdue
        _create(manager, owner, store_a, due_date=dt.date(2026, 3, 30))
        done = _create(manager, owner, store_a, due_date=dt.date(2026, 3, 30))
        action_complete(actor=owner, action_id=done.pk, note="已完成")
        mine = {r.label: (r.count, r.url) for r in actions_card(user=owner, store_ids={store_a.pk}, now=NOW).rows}
        theirs = {r.label: (r.count, r.url) for r in actions_card(user=manager, store_ids={store_a.pk}, now=NOW).rows}
    assert [v[0] for v in mine.values()] == [2, 1]  # my open, my overdue
    assert [v[0] for v in theirs.values()] == [1, 1]  # overdue, to verify (the manager owns none)
    assert all(url.startswith("/reports/actions/?") for _, url in [*mine.values(), *theirs.values()])


def test_the_register_page_lists_creates_and_names_a_bad_field(client, store_a, manager, owner):
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        bad = client.post("/reports/actions/", {"title": "", "source": "weekly_meeting", "owner": owner.pk,
                                                "due_date": "2026-13-01"})
        assert bad.status_code == 400 and not RectificationAction.objects.exists()
        body = bad.content.decode()
        assert 'id="action_title"' in body and "is-invalid" in body
        ok = client.post("/reports/actions/", {"title": "周会：回访话术培训", "source": "weekly_meeting",
                                               "source_detail": "3月16日周会", "owner": owner.pk,
                                               "due_date": "2026-03-25"})
        assert ok.status_code == 302
        action = RectificationAction.objects.get()
        page = client.get("/reports/actions/").content.decode()
        assert "周会：回访话术培训" in page
        client.force_login(owner)
        assert client.post(f"/reports/actions/{action.pk}/done/", {"note": ""}).status_code == 400
        assert client.post(f"/reports/actions/{action.pk}/done/", {"note": "已培训"}).status_code == 302
        client.force_login(manager)
        assert client.post(f"/reports/actions/{action.pk}/not_effective/", {"note": "抽查仍不规范"}).status_code == 302
        assert "抽查仍不规范" in client.get(f"/reports/actions/{action.pk}/").content.decode()
    action.refresh_from_db()
    assert (action.status, action.reopen_count) == ("open", 1)


def test_the_api_lists_creates_and_answers_422_naming_the_field(client, store_a, manager, owner):
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        bad = client.post("/api/reports/actions", {"store_id": store_a.pk, "title": "x", "source": "ssi_factor",
                                                   "owner_id": 999999, "due_date": "2026-03-25"},
                          content_type="application/json")
        assert bad.status_code == 422 and "owner_id" in bad.json()["errors"]
        made = client.post("/api/reports/actions", {"store_id": store_a.pk, "title": "核查交车流程",
                                                    "source": "complaint_category", "owner_id": owner.pk,
                                                    "due_date": "2026-03-10"}, content_type="application/json")
        assert made.status_code == 201 and made.json()["overdue"] is True
        listed = client.get("/api/reports/actions?overdue=true").json()
        assert [a["title"] for a in listed["items"]] == ["核查交车流程"]
        client.force_login(owner)
        done = client.post(f"/api/reports/actions/{made.json()['id']}/done", {"note": "已核查"},
                           content_type="application/json")
        assert done.status_code == 200 and done.json()["status"] == "done"


def test_it_shows_an_owner_only_their_own_actions_on_the_page_and_the_api(client, store_a, manager, owner, users):
    with time_machine.travel(NOW, tick=False):
        mine = _create(manager, owner, store_a, title="接待台整改")
        theirs = _create(manager, users[Role.SERVICE_ADVISOR], store_a, title="工单解释话术")
        client.force_login(owner)  # a department designee: no `kpi.set_target`
        page = client.get("/reports/actions/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "接待台整改" in body and "工单解释话术" not in body
        assert 'id="action_title"' not in body  # no form to add actions
        assert client.get(f"/reports/actions/{mine.pk}/").status_code == 200
        assert client.get(f"/reports/actions/{theirs.pk}/").status_code == 404
        assert client.post(f"/reports/actions/{theirs.pk}/done/", {"note": "x"}).status_code == 404
        assert client.post(f"/reports/actions/{mine.pk}/cancel/", {"note": "x"}).status_code == 403
        listed = client.get("/api/reports/actions?status=").json()
        assert [a["id"] for a in listed["items"]] == [mine.pk]
        assert client.get(f"/api/reports/actions/{theirs.pk}").status_code == 404
        assert client.post(f"/api/reports/actions/{theirs.pk}/done", {"note": "x"},
                           content_type="application/json").status_code == 404
        assert client.post("/api/reports/actions", {"store_id": store_a.pk, "title": "x", "source": "other",
                                                    "owner_id": owner.pk, "due_date": "2026-03-25"},
                           content_type="application/json").status_code == 403
    theirs.refresh_from_db()
    assert theirs.status == "open" and RectificationAction.objects.count() == 2


def test_the_api_answers_bad_input_with_422_or_404_and_writes_nothing(client, store_a, store_b, manager, owner):
    client.force_login(manager)
    foreign = f.StaffFactory(group=store_b.group, stores=[store_b]).user
    good = {"store_id": store_a.pk, "title": "核查交车流程", "source": "other", "owner_id": owner.pk,
            "due_date": "2026-03-25"}

    def post(url, data):
        return client.post(url, data, content_type="application/json")

    with time_machine.travel(NOW, tick=False):
        assert client.get("/api/reports/actions?status=bogus").status_code == 422
        assert client.get("/api/reports/actions?store_id=0").status_code == 422
        assert client.get("/api/reports/actions/abc").status_code in (404, 422)
        for bad in ({"due_date": "2026-13-01"}, {"source": "rumour"}, {"title": ""}, {"title": "x" * 201},
                    {"owner_id": 0}):
            response = post("/api/reports/actions", good | bad)
            assert response.status_code == 422, (bad, response.content)
        wrong_owner = post("/api/reports/actions", good | {"owner_id": foreign.pk})
        assert wrong_owner.status_code == 422 and "owner_id" in wrong_owner.json()["errors"]
        assert post("/api/reports/actions", good | {"store_id": store_b.pk}).status_code == 404
        assert not RectificationAction.objects.exists()
        action = post("/api/reports/actions", good).json()
        assert post(f"/api/reports/actions/{action['id']}/verify", {"note": ""}).status_code == 422  # no effective
        not_done = post(f"/api/reports/actions/{action['id']}/verify", {"effective": True, "note": ""})
        assert not_done.status_code == 422 and "status" in not_done.json()["errors"]
        assert post(f"/api/reports/actions/{action['id']}/done", {"note": "  "}).status_code == 422
        assert post(f"/api/reports/actions/{action['id']}/done", {"note": "x" * 2001}).status_code == 422
        assert post("/api/reports/actions/999999/done", {"note": "x"}).status_code == 404
        no_reason = post(f"/api/reports/actions/{action['id']}/cancel", {"note": ""})
        assert no_reason.status_code == 422 and "note" in no_reason.json()["errors"]
    assert RectificationAction.objects.get().status == "open"
    with time_machine.travel(NOW, tick=False):
        cancelled = post(f"/api/reports/actions/{action['id']}/cancel", {"note": "重复"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert post(f"/api/reports/actions/{action['id']}/cancel", {"note": "again"}).status_code == 422  # closed


def test_the_register_page_survives_bad_filters_and_an_unknown_step(client, store_a, manager, owner):
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        action = _create(manager, owner, store_a, title="接待台整改")
        page = client.get("/reports/actions/?status=bogus&mine=maybe&overdue=x")
        assert page.status_code == 200 and "接待台整改" in page.content.decode()  # the default filter
        assert client.post(f"/reports/actions/{action.pk}/explode/", {"note": "x"}).status_code == 404
        assert client.get(f"/reports/actions/{action.pk}/done/").status_code == 405
    action.refresh_from_db()
    assert action.status == "open"
