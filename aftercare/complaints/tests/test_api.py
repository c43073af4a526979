"""The complaints API: the whole workflow as the roles that do it, scoping (404), permissions (403), bad input (422)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from aftercare.complaints.models import Feedback, FeedbackAttachment
from aftercare.complaints.services.configuration import department_designee_set
from aftercare.core.models import Notification
from aftercare.core.services import api_token_create
from aftercare.followups.choices import TaskStatus
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f
from conftest import CANARY

from .canary import TINY_PDF
from .canary import plant as plant_foreign

BASE = "/api/complaints"


def api(user) -> Client:
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


def post(client: Client, url: str, body: dict | None = None):
    return client.post(url, data=body or {}, content_type="application/json")


@pytest.fixture
def mech(store_a, users):
    department = f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_MECHANICAL, name="机修车间")
    department_designee_set(actor=users[Role.CS_MANAGER], department=department, user=users[Role.DEPARTMENT_DESIGNEE])
    return department


@pytest.fixture
def customer(store_a):
    customer = f.CustomerFactory(store=store_a, name="王先生")
    customer.test_vehicle = f.owned_vehicle(customer)
    return customer


@pytest.fixture
def foreign(store_b):
    return plant_foreign(store_b, CANARY)


def _create(user, customer, **extra) -> dict:
    body = {
        "customer_id": customer.pk,
        "kind": "complaint",
        "source": "walk_in",
        "category": "mechanical",
        "severity": "high",
        "text": "同一个异响修了三次还没好",
        **extra,
    }
    response = post(api(user), f"{BASE}/feedback", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_runs_the_whole_flow_through_the_api(users, mech, customer):
    specialist, designee, manager = users[Role.CS_SPECIALIST], users[Role.DEPARTMENT_DESIGNEE], users[Role.CS_MANAGER]
    form = _create(specialist, customer, vehicle_id=customer.test_vehicle.pk, person_concerned="李师傅")
    pk = form["id"]
    assert (form["status"], form["assignee"], form["department_id"]) == ("routed", designee.username, mech.pk)
    assert form["deadline_at"] and form["severity"] == "high" and form["overdue"] is False

    dept = api(designee)
    inbox = dept.get(f"{BASE}/inbox").json()
    assert [row["id"] for row in inbox["items"]] == [pk]
    assert dept.get(f"{BASE}/feedback", {"department_id": mech.pk, "severity": "high"}).json()["count"] == 1
    assert dept.get(f"{BASE}/feedback", {"severity": "low"}).json()["count"] == 0
    assert dept.get(f"{BASE}/feedback", {"overdue": "true"}).json()["count"] == 0
    notes = dept.get("/api/notifications").json()
    assert notes["count"] == 1 and notes["items"][0]["read_at"] is None and str(pk) in notes["items"][0]["link"]
    assert post(dept, "/api/notifications/read", {"ids": [notes["items"][0]["id"]]}).json() == {"marked": 1}
    assert dept.get("/api/notifications", {"unread": "true"}).json()["count"] == 0

    draft = post(dept, f"{BASE}/feedback/{pk}/handling", {"actions_taken": "复检车辆"}).json()
    assert draft["actions_taken"] == "复检车辆" and draft["status"] == "routed"
    paused = post(dept, f"{BASE}/feedback/{pk}/pause", {"reason": "waiting_parts", "note": "等配件"}).json()
    assert paused["paused"] is True and paused["pause_reason"] == "waiting_parts"
    resumed = post(dept, f"{BASE}/feedback/{pk}/resume").json()
    assert resumed["paused"] is False
    upload = dept.post(
        f"{BASE}/feedback/{pk}/attachments", {"file": SimpleUploadedFile("报告.pdf", TINY_PDF, "application/pdf")}
    )
    assert upload.status_code == 200, upload.content
    attachment = upload.json()
    assert (attachment["name"], attachment["size"], attachment["content_type"]) == (
        "报告.pdf",
        len(TINY_PDF),
        "application/pdf",
    )
    assert [a["id"] for a in dept.get(f"{BASE}/feedback/{pk}/attachments").json()] == [attachment["id"]]
    download = dept.get(f"{BASE}/feedback/attachments/{attachment['id']}")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == TINY_PDF
    assert "attachment" in download["Content-Disposition"]

    returned = post(
        dept,
        f"{BASE}/feedback/{pk}/return",
        {"actions_taken": "更换轴承并路试", "root_cause": "轴承磨损", "result": "异响消除"},
    ).json()
    assert returned["status"] == "handled" and returned["returned_in_time"] is True
    assert returned["returned_by"] == designee.username and returned["verification_task_id"]

    cs = api(specialist)
    verified = post(cs, f"{BASE}/feedback/{pk}/verify", {"satisfied": True, "notes": "客户满意", "duration_s": 95})
    assert verified.status_code == 200, verified.content
    assert verified.json()["status"] == "verified" and verified.json()["verification_result"] == "satisfied"
    archived = post(api(manager), f"{BASE}/feedback/{pk}/archive", {"note": "归档"}).json()
    assert archived["status"] == "archived" and archived["read_only"] is True
    assert archived["archived_by"] == manager.username
    feedback = Feedback.objects.get(pk=pk)
    assert feedback.verification_task.status == TaskStatus.COMPLETED

    # archived forms are read-only: every write answers 422 naming the status
    again = post(dept, f"{BASE}/feedback/{pk}/handling", {"result": "改"})
    assert again.status_code == 422 and "status" in again.json()["errors"]
    events = [e["action"] for e in cs.get(f"{BASE}/feedback/{pk}/events").json()]
    assert events[0] == "created" and events[-1] == "archived"
    assert {"routed", "note", "paused", "resumed", "attachment", "returned", "verified"} <= set(events)
    pdf = cs.get(f"{BASE}/feedback/{pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_it_reopens_to_the_department_when_the_customer_is_not_satisfied(users, mech, customer):
    form = _create(users[Role.CS_SPECIALIST], customer)
    pk = form["id"]
    dept = api(users[Role.DEPARTMENT_DESIGNEE])
    post(dept, f"{BASE}/feedback/{pk}/return", {"actions_taken": "调整", "root_cause": "", "result": "已处理"})
    cs = api(users[Role.CS_SPECIALIST])
    why = post(cs, f"{BASE}/feedback/{pk}/verify", {"satisfied": False})
    assert why.status_code == 422 and "notes" in why.json()["errors"]
    reopened = post(cs, f"{BASE}/feedback/{pk}/verify", {"satisfied": False, "notes": "还有异响"}).json()
    assert (reopened["status"], reopened["reopen_count"], reopened["verification_result"]) == (
        "routed",
        1,
        "not_satisfied",
    )


def test_it_lets_a_supervisor_take_over_and_the_designee_report(users, mech, customer):
    pk = _create(users[Role.CS_SPECIALIST], customer)["id"]
    reported = post(api(users[Role.DEPARTMENT_DESIGNEE]), f"{BASE}/feedback/{pk}/report", {"note": "需要厂家支持"})
    assert reported.status_code == 200, reported.content
    supervisor = users[Role.SUPERVISOR]
    taken = post(api(supervisor), f"{BASE}/feedback/{pk}/take-over").json()
    assert taken["assignee"] == supervisor.username
    events = [e["action"] for e in api(supervisor).get(f"{BASE}/feedback/{pk}/events").json()]
    assert "reported" in events and "taken_over" in events


def test_it_routes_and_closes_a_form_without_a_designee(users, store_a, customer):
    f.DepartmentFactory(store=store_a, kind=DepartmentKind.CUSTOMER_SERVICE, name="客服部")
    manager = api(users[Role.CS_MANAGER])
    form = _create(users[Role.CS_SPECIALIST], customer, category="facilities", kind="suggestion")
    assert form["status"] == "new" and form["assignee"] is None
    missing = post(manager, f"{BASE}/feedback/{form['id']}/route")
    assert missing.status_code == 422 and "assignee" in missing.json()["errors"]
    routed = post(manager, f"{BASE}/feedback/{form['id']}/route", {"assignee_id": users[Role.SUPERVISOR].pk}).json()
    assert routed["status"] == "routed" and routed["assignee"] == users[Role.SUPERVISOR].username
    no_note = post(manager, f"{BASE}/feedback/{form['id']}/close", {"note": ""})
    assert no_note.status_code == 422 and "note" in no_note.json()["errors"]
    closed = post(manager, f"{BASE}/feedback/{form['id']}/close", {"note": "已转行政部参考"}).json()
    assert closed["status"] == "closed" and closed["read_only"]


def test_it_shows_the_board_by_stage(users, mech, customer):
    _create(users[Role.CS_SPECIALIST], customer)
    board = api(users[Role.CS_MANAGER]).get(f"{BASE}/board").json()
    stages = {s["status"]: s for s in board["stages"]}
    assert board["total"] == 1 and stages["routed"]["count"] == 1 and len(stages["routed"]["rows"]) == 1


HANDLE_ONLY = ("/take-over", "/report", "/handling", "/return")
ROUTES = [
    ("get", "/feedback/{id}", None),
    ("post", "/feedback/{id}/route", {}),
    ("post", "/feedback/{id}/take-over", None),
    ("post", "/feedback/{id}/report", {"note": "x"}),
    ("post", "/feedback/{id}/pause", {"reason": "waiting_parts"}),
    ("post", "/feedback/{id}/resume", {}),
    ("post", "/feedback/{id}/handling", {"result": "x"}),
    ("post", "/feedback/{id}/return", {"actions_taken": "x", "root_cause": "", "result": "x"}),
    ("post", "/feedback/{id}/verify", {"satisfied": True}),
    ("post", "/feedback/{id}/archive", {}),
    ("post", "/feedback/{id}/close", {"note": "x"}),
    ("get", "/feedback/{id}/events", None),
    ("get", "/feedback/{id}/attachments", None),
    ("get", "/feedback/{id}/pdf", None),
    ("get", "/feedback/attachments/{attachment}", None),
]


@pytest.mark.parametrize("role", [Role.CS_MANAGER, Role.DEPARTMENT_DESIGNEE, Role.SUPERVISOR, Role.STORE_MANAGER])
def test_it_answers_404_for_another_stores_forms_on_every_route(users, foreign, role):
    client = api(users[role])
    ids = {"id": foreign["feedback"].pk, "attachment": foreign["attachment_id"].pk}
    for method, template, body in ROUTES:
        url = BASE + template.format(**ids)
        response = client.get(url) if method == "get" else post(client, url, body)
        assert response.status_code in (403, 404), (url, response.status_code)
        assert CANARY not in response.content.decode("unicode_escape", "ignore")
        if role == Role.CS_MANAGER and not template.endswith(HANDLE_ONLY):  # the manager holds every other perm
            assert response.status_code == 404, (url, response.status_code)
    upload = client.post(
        f"{BASE}/feedback/{foreign['feedback'].pk}/attachments", {"file": SimpleUploadedFile("a.pdf", TINY_PDF)}
    )
    assert upload.status_code == 404
    assert (
        not FeedbackAttachment.objects.filter(feedback=foreign["feedback"])
        .exclude(pk=foreign["attachment_id"].pk)
        .exists()
    )
    for listing in ("/feedback", "/inbox", "/board"):
        assert CANARY not in client.get(BASE + listing).content.decode("unicode_escape", "ignore")
    foreign_feedback = Feedback.objects.get(pk=foreign["feedback"].pk)
    assert (foreign_feedback.status, foreign_feedback.actions_taken) == ("routed", CANARY)


def test_it_answers_404_for_another_stores_customer_department_and_notifications(users, foreign, customer):
    client = api(users[Role.CS_MANAGER])
    body = {"kind": "complaint", "source": "walk_in", "category": "sales", "text": "x"}
    assert post(client, f"{BASE}/feedback", {**body, "customer_id": foreign["feedback"].customer_id}).status_code == 404
    other_dept = {**body, "customer_id": customer.pk, "department_id": foreign["department"].pk}
    assert post(client, f"{BASE}/feedback", other_dept).status_code == 404
    assert not Feedback.objects.filter(customer=customer).exists()
    notification = foreign["notification"]
    assert post(client, "/api/notifications/read", {"ids": [notification.pk]}).json() == {"marked": 0}
    assert post(client, "/api/notifications/read").json() == {"marked": 0}
    notification.refresh_from_db()
    assert notification.read_at is None
    assert client.get("/api/notifications").json()["count"] == 0


def test_it_answers_403_to_roles_without_the_permission(users, mech, customer):
    pk = _create(users[Role.CS_SPECIALIST], customer)["id"]
    renewal = api(users[Role.RENEWAL_SPECIALIST])
    assert renewal.get(f"{BASE}/feedback").status_code == 403
    assert renewal.get(f"{BASE}/feedback/{pk}").status_code == 403
    assert renewal.get(f"{BASE}/feedback/{pk}/pdf").status_code == 403
    body = {"customer_id": customer.pk, "kind": "complaint", "source": "walk_in", "category": "sales", "text": "x"}
    assert post(api(users[Role.DEPARTMENT_DESIGNEE]), f"{BASE}/feedback", body).status_code == 403
    assert (
        post(api(users[Role.DEPARTMENT_DESIGNEE]), f"{BASE}/feedback/{pk}/verify", {"satisfied": True}).status_code
        == 403
    )
    specialist = api(users[Role.CS_SPECIALIST])
    ret = {"actions_taken": "x", "root_cause": "", "result": "x"}
    assert post(specialist, f"{BASE}/feedback/{pk}/return", ret).status_code == 403
    assert post(specialist, f"{BASE}/feedback/{pk}/archive").status_code == 403
    assert post(specialist, f"{BASE}/feedback/{pk}/take-over").status_code == 403
    assert post(api(users[Role.DEPARTMENT_DESIGNEE]), f"{BASE}/feedback/{pk}/take-over").status_code == 403
    assert Feedback.objects.get(pk=pk).status == "routed"


def test_it_answers_422_naming_the_field(users, mech, customer):
    manager = api(users[Role.CS_MANAGER])
    empty = post(
        manager,
        f"{BASE}/feedback",
        {"customer_id": customer.pk, "kind": "rant", "source": "walk_in", "category": "sales", "text": ""},
    )
    assert empty.status_code == 422
    fields = empty.json()["errors"]
    assert any(k.endswith("kind") for k in fields) and any(k.endswith("text") for k in fields)
    pk = _create(users[Role.CS_SPECIALIST], customer)["id"]
    dept = api(users[Role.DEPARTMENT_DESIGNEE])
    bad_reason = post(dept, f"{BASE}/feedback/{pk}/pause", {"reason": "lunch"})
    assert bad_reason.status_code == 422 and any(k.endswith("reason") for k in bad_reason.json()["errors"])
    no_result = post(dept, f"{BASE}/feedback/{pk}/return", {"actions_taken": "  ", "root_cause": "", "result": ""})
    assert no_result.status_code == 422 and {"actions_taken", "result"} <= set(no_result.json()["errors"])
    not_yet = post(api(users[Role.CS_SPECIALIST]), f"{BASE}/feedback/{pk}/verify", {"satisfied": True})
    assert not_yet.status_code == 422 and "status" in not_yet.json()["errors"]
    exe = dept.post(f"{BASE}/feedback/{pk}/attachments", {"file": SimpleUploadedFile("x.exe", b"MZ\x90\x00")})
    assert exe.status_code == 422 and "file" in exe.json()["errors"]
    fake = dept.post(f"{BASE}/feedback/{pk}/attachments", {"file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00")})
    assert fake.status_code == 422 and "file" in fake.json()["errors"]
    assert not FeedbackAttachment.objects.exists()
    missing = dept.post(f"{BASE}/feedback/{pk}/attachments")
    assert missing.status_code == 422
    assert Feedback.objects.get(pk=pk).status == "routed"
    assert not Notification.objects.filter(recipient=users[Role.CS_SPECIALIST]).exists()


def test_it_lists_forms_with_a_fixed_number_of_queries(users, mech, store_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(users[Role.CS_MANAGER])

    def listed() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"{BASE}/feedback")
        return response.json()["count"], len(ctx.captured_queries)

    for _ in range(2):
        _create(users[Role.CS_SPECIALIST], f.CustomerFactory(store=store_a))
    count, few = listed()
    for _ in range(4):
        _create(users[Role.CS_SPECIALIST], f.CustomerFactory(store=store_a))
    assert listed() == (count + 4, few)


def test_it_refuses_notification_ids_out_of_range_with_422(users):
    client = api(users[Role.CS_MANAGER])
    for ids in ([2**70], [0], [-(2**70)]):
        response = post(client, "/api/notifications/read", {"ids": ids})
        assert response.status_code == 422, ids
        assert "ids" in response.content.decode()


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", 'multipart/form-data; boundary="\x7f"'],
)
def test_it_answers_a_malformed_multipart_attachment_with_422_and_stores_nothing(users, mech, customer, content_type):
    pk = _create(users[Role.CS_SPECIALIST], customer)["id"]
    dept = api(users[Role.DEPARTMENT_DESIGNEE])
    body = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4\r\n--x--\r\n'
    response = dept.post(f"{BASE}/feedback/{pk}/attachments", data=body, content_type=content_type)
    assert response.status_code == 422, response.content
    assert response.json() == {"detail": "Invalid input.", "errors": {"body": ["Malformed multipart/form-data body."]}}
    assert not FeedbackAttachment.objects.exists()
