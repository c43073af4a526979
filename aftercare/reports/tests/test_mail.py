"""Reports by mail (issue 19; docs/reports.md, "Reports by mail"): content from hand-built rows, PDF with Chinese
text, XLSX, the job never mailing a period twice (reruns, a killed run), re-send with a reason (audited), the
archive pages and API, scoping."""

import io
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.reports.mail import services
from aftercare.reports.mail.content import report_content
from aftercare.reports.mail.periods import last_ended_period, period_of
from aftercare.reports.mail.render import report_xlsx
from aftercare.reports.mail.selectors import report_list
from aftercare.reports.models import Report, ReportDelivery
from aftercare.testing import factories as f

from .mail_world import MONTH, NOW, WEEK, build

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_frozen")]

FAKE_PDF = b"%PDF-1.4 fake\n"


@pytest.fixture
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(store_a, users):
    return build(store_a, users)


@pytest.fixture
def fast_pdf(monkeypatch):
    """WeasyPrint takes a second a report; the job tests count e-mails, not pages."""
    monkeypatch.setattr(services, "report_pdf", lambda content: FAKE_PDF)


def test_it_knows_its_periods():
    import datetime as dt

    assert period_of("weekly", dt.date(2026, 3, 4)) == (dt.date(2026, 3, 2), dt.date(2026, 3, 9))
    assert last_ended_period("weekly", dt.date(2026, 3, 2)) == WEEK
    assert last_ended_period("weekly", dt.date(2026, 3, 8)) == WEEK  # Sunday: this week has not ended
    assert last_ended_period("monthly", dt.date(2026, 3, 1)) == MONTH
    assert last_ended_period("monthly", dt.date(2026, 1, 15)) == (dt.date(2025, 12, 1), dt.date(2026, 1, 1))


def test_it_reports_the_departments_complaints_followups_and_measures(store_a, world):
    c = report_content(store=store_a, department=world["mech"], kind="weekly", period_start=WEEK[0],
                       period_end=WEEK[1])
    assert c.complaints | {} == {"total": 3, "complaint": 3, "grievance": 0, "suggestion": 0, "in_time": 1,
                                 "late": 1, "overdue": 1, "open": 0, "timeliness": c.complaints["timeliness"]}
    assert str(c.complaints["timeliness"]) == "33.3"
    assert {r["customer"]: r["state"] for r in c.complaint_rows} == {"李准时": "in_time", "赵超期": "overdue",
                                                                      "钱迟到": "late"}
    # the mechanical repair's call, not the body repair's or the sale's
    assert c.followups["closed"] == 1 and c.followups["completed"] == 1
    assert c.followups["sheets"] == 1 and c.followups["dissatisfied"] == 1
    assert [(r["customer"], r["notes"]) for r in c.dissatisfied_rows] == [("郑不满", "等待时间太长")]
    codes = [r["code"] for r in c.kpi_rows]
    assert "complaints.timeliness" in codes and "renewals.renewal_rate" not in codes
    assert c.kpi_month.isoformat() == "2026-03-01"  # the month of the week's last day (Sunday 1 March), to date
    timeliness = next(r for r in c.kpi_rows if r["code"] == "complaints.timeliness")
    assert timeliness["target"] is not None  # the catalogue's default target


def test_it_gives_the_store_manager_the_whole_store_and_the_month(store_a, world):
    week = report_content(store=store_a, department=None, kind="weekly", period_start=WEEK[0], period_end=WEEK[1])
    assert week.complaints["total"] == 4  # the sale's complaint too
    assert week.followups["closed"] == 3 and week.followups["unreachable"] == 1
    assert {r["code"] for r in week.kpi_rows} >= {"complaints.timeliness", "renewals.renewal_rate"}
    month = report_content(store=store_a, department=world["mech"], kind="monthly", period_start=MONTH[0],
                           period_end=MONTH[1])
    assert month.complaints["total"] == 4  # February: the early one as well
    assert "周二月" in {r["customer"] for r in month.complaint_rows}
    assert month.kpi_month.isoformat() == "2026-02-01"
    sales = report_content(store=store_a, department=world["sales"], kind="weekly", period_start=WEEK[0],
                           period_end=WEEK[1])
    assert sales.complaints["total"] == 1 and sales.followups["closed"] == 1 and sales.followups["dissatisfied"] == 0


