import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from aftercare.core.services import api_token_create
from aftercare.followups.models import FollowupTask, Question
from aftercare.followups.services.generation import followup_tasks_for_repair_order
from aftercare.org.choices import Role
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def api(user) -> Client:
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def task_a(store_a, rules_a):
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a, mobile="+8613812345678"))
    followup_tasks_for_repair_order(repair_order=ro)
    return FollowupTask.objects.get(subject_id=ro.pk)


def test_it_lists_the_queue_masked_and_scoped(specialist, task_a, rules_b, other_store_rows):
    followup_tasks_for_repair_order(repair_order=other_store_rows["repair_order"])
    r = api(specialist).get("/api/followups/queue")
    assert r.status_code == 200
    body = r.json()
    assert [t["id"] for t in body["items"]] == [task_a.pk]
    assert body["items"][0]["customer_mobile"] == "138****5678"
    assert "CANARY" not in r.content.decode()


def test_it_claims_attempts_and_submits_a_sheet(specialist, task_a, users):
    client = api(specialist)
    assert post(client, f"/api/followups/tasks/{task_a.pk}/claim").json()["status"] == "claimed"
    other = f.UserFactory(username="spec2")
    f.StaffFactory(user=other, group=task_a.store.group, role=Role.CS_SPECIALIST, stores=[task_a.store])
    assert post(api(other), f"/api/followups/tasks/{task_a.pk}/claim").status_code == 409

    r = post(client, f"/api/followups/tasks/{task_a.pk}/attempts", {"outcome": "busy", "duration_s": 5})
    assert r.status_code == 200 and r.json()["task_status"] == "claimed"
    bad = post(client, f"/api/followups/tasks/{task_a.pk}/attempts", {"outcome": "call_back"})
    assert bad.status_code == 422 and "call_back_at" in bad.json()["errors"]

    template = client.get(f"/api/followups/templates/{task_a.template_id}").json()
    answers = {}
    for factor in template["factors"]:
        for q in factor["questions"]:
            answers[str(q["id"])] = {"scale_5": 5, "scale_10": 10, "yes_no": True, "single_choice": "yes"}.get(
                q["type"], ""
            )
    first = next(iter(answers))
    wrong = post(client, f"/api/followups/tasks/{task_a.pk}/sheet", {"answers": {**answers, first: 99}})
    assert wrong.status_code == 422 and f"answers.{first}" in wrong.json()["errors"]
    ok = post(client, f"/api/followups/tasks/{task_a.pk}/sheet", {"answers": answers, "dissatisfied": True})
    assert ok.status_code == 200, ok.content
    assert ok.json()["score_total"] == "1000.00" and ok.json()["dissatisfied"] is True
    task_a.refresh_from_db()
    assert task_a.status == "completed"


def test_it_answers_404_for_another_stores_task(specialist, rules_b, other_store_rows):
    followup_tasks_for_repair_order(repair_order=other_store_rows["repair_order"])
    task = FollowupTask.objects.get()
    client = api(specialist)
    assert client.get(f"/api/followups/tasks/{task.pk}").status_code == 404
    assert post(client, f"/api/followups/tasks/{task.pk}/claim").status_code == 404
    assert post(client, f"/api/followups/tasks/{task.pk}/attempts", {"outcome": "busy"}).status_code == 404
    assert post(client, f"/api/followups/tasks/{task.pk}/sheet", {"answers": {}}).status_code == 404
    task.refresh_from_db()
    assert task.status == "open" and task.claimed_by is None


def test_it_lists_rules_of_the_callers_stores(specialist, rules_a, rules_b):
    r = api(specialist).get("/api/followups/rules")
    assert r.status_code == 200
    assert {x["store"] for x in r.json()} == {"A01"}
    assert {x["code"]: x["is_active"] for x in r.json()} == {
        "SSI": True,
        "CSI": True,
        "TRACK1": False,
        "TRACK2": False,
        "VERIFY": True,
        "FTF": True,
        "RENEWAL": True,
        "CARE": True,
        "CAMPAIGN": True,
        "RECALL": True,
    }


def test_it_refuses_the_queue_to_roles_without_follow_up_work(users, task_a):
    assert api(users[Role.DEPARTMENT_DESIGNEE]).get("/api/followups/queue").status_code == 403


def test_it_reports_the_return_visit_rate(manager, specialist, task_a):
    with time_machine.travel(task_a.due_at + dt.timedelta(days=1)):
        r = api(manager).get(
            "/api/followups/return-visit-rate", {"month": task_a.due_at.astimezone(SH).strftime("%Y-%m")}
        )
    assert r.status_code == 200
    assert r.json() == [
        {"key": str(task_a.store_id), "due": 1, "in_time": 0, "unreachable": 0, "refused": 0, "rate": "0.0"}
    ]
    assert Question.objects.exists()
