"""Dealer evaluation through its pages and API (docs/quality.md, "Dealer evaluation"): the engineer drafts and
activates a form, the itinerant service engineer visits a store on a phone (scores, a photo, corrective actions,
submit), the store reports an action done and the evaluator verifies it; the start cards count the actions; the
scorecard's first column is the month's mean visit score. Every bad input names its field or line."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from aftercare.org.choices import Role
from aftercare.org.kpis import measure_get
from aftercare.org.start import start_cards
from aftercare.quality.choices import ActionStatus, VisitStatus
from aftercare.quality.evaluation_models import CorrectiveAction, EvaluationForm, StoreVisit, VisitPhoto
from aftercare.quality.selectors_scorecard import scorecard_month
from aftercare.quality.services.evaluations import (
    corrective_action_create,
    evaluation_form_activate,
    evaluation_form_create,
    store_visit_score,
    store_visit_start,
    store_visit_submit,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
ITEMS_TEXT = ("接待 | 预约客户有专人接待 | Appointment customers met | 10\n"
              "维修 | 工单填写完整 | Repair orders complete | 20\n")


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def form(engineer):
    items = [{"section_zh": "接待", "text_zh": "专人接待", "max_score": 10},
             {"section_zh": "维修", "text_zh": "工单完整", "max_score": 20}]
    return evaluation_form_activate(actor=engineer, form=evaluation_form_create(
        actor=engineer, code="DLR", name_zh="售后评估", items=items))


def png(name="shelf.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _visit(evaluator, store, form, scores=(8, 16), day=TODAY):
    visit = store_visit_start(actor=evaluator, store_id=store.pk, visited_on=day, form=form)
    for item, score in zip(form.items.order_by("position"), scores, strict=True):
        store_visit_score(actor=evaluator, visit=visit, item_id=item.pk, score=score)
    return store_visit_submit(actor=evaluator, visit=visit)


def test_it_drafts_a_form_naming_the_bad_line_and_activates_it(client, engineer):
    client.force_login(engineer)
    bad = client.post("/quality/evaluation-forms/", {"code": "dlr", "name_zh": "售后评估",
                                                     "items": ITEMS_TEXT + "回访 | 三日内回访 | | 0\n"})
    assert bad.status_code == 400 and ("Line 3" in bad.content.decode() or "第 3 行" in bad.content.decode())
    assert not EvaluationForm.objects.exists()
    assert client.post("/quality/evaluation-forms/", {"code": "dlr", "name_zh": "售后评估",
                                                      "items": ITEMS_TEXT}).status_code == 302
    form = EvaluationForm.objects.get()
    assert (form.code, form.status, form.items.count()) == ("DLR", "draft", 2)
    assert client.post(f"/quality/evaluation-forms/{form.pk}/activate/").status_code == 302
    form.refresh_from_db()
    assert form.status == "active"
    page = client.get("/quality/evaluation-forms/").content.decode()
    assert "工单填写完整" in page


def test_only_the_engineer_drafts_forms_on_the_page(client, evaluator, form):
    client.force_login(evaluator)
    assert client.get("/quality/evaluation-forms/").status_code == 200
    assert client.post("/quality/evaluation-forms/", {"code": "X", "name_zh": "x", "items": ITEMS_TEXT}
                       ).status_code == 403
    assert client.post(f"/quality/evaluation-forms/{form.pk}/activate/").status_code == 403


def test_the_evaluator_visits_a_store_on_the_pages(client, evaluator, form, store_a, users):
    client.force_login(evaluator)
    assert client.post("/quality/visits/", {"store": store_a.pk, "visited_on": "2026-11-20",
                                            "form": form.pk}).status_code == 302
    visit = StoreVisit.objects.get()
    url = f"/quality/visits/{visit.pk}/"
    first, second = form.items.order_by("position")
    # a score above the item's maximum is named and nothing is saved
    bad = client.post(url, {"what": "scores", f"score_{first.pk}": 11, f"score_{second.pk}": 5})
    assert bad.status_code == 400 and f'name="score_{first.pk}"' in bad.content.decode()
    assert not visit.scores.exists()
    # submitting with an item unscored keeps the scores given and says which item is missing
    client.post(url, {"what": "scores", f"score_{first.pk}": 8, "submit": "1"}, follow=True)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DRAFT and visit.scores.count() == 1
    # a file that is not an image is refused; a photo is kept and downloads
    refused = client.post(url, {"what": "photo", "image": SimpleUploadedFile("x.png", b"not an image")})
    assert refused.status_code == 400 and not VisitPhoto.objects.exists()
    assert client.post(url, {"what": "photo", "image": png(), "caption": "货架", "item": second.pk}).status_code == 302
    photo = VisitPhoto.objects.get()
    download = client.get(f"/quality/visits/{visit.pk}/photos/{photo.pk}/")
    assert download.status_code == 200 and download["X-Content-Type-Options"] == "nosniff"
    # an owner from outside the store is named; a good action is added
    advisor = users[Role.SERVICE_ADVISOR]
    bad = client.post(url, {"what": "action", "finding": "工单缺签字", "action": "培训", "owner": 999_999,
                            "due_on": "2026-12-04"})
    assert bad.status_code == 400 and not CorrectiveAction.objects.exists()
    assert client.post(url, {"what": "action", "finding": "工单缺签字", "action": "培训并抽查", "owner": advisor.pk,
                             "due_on": "2026-12-04", "item": second.pk}).status_code == 302
    done = client.post(url, {"what": "scores", f"score_{first.pk}": 8, f"score_{second.pk}": 16,
                             "summary": "整体良好", "submit": "1"})
    assert done.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.score) == (VisitStatus.SUBMITTED, Decimal("80.0"))  # 24 / 30
    page = client.get(url).content.decode()
    assert "80.0 %" in page and "培训并抽查" in page and 'name="what" value="scores"' not in page


def test_the_store_reports_an_action_done_and_the_evaluator_verifies_it(client, evaluator, form, store_a, users):
    visit = _visit(evaluator, store_a, form)
    action = corrective_action_create(actor=evaluator, visit=visit, finding="洗车区脏", action="每日检查",
                                      owner_id=users[Role.SERVICE_ADVISOR].pk, due_on=TODAY + dt.timedelta(days=7))
    manager = users[Role.STORE_MANAGER]
    client.force_login(manager)
    blank = client.post(f"/quality/actions/{action.pk}/", {"what": "done", "note": ""}, follow=True)
    assert blank.status_code == 200
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN
    client.post(f"/quality/actions/{action.pk}/", {"what": "done", "note": "已安排专人"})
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE
    client.force_login(evaluator)
    no_reason = client.post(f"/quality/actions/{action.pk}/", {"what": "verify", "accepted": "no", "note": ""},
                            follow=True)
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE and no_reason.status_code == 200
    client.post(f"/quality/actions/{action.pk}/", {"what": "verify", "accepted": "yes", "note": "抽查合格"})
    action.refresh_from_db()
    assert action.status == ActionStatus.VERIFIED


def test_the_start_cards_count_open_overdue_and_to_verify_actions(evaluator, form, store_a, users):
    visit = _visit(evaluator, store_a, form, day=TODAY - dt.timedelta(days=30))
    owner = users[Role.SERVICE_ADVISOR].pk
    corrective_action_create(actor=evaluator, visit=visit, finding="a", action="a", owner_id=owner,
                             due_on=TODAY - dt.timedelta(days=1))
    corrective_action_create(actor=evaluator, visit=visit, finding="b", action="b", owner_id=owner,
                             due_on=TODAY + dt.timedelta(days=5))
    done = corrective_action_create(actor=evaluator, visit=visit, finding="c", action="c", owner_id=owner,
                                    due_on=TODAY + dt.timedelta(days=5))
    CorrectiveAction.objects.filter(pk=done.pk).update(status=ActionStatus.DONE, done_at=dt.datetime.now(dt.UTC))

    def rows(user):
        data = next(d for c, d in start_cards(user=user, store_ids={store_a.pk}, now=dt.datetime.now(dt.UTC))
                    if c.key == "quality.actions")
        return {r.url.split("?")[1]: r.count for r in data.rows}

    assert rows(users[Role.STORE_MANAGER]) == {"status=overdue": 1, "status=open": 2}
    assert rows(evaluator) == {"status=overdue": 1, "status=open": 2, "status=done": 1}


def test_the_action_list_filters_and_the_owner_sees_their_action(client, evaluator, form, store_a, users):
    visit = _visit(evaluator, store_a, form, day=TODAY - dt.timedelta(days=30))
    specialist = users[Role.CS_SPECIALIST]  # no quality.view: sees the action because it is theirs
    corrective_action_create(actor=evaluator, visit=visit, finding="回访记录不全", action="补录",
                             owner_id=specialist.pk, due_on=TODAY - dt.timedelta(days=2))
    corrective_action_create(actor=evaluator, visit=visit, finding="前台无人", action="排班",
                             owner_id=users[Role.SERVICE_ADVISOR].pk, due_on=TODAY + dt.timedelta(days=9))
    client.force_login(users[Role.STORE_MANAGER])
    overdue = client.get("/quality/actions/?status=overdue").content.decode()
    assert "回访记录不全" in overdue and "前台无人" not in overdue
    client.force_login(specialist)
    mine = client.get("/quality/actions/").content.decode()
    assert "回访记录不全" in mine and "前台无人" not in mine


def test_the_api_runs_a_visit_and_names_bad_input(client, evaluator, engineer, form, store_a, store_b, users):
    client.force_login(engineer)
    bad = client.post("/api/quality/evaluation-forms", {"code": "X", "name_zh": "x", "items": []},
                      content_type="application/json")
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"body.payload.items"}
    client.force_login(evaluator)
    foreign = client.post("/api/quality/visits", {"store_id": store_b.pk, "visited_on": "2026-11-20"},
                          content_type="application/json")
    assert foreign.status_code == 422 and set(foreign.json()["errors"]) == {"store"}
    started = client.post("/api/quality/visits", {"store_id": store_a.pk, "visited_on": "2026-11-20"},
                          content_type="application/json")
    assert started.status_code == 201, started.content
    vid = started.json()["id"]
    first, second = form.items.order_by("position")
    over = client.put(f"/api/quality/visits/{vid}/scores/{first.pk}", {"score": 11}, content_type="application/json")
    assert over.status_code == 422 and set(over.json()["errors"]) == {"score"}
    for item, score in ((first, 10), (second, 20)):
        assert client.put(f"/api/quality/visits/{vid}/scores/{item.pk}", {"score": score},
                          content_type="application/json").status_code == 200
    photo = client.post(f"/api/quality/visits/{vid}/photos", {"image": png(), "caption": "门头"})
    assert photo.status_code == 201, photo.content
    submitted = client.post(f"/api/quality/visits/{vid}/submit", {"summary": "满分"}, content_type="application/json")
    assert submitted.json()["score"] == "100.0" or submitted.json()["score"] == 100.0
    action = client.post(f"/api/quality/visits/{vid}/actions", {
        "finding": "f", "action": "a", "owner_id": users[Role.SERVICE_ADVISOR].pk, "due_on": "2026-11-01"},
        content_type="application/json")
    assert action.status_code == 422 and set(action.json()["errors"]) == {"due_on"}
    action = client.post(f"/api/quality/visits/{vid}/actions", {
        "finding": "f", "action": "a", "owner_id": users[Role.SERVICE_ADVISOR].pk, "due_on": "2026-11-30"},
        content_type="application/json")
    assert action.status_code == 201
    aid = action.json()["id"]
    client.force_login(users[Role.SERVICE_ADVISOR])
    assert client.post(f"/api/quality/actions/{aid}/done", {"note": "已整改"},
                       content_type="application/json").json()["status"] == "done"
    client.force_login(evaluator)
    assert client.post(f"/api/quality/actions/{aid}/verify", {"accepted": True},
                       content_type="application/json").json()["status"] == "verified"
    assert client.get("/api/quality/visits").json()["count"] == 1


def test_the_scorecard_averages_the_months_submitted_visits(evaluator, form, store_a, users):
    _visit(evaluator, store_a, form, scores=(8, 16))  # 80.0
    _visit(evaluator, store_a, form, scores=(10, 17))  # 90.0
    _visit(evaluator, store_a, form, scores=(0, 0), day=dt.date(2026, 10, 31))  # another month
    store_visit_start(actor=evaluator, store_id=store_a.pk, visited_on=TODAY, form=form)  # a draft: not counted
    measure = measure_get("quality.evaluation_score")
    (value,) = measure.compute(user=users[Role.GROUP_ADMIN], store_ids=None, period_start=dt.date(2026, 11, 1),
                               period_end=dt.date(2026, 12, 1))
    assert (value.store_id, value.value, value.denominator) == (store_a.pk, Decimal("85.0"), 2)
    card = scorecard_month(user=users[Role.GROUP_ADMIN], month=dt.date(2026, 11, 1), today=TODAY)
    assert card.measures[0].code == "quality.evaluation_score"
    row = next(r for r in card.rows if r.store == store_a)
    assert row.cells[0].value == Decimal("85.0")


def test_the_api_drafts_and_activates_a_form_and_refuses_a_second_activation(client, engineer):
    client.force_login(engineer)
    items = [{"section_zh": "接待", "text_zh": "专人接待", "max_score": 10}, {"text_zh": "工单完整", "max_score": 20}]
    made = client.post("/api/quality/evaluation-forms", {"code": "svc", "name_zh": "售后评估", "items": items},
                       content_type="application/json")
    assert made.status_code == 201 and (made.json()["code"], made.json()["status"]) == ("SVC", "draft")
    assert [i["position"] for i in made.json()["items"]] == [1, 2]
    url = f"/api/quality/evaluation-forms/{made.json()['id']}/activate"
    assert client.post(url).json()["status"] == "active"
    again = client.post(url)
    assert again.status_code == 422 and set(again.json()["errors"]) == {"status"}
    assert client.get("/api/quality/evaluation-forms").json()["count"] == 1


def test_the_page_says_why_an_active_form_cannot_be_activated_again(client, engineer, form):
    client.force_login(engineer)
    page = client.post(f"/quality/evaluation-forms/{form.pk}/activate/", follow=True)
    assert page.status_code == 200 and ("Only a draft" in page.content.decode() or "草稿" in page.content.decode())
    form.refresh_from_db()
    assert form.status == "active"


def test_the_api_refuses_a_file_that_is_not_an_image(client, evaluator, form, store_a):
    visit = store_visit_start(actor=evaluator, store_id=store_a.pk, visited_on=TODAY, form=form)
    client.force_login(evaluator)
    bad = client.post(f"/api/quality/visits/{visit.pk}/photos",
                      {"image": SimpleUploadedFile("x.png", b"not an image", content_type="image/png")})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"image"}
    assert not VisitPhoto.objects.exists()


def test_a_kpi_owning_manager_reports_an_action_done_and_an_outsider_cannot(client, evaluator, form, store_a, users):
    visit = _visit(evaluator, store_a, form)
    action = corrective_action_create(actor=evaluator, visit=visit, finding="f", action="a",
                                      owner_id=users[Role.SERVICE_ADVISOR].pk, due_on=TODAY)
    client.force_login(users[Role.SUPERVISOR])  # sees the store's actions, neither owner nor a KPI owner
    assert client.post(f"/api/quality/actions/{action.pk}/done", {"note": "做了"},
                       content_type="application/json").status_code in (403, 404)
    client.force_login(users[Role.CS_MANAGER])
    done = client.post(f"/api/quality/actions/{action.pk}/done", {"note": "已整改"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_the_page_saves_every_score_in_one_audit_event(client, evaluator, form, store_a):
    from aftercare.core.models import AuditEvent

    visit = store_visit_start(actor=evaluator, store_id=store_a.pk, visited_on=TODAY, form=form)
    first, second = form.items.order_by("position")
    client.force_login(evaluator)
    before = AuditEvent.objects.count()
    assert client.post(f"/quality/visits/{visit.pk}/", {"what": "scores", f"score_{first.pk}": 7,
                                                         f"score_{second.pk}": 18}).status_code == 302
    assert AuditEvent.objects.count() == before + 1
    assert sorted(visit.scores.values_list("score", flat=True)) == [7, 18]