def test_it_lists_the_open_and_just_verified_rectification_actions(store_a, users, world):
    import datetime as dt

    from aftercare.reports.services.actions import action_complete, action_create, action_verify

    manager, designee = users[Role.CS_MANAGER], world["designee"]
    with time_machine.travel(NOW - dt.timedelta(days=10), tick=False):  # filed in February
        overdue = action_create(actor=manager, store_id=store_a.pk, title="返修车复检", source="complaint_category",
                                owner=designee, due_date=dt.date(2026, 2, 27))
        mine = action_create(actor=manager, store_id=store_a.pk, title="回访话术培训", source="weekly_meeting",
                             owner=manager, due_date=dt.date(2026, 3, 20))
        closed = action_create(actor=manager, store_id=store_a.pk, title="休息区改造", source="ssi_factor",
                               owner=designee, due_date=dt.date(2026, 2, 20))
        action_complete(actor=designee, action_id=closed.pk, note="已改造")
        action_verify(actor=manager, action_id=closed.pk, effective=True, note="")
    dept = report_content(store=store_a, department=world["mech"], kind="weekly", period_start=WEEK[0],
                          period_end=WEEK[1])
    assert [(r["title"], r["overdue"]) for r in dept.action_rows] == [("返修车复检", True)]  # the department's own
    whole = report_content(store=store_a, department=None, kind="weekly", period_start=WEEK[0], period_end=WEEK[1])
    assert {r["title"] for r in whole.action_rows} == {"返修车复检", "回访话术培训"}  # verified before the week: gone
    assert whole.summary()["actions_overdue"] == 1 and mine.pk and overdue.pk
    book = load_workbook(io.BytesIO(report_xlsx(whole)))
    assert "返修车复检" in [c.value for row in book.worksheets[-1].iter_rows() for c in row]


def test_it_renders_a_pdf_with_chinese_text(store_a, world):
    pypdf = pytest.importorskip("pypdf")
    report = services.report_generate(store=store_a, department=world["mech"], kind="weekly", day=WEEK[0])
    data = report.pdf.read()
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))
    for word in ("机修部", "赵超期", "郑不满", store_a.name):
        assert word in text, word


def test_it_writes_the_xlsx_through_core_exports(store_a, world):
    c = report_content(store=store_a, department=world["mech"], kind="weekly", period_start=WEEK[0],
                       period_end=WEEK[1])
    book = load_workbook(io.BytesIO(report_xlsx(c)))
    assert len(book.sheetnames) == 5  # summary, complaints, dissatisfied, measures, actions
    complaints = list(book.worksheets[1].values)
    assert len(complaints) == 4 and {row[6] for row in complaints[1:]} == {"李准时", "赵超期", "钱迟到"}
    dissatisfied = list(book.worksheets[2].values)
    assert dissatisfied[1][1] == "郑不满"
    summary = dict(book.worksheets[0].values)
    assert 3 in summary.values()


def test_it_generates_a_period_once(store_a, world, fast_pdf):
    one = services.report_generate(store=store_a, department=None, kind="weekly", day=WEEK[0])
    two = services.report_generate(store=store_a, department=None, kind="weekly", day=WEEK[1].replace(day=1))
    assert one.pk == two.pk and Report.objects.count() == 1
    assert one.summary["complaints"] == 4
    with pytest.raises(ValidationError):
        services.report_generate(store=store_a, department=None, kind="weekly", day=WEEK[1])  # still running


def test_it_mails_each_due_report_once_however_often_the_job_runs(store_a, users, world, fast_pdf):
    call_command("reports_send", stdout=io.StringIO())
    # mechanical (its designee) and the store manager, weekly and monthly; sales has nobody to send to
    assert len(mail.outbox) == 4
    assert Report.objects.filter(store=store_a).count() == 6
    assert Report.objects.filter(sent_at__isnull=False).count() == 4
    to = sorted((m.to[0], m.attachments[0][0]) for m in mail.outbox)
    assert to[0][0] in {users[Role.DEPARTMENT_DESIGNEE].email, users[Role.STORE_MANAGER].email}
    assert all(len(m.attachments) == 2 for m in mail.outbox)
    out = io.StringIO()
    call_command("reports_send", stdout=out)
    assert len(mail.outbox) == 4 and "0 sent" in out.getvalue()
    assert ReportDelivery.objects.count() == 4
    # the sales department gets a designee: its reports go out once, the others are not sent again
    sales_head = f.UserFactory(username="sales_head")
    f.StaffFactory(user=sales_head, group=store_a.group, role=Role.SUPERVISOR, stores=[store_a],
                   department=world["sales"])
    call_command("reports_send", stdout=io.StringIO())
    assert len(mail.outbox) == 6 and {m.to[0] for m in mail.outbox[4:]} == {sales_head.email}


def test_it_finishes_a_killed_run_without_sending_twice(store_a, users, world, fast_pdf, monkeypatch):
    real_xlsx, calls = services.report_xlsx, []

    def dies_on_the_third(content):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed while generating
        return real_xlsx(content)

    monkeypatch.setattr(services, "report_xlsx", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        call_command("reports_send", stdout=io.StringIO())
    sent_before = len(mail.outbox)
    assert 0 < sent_before < 4
    call_command("reports_send", stdout=io.StringIO())
    assert len(mail.outbox) == 4  # as one clean run
    assert sorted(ReportDelivery.objects.values_list("report_id", flat=True)) == sorted(
        Report.objects.filter(sent_at__isnull=False).values_list("pk", flat=True))


def test_it_never_sends_again_a_report_claimed_by_a_killed_run(store_a, users, world, fast_pdf, monkeypatch):
    real_mail = services._mail

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # killed after the claim, before the e-mail left

    monkeypatch.setattr(services, "_mail", killed)
    with pytest.raises(KeyboardInterrupt):
        call_command("reports_send", stdout=io.StringIO())
    monkeypatch.setattr(services, "_mail", real_mail)
    claimed = Report.objects.get(sent_at__isnull=False)
    call_command("reports_send", stdout=io.StringIO())
    assert len(mail.outbox) == 3  # the claimed one is not mailed again by the job
    assert not claimed.deliveries.exists()
    # the archive says so, and a user sends it on purpose
    client = Client()
    client.force_login(users[Role.STORE_MANAGER])
    page = client.get(f"/reports/archive/{claimed.pk}/").content.decode()
    assert 'id="report-resend"' in page
    response = client.post(f"/reports/archive/{claimed.pk}/resend/", {"reason": "上次发送中断"})
    assert response.status_code == 302 and len(mail.outbox) == 4


def test_it_resends_with_a_reason_and_audits_it(store_a, users, world, fast_pdf):
    call_command("reports_send", stdout=io.StringIO())
    report = Report.objects.get(department=world["mech"], kind="weekly")
    manager = users[Role.CS_MANAGER]
    with pytest.raises(ValidationError):
        services.report_resend(actor=manager, report=report, reason="  ")
    with pytest.raises(PermissionDenied):
        services.report_resend(actor=users[Role.DEPARTMENT_DESIGNEE], report=report, reason="再发一次")
    rows = services.report_resend(actor=manager, report=report, reason="设计师没收到")
    assert len(mail.outbox) == 5 and mail.outbox[-1].to == [world["designee"].email]
    assert "设计师没收到" in mail.outbox[-1].body
    assert [(r.resent_by, r.reason) for r in rows] == [(manager, "设计师没收到")]
    event = AuditEvent.objects.filter(object_type="reports.report", object_id=str(report.pk),
                                      actor=manager).get()
    assert event.detail["reason"] == "设计师没收到" and event.detail["resent"] == 1
    assert report.deliveries.count() == 2


def test_it_shows_the_archive_by_role(store_a, store_b, users, world, fast_pdf):
    call_command("reports_send", stdout=io.StringIO())
    mech = Report.objects.get(department=world["mech"], kind="weekly")
    sales = Report.objects.get(department=world["sales"], kind="weekly")
    manager = Client()
    manager.force_login(users[Role.STORE_MANAGER])
    page = manager.get("/reports/archive/")
    assert page.status_code == 200 and f'data-report="{sales.pk}"' in page.content.decode()
    assert manager.get(f"/reports/archive/{mech.pk}/pdf/").status_code == 200
    xlsx = manager.get(f"/reports/archive/{mech.pk}/xlsx/")
    assert b"".join(xlsx.streaming_content)[:2] == b"PK"
    filtered = manager.get("/reports/archive/", {"department": "manager", "kind": "monthly"}).content.decode()
    assert f'data-report="{mech.pk}"' not in filtered and filtered.count("data-report=") == 1
    # the mechanical designee: their department's reports only
    designee = Client()
    designee.force_login(world["designee"])
    page = designee.get("/reports/archive/").content.decode()
    assert f'data-report="{mech.pk}"' in page and f'data-report="{sales.pk}"' not in page
    assert designee.get(f"/reports/archive/{sales.pk}/").status_code == 404
    assert designee.post(f"/reports/archive/{mech.pk}/resend/", {"reason": "x"}).status_code == 403
    fresh = type(world["designee"]).objects.get(pk=world["designee"].pk)  # the staff row's department, as stored
    assert set(report_list(user=fresh).values_list("department_id", flat=True)) == {world["mech"].pk}
    # a specialist has no archive
    specialist = Client()
    specialist.force_login(users[Role.CS_SPECIALIST])
    assert specialist.get("/reports/archive/").status_code == 403


def test_it_answers_404_for_another_stores_report(store_a, store_b, users, world, fast_pdf):
    other = services.report_generate(store=store_b, department=None, kind="weekly", day=WEEK[0])
    client = Client()
    client.force_login(users[Role.STORE_MANAGER])
    for url in (f"/reports/archive/{other.pk}/", f"/reports/archive/{other.pk}/pdf/",
                f"/api/reports/mail/reports/{other.pk}", f"/api/reports/mail/reports/{other.pk}/xlsx"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/reports/archive/{other.pk}/resend/", {"reason": "x"}).status_code == 404
    assert client.get("/api/reports/mail/reports").json()["items"] == []


def test_it_lists_and_downloads_through_the_api(store_a, users, world, fast_pdf):
    call_command("reports_send", stdout=io.StringIO())
    client = Client()
    client.force_login(users[Role.CS_MANAGER])
    items = client.get("/api/reports/mail/reports", {"kind": "weekly", "store_manager": True}).json()["items"]
    assert len(items) == 1 and items[0]["department_id"] is None and items[0]["summary"]["complaints"] == 4
    one = client.get(f"/api/reports/mail/reports/{items[0]['id']}").json()
    assert one["deliveries"][0]["email"] == users[Role.STORE_MANAGER].email
    pdf = client.get(f"/api/reports/mail/reports/{items[0]['id']}/pdf")
    assert b"".join(pdf.streaming_content) == FAKE_PDF


def test_it_generates_a_past_period_on_request(store_a, users, world, fast_pdf):
    client = Client()
    client.force_login(users[Role.CS_MANAGER])
    response = client.post("/reports/archive/generate/", {"store": store_a.pk, "department": world["sales"].pk,
                                                          "kind": "monthly", "day": "2026-01-15"})
    report = Report.objects.get()
    assert response.status_code == 302 and (report.department, report.period_start.isoformat()) == (
        world["sales"], "2026-01-01")
    assert report.sent_at is None and not mail.outbox  # generated, not mailed
    # a running period, or another store's, is refused without a 500
    assert client.post("/reports/archive/generate/", {"store": store_a.pk, "department": "", "kind": "weekly",
                                                      "day": "2026-03-02"}).status_code == 302
    assert Report.objects.count() == 1
    assert client.post("/reports/archive/generate/", {"store": 999999, "kind": "weekly",
                                                      "day": "2026-01-01"}).status_code == 302
    assert Report.objects.count() == 1


def test_it_runs_daily_at_half_past_seven_as_a_scheduled_job_and_a_task(store_a, users, world, fast_pdf):
    from aftercare.core.schedule import job_get
    from aftercare.reports.mail.tasks import reports_send_daily

    job = job_get("reports_send")
    assert job is not None and job.at == ("07:30",) and not job.hourly and job.app == "reports"
    assert reports_send_daily.call() == {"generated": 6, "sent": 4, "deliveries": 4, "unsent": 2}
    assert reports_send_daily.call() == {"generated": 0, "sent": 0, "deliveries": 0, "unsent": 2}
    assert len(mail.outbox) == 4
