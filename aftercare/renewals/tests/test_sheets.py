"""The renewal follow-up sheet (续保跟进表, seed 000 p13): the XLSX export in the seed's column order (phones masked
for roles that may not reveal, premiums only for `renewal.premium`, audited, text never a formula) and the import
of a store's own sheet (contacts as history, outcomes, idempotent, errors by row and column)."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from aftercare.core.choices import AuditAction
from aftercare.core.models import AuditEvent
from aftercare.customers.choices import LossReason
from aftercare.followups.models import CallLog, FollowupTask
from aftercare.org import permissions
from aftercare.org.choices import Role
from aftercare.org.permissions import Perm
from aftercare.renewals.choices import CaseState, ContactChannel, ContactResult, Outcome, Segment
from aftercare.renewals.models import RenewalCase, RenewalContact, RenewalGift
from aftercare.renewals.selectors import renewal_case_filter, renewal_case_list
from aftercare.renewals.services.generation import renewal_contacts_plan
from aftercare.renewals.services.sheets import export_header, renewal_sheet_export_xlsx, renewal_sheet_import
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)):
        yield


SHANGHAI_NOON = dt.time(4, tzinfo=dt.UTC)  # 12:00 in Shanghai


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, SHANGHAI_NOON)


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def read(content: bytes) -> list[list]:
    """The sheet's values, after checking that no cell is a formula."""
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    return [[c.value for c in row] for row in ws.iter_rows()]


def without(monkeypatch, role: str, perm: str) -> None:
    """Take `perm` from `role` (no role works renewals today without phones and premiums)."""
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, role, permissions.ROLE_PERMISSIONS[role] - {perm})


def make_case(store, *, name="张三", mobile="+8613812345678", plate="粤A12345", model="英朗",
              expiry=dt.date(2026, 12, 31), **kwargs) -> RenewalCase:
    customer = f.CustomerFactory(store=store, name=name, mobile=mobile)
    vehicle = f.owned_vehicle(customer, plate=plate, model=model)
    fields = {"segment": Segment.RENEWED_HERE, "expiry_estimated": False, **kwargs}
    return RenewalCase.objects.create(store=store, customer=customer, vehicle=vehicle, expiry_date=expiry, **fields)


@pytest.fixture
def worked_case(store_a, users):
    """A case with four contacts (a quote and a gift on the third), renewed here."""
    case = make_case(store_a, holder=users[Role.RENEWAL_SPECIALIST])
    gift = RenewalGift.objects.create(store=store_a, name="机油保养券", cost=Decimal("180.00"))
    results = [ContactResult.NO_ANSWER, ContactResult.THINKING, ContactResult.INTERESTED, ContactResult.CALL_BACK]
    for n, result in enumerate(results, start=1):
        day = dt.date(2026, 11, 1) + dt.timedelta(days=3 * n)
        effective = result != ContactResult.NO_ANSWER
        RenewalContact.objects.create(
            store=store_a, case=case, number=n, due_on=day, channel=ContactChannel.PHONE, result=result,
            effective=effective, contacted_at=at(day) if effective else None,
            quote_insurer="中国人保" if n == 3 else "", quote_premium=Decimal("4800.00") if n == 3 else None,
            quote_discount=Decimal("5") if n == 3 else None, gift=gift if n == 3 else None,
            gift_cost=gift.cost if n == 3 else None,
        )
    RenewalCase.objects.filter(pk=case.pk).update(
        state=CaseState.RENEWED_HERE, outcome=Outcome.RENEWED_HERE, outcome_insurer="中国人保",
        outcome_premium=Decimal("4800.00"), outcome_policy_number="P2027", closed_at=timezone.now(),
    )
    return case


# ---- export ----------------------------------------------------------------------------------------------------


def test_it_exports_the_cases_in_the_seeds_column_order(worked_case, users):
    manager = users[Role.CS_MANAGER]
    content = renewal_sheet_export_xlsx(actor=manager, cases=renewal_case_list(user=manager), filters={})
    header, row = read(content)
    assert header == export_header()
    # the seed's columns, in its order: customer, phone, model, plate, expiry, 1st–4th contact, renewed, reason
    seed = ["Customer", "Phone", "Model", "Plate", "Expiry date", "Contact 1 date", "Contact 2 date",
            "Contact 3 date", "Contact 4 date", "Renewed", "Reason"]
    assert [h for h in header if h in seed] == seed
    value = dict(zip(header, row, strict=True))
    assert value["Customer"] == "张三" and value["Phone"] == "13812345678"
    assert value["Model"] == "英朗" and value["Plate"] == "粤A12345"
    assert value["Expiry date"].date() == dt.date(2026, 12, 31) and value["Expiry estimated"] == "no"
    assert value["Segment"] == Segment.RENEWED_HERE.label
    assert value["Contact 1 date"].date() == dt.date(2026, 11, 4) and value["Contact 1 result"] == "No answer"
    assert value["Contact 3 channel"] == "Phone" and value["Contact 3 result"] == "Interested, quote given"
    assert value["Contact 3 quote"] == "中国人保 ¥4,800.00 -5%"
    assert value["Contact 3 gift"] == "机油保养券 (¥180.00)"
    assert value["Contact 4 result"] == "Call back later"
    assert value["Renewed"] == "yes" and value["Insurer"] == "中国人保" and value["Premium"] == 4800
    assert value["Holder"] == "renewal_specialist_a" and value["VIN"] == worked_case.vehicle.vin


def test_it_masks_phones_for_a_role_that_may_not_reveal_them(worked_case, users, monkeypatch):
    specialist = users[Role.RENEWAL_SPECIALIST]
    content = renewal_sheet_export_xlsx(actor=specialist, cases=renewal_case_list(user=specialist), filters={})
    assert read(content)[1][1] == "13812345678"
    without(monkeypatch, Role.RENEWAL_SPECIALIST, Perm.CUSTOMER_REVEAL_PHONE)
    content = renewal_sheet_export_xlsx(actor=specialist, cases=renewal_case_list(user=specialist), filters={})
    assert read(content)[1][1] == "138****5678"
    masked = AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("pk")
    assert [e.detail["phones_masked"] for e in masked] == [False, True]


def test_it_leaves_premiums_quotes_and_gift_costs_blank_without_the_premium_permission(worked_case, users,
                                                                                        monkeypatch):
    specialist = users[Role.RENEWAL_SPECIALIST]
    without(monkeypatch, Role.RENEWAL_SPECIALIST, Perm.RENEWAL_PREMIUM)
    header, row = read(renewal_sheet_export_xlsx(actor=specialist, cases=renewal_case_list(user=specialist)))
    value = dict(zip(header, row, strict=True))
    assert value["Premium"] is None
    assert value["Contact 3 quote"] == "中国人保" and value["Contact 3 gift"] == "机油保养券"
    assert "4800" not in str(row) and "4,800" not in str(row) and "180" not in str(row)


def test_it_audits_every_export_with_its_filters_and_row_count(worked_case, users, store_a):
    make_case(store_a, plate="粤A22222", mobile="+8613812340000", expiry=dt.date(2027, 1, 15))
    response = browser(users[Role.CS_MANAGER]).get("/renewals/export.xlsx", {"month": "2026-12", "holder": ""})
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert len(read(response.content)) == 2  # the header and the December case
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == users[Role.CS_MANAGER] and event.object_type == "renewals.renewalcase"
    assert event.detail == {"report": "renewal_sheet", "rows": 1, "phones_masked": False, "premiums": True,
                            "month": "2026-12"}


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://x","y")', "+cmd", "-1+1", "@SUM(1)"])
def test_it_writes_formula_looking_text_as_text(store_a, users, payload):
    case = make_case(store_a, name=payload, model=payload)
    RenewalContact.objects.create(store=store_a, case=case, number=1, due_on=dt.date(2026, 11, 10),
                                  result=ContactResult.THINKING, effective=True, quote_insurer=payload)
    manager = users[Role.CS_MANAGER]
    header, row = read(renewal_sheet_export_xlsx(actor=manager, cases=renewal_case_list(user=manager)))
    value = dict(zip(header, row, strict=True))
    assert value["Customer"] == "'" + payload and value["Model"] == "'" + payload
    assert value["Contact 1 quote"] == "'" + payload


def test_it_filters_the_export_as_the_list_page_does(store_a, users):
    me = users[Role.RENEWAL_SPECIALIST]
    mine = make_case(store_a, plate="粤A10001", mobile="+8613812340001", holder=me)
    lapsed = make_case(store_a, plate="粤A10002", mobile="+8613812340002", segment=Segment.LAPSED_LOST,
                       state=CaseState.LAPSED)
    january = make_case(store_a, plate="粤A10003", mobile="+8613812340003", expiry=dt.date(2027, 1, 5))

    def ids(**params):
        return set(renewal_case_filter(user=me, params=params).values_list("pk", flat=True))

    assert ids() == {mine.pk, lapsed.pk, january.pk}
    assert ids(month="2026-12") == {mine.pk, lapsed.pk}
    assert ids(segment=Segment.LAPSED_LOST) == {lapsed.pk}
    assert ids(state=CaseState.OPEN) == {mine.pk, january.pk}
    assert ids(holder="me") == {mine.pk} and ids(holder=str(me.pk)) == {mine.pk}
    assert ids(holder="none") == {lapsed.pk, january.pk}
    assert ids(store=str(store_a.pk), month="2027-01") == {january.pk}


def test_it_answers_a_bad_filter_with_400_naming_it_and_another_store_with_404(store_a, store_b, users):
    client = browser(users[Role.CS_MANAGER])
    response = client.get("/renewals/export.xlsx", {"month": "2026-13", "holder": "someone"})
    assert response.status_code == 400
    assert b"month" in response.content and b"holder" in response.content
    assert client.get("/renewals/export.xlsx", {"store": store_b.pk}).status_code == 404
    assert client.get("/renewals/export.xlsx", {"month": "9999-12"}).status_code == 400  # no 500 at the edge
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT, detail__month="2026-13").exists()


def test_it_refuses_the_export_to_roles_without_renewal_work(users):
    assert browser(users[Role.CS_SPECIALIST]).get("/renewals/export.xlsx").status_code == 403


def test_it_exports_many_cases_in_the_same_number_of_queries_as_few(store_a, users):
    manager = users[Role.CS_MANAGER]
    client = browser(manager)

    def add(n, start):
        for i in range(n):
            case = make_case(store_a, plate=f"粤A3{start + i:04d}", mobile=f"+86138{start + i:08d}",
                             holder=manager)
            RenewalContact.objects.create(store=store_a, case=case, number=1, due_on=dt.date(2026, 11, 10),
                                          result=ContactResult.THINKING, effective=True)

    add(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/renewals/export.xlsx").status_code == 200
    add(10, 100)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/renewals/export.xlsx").status_code == 200
    assert len(read(client.get("/renewals/export.xlsx").content)) == 13
    assert len(many) == len(few)


# ---- import ----------------------------------------------------------------------------------------------------

STORE_HEADER = ["客户姓名", "联系电话", "车型", "车牌", "保险到期日", "第1次联系", "第2次联系", "第3次联系",
                "第4次联系", "是否续保", "原因分析"]


def sheet(rows, header=STORE_HEADER, title_row=True) -> io.BytesIO:
    """A store's follow-up sheet as they keep it: a title row, the header, one row per policy."""
    wb = Workbook()
    ws = wb.active
    if title_row:
        ws.append(["12年续保跟进表"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "续保跟进表.xlsx"
    return out


def imported(store, user, content):
    if hasattr(content, "seek"):
        content.seek(0)
    return renewal_sheet_import(actor=user, store=store, file=content, filename="sheet.xlsx")


def test_it_imports_a_stores_sheet_with_four_contacts_and_the_outcome(store_a, users):
    customer = f.CustomerFactory(store=store_a, name="李四", mobile="+8613900001111")
    vehicle = f.owned_vehicle(customer, plate="粤B54321", model="君威")
    lost = f.CustomerFactory(store=store_a, name="王五", mobile="+8613900002222")
    f.owned_vehicle(lost, plate="粤B66666", model="GL8")
    content = sheet([
        ["李四", "13900001111", "君威", "粤B54321", dt.datetime(2026, 12, 20), "2026-10-20 电话未接",
         "10/25 客户考虑中", "11月2日 微信 已报价 4800", "11.10 同意续保", "是", ""],
        ["王五", "13900002222", "GL8", "粤B 66666", "2026/12/25", "2026-11-01 占线", "", "", "", "否",
         "价格太贵，别家便宜"],
    ])
    manager = users[Role.CS_MANAGER]
    result = imported(store_a, manager, content)
    assert (result.rows, result.imported_rows, result.rejected_rows, result.errors) == (2, 2, 0, [])
    assert result.cases_created == 2 and result.contacts_created == 5 and result.outcomes_recorded == 2

    case = RenewalCase.objects.get(vehicle=vehicle)
    assert case.expiry_date == dt.date(2026, 12, 20) and not case.expiry_estimated and case.policy is None
    assert case.segment == Segment.INSURED_ELSEWHERE
    assert case.state == CaseState.RENEWED_HERE and case.outcome == Outcome.RENEWED_HERE
    assert case.outcome_by == manager
    contacts = list(case.contacts.order_by("number"))
    assert [(k.number, k.due_on, k.result, k.channel, k.effective) for k in contacts] == [
        (1, dt.date(2026, 10, 20), ContactResult.NO_ANSWER, ContactChannel.PHONE, False),
        (2, dt.date(2026, 10, 25), ContactResult.THINKING, ContactChannel.PHONE, True),
        (3, dt.date(2026, 11, 2), ContactResult.INTERESTED, ContactChannel.WECHAT, True),
        (4, dt.date(2026, 11, 10), ContactResult.INTERESTED, ContactChannel.PHONE, True),
    ]
    assert all(k.imported and k.task_id is None and k.call_id is None and k.handler_id is None for k in contacts)
    assert contacts[0].notes == "电话未接" and contacts[2].notes == "微信 已报价 4800"
    assert contacts[1].contacted_at == at(dt.date(2026, 10, 25)) and contacts[0].contacted_at is None
    assert (case.contacts_made, case.attempts, case.last_contact_at) == (3, 4, at(dt.date(2026, 11, 10)))

    lost_case = RenewalCase.objects.get(customer=lost)
    # "too dear, cheaper elsewhere": renewed elsewhere, for the price
    assert lost_case.state == CaseState.RENEWED_ELSEWHERE and lost_case.outcome_reason == LossReason.PRICE
    assert lost_case.outcome_reason_text == "价格太贵,别家便宜"  # full-width punctuation as half-width (NFKC)
    assert lost_case.contacts.get().result == ContactResult.BUSY
    # history only: no follow-up task, no call
    assert not FollowupTask.objects.exists() and not CallLog.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert event.store_id == store_a.pk and event.detail["rows"] == 2 and event.detail["contacts_created"] == 5


def test_it_creates_nothing_twice_when_the_same_file_is_imported_again(store_a, users):
    customer = f.CustomerFactory(store=store_a, mobile="+8613900001111")
    f.owned_vehicle(customer, plate="粤B54321", model="君威")
    content = sheet([["李四", "13900001111", "君威", "粤B54321", "2026-12-20", "10/20 未接", "10/25 考虑",
                      "", "", "否", "卖车了"]])
    manager = users[Role.CS_MANAGER]
    first = imported(store_a, manager, content)
    again = imported(store_a, manager, content)
    assert (first.cases_created, first.contacts_created, first.outcomes_recorded) == (1, 2, 1)
    assert (again.cases_created, again.cases_found, again.contacts_created, again.contacts_unchanged,
            again.outcomes_recorded, again.imported_rows) == (0, 1, 0, 2, 0, 1)
    assert RenewalCase.objects.count() == 1 and RenewalContact.objects.count() == 2
    assert RenewalCase.objects.get().outcome_reason == LossReason.SOLD_CAR
    # a later version of the sheet with one more contact adds only that one
    content = sheet([["李四", "13900001111", "君威", "粤B54321", "2026-12-20", "10/20 未接", "10/25 考虑",
                      "11/3 不需要", "", "否", "卖车了"]])
    assert imported(store_a, manager, content).contacts_created == 1
    assert list(RenewalContact.objects.values_list("number", flat=True).order_by("number")) == [1, 2, 3]


def test_it_rejects_a_row_with_a_bad_date_or_an_unknown_plate_naming_row_and_column_and_keeps_the_others(
    store_a, store_b, users
):
    good = f.CustomerFactory(store=store_a, mobile="+8613900001111")
    f.owned_vehicle(good, plate="粤B54321", model="君威")
    elsewhere = f.CustomerFactory(store=store_b)
    f.owned_vehicle(elsewhere, plate="粤B77777")  # another store's vehicle is not one of this store's
    content = sheet([
        ["甲", "", "", "粤B99999", "2026-12-20", "", "", "", "", "", ""],
        ["乙", "", "", "粤B54321", "2026-12-20", "2026-02-30 未接", "", "", "", "", ""],
        ["丙", "", "", "粤B54321", "明年", "", "", "", "", "", ""],
        ["丁", "", "", "粤B54321", "2026-12-20", "11/1 考虑", "", "", "", "也许", ""],
        ["戊", "", "", "粤B77777", "2026-12-20", "", "", "", "", "", ""],
        ["己", "", "", "粤B54321", "2026-12-20", "11/1 考虑", "", "", "", "", ""],
        ["庚", "", "", "粤B54321", "9999-12-31", "", "", "", "", "", ""],
        ["辛", "", "", "粤B54321", "2026-12-20", "2026-12-01 未接", "", "", "", "", ""],
    ])
    result = imported(store_a, users[Role.CS_MANAGER], content)
    assert (result.rows, result.imported_rows, result.rejected_rows) == (8, 1, 7)
    errors = [(e.row, e.column) for e in result.errors]
    # row 1 is the title, row 2 the header: the first policy is row 3
    assert errors == [(3, "车牌"), (4, "第1次联系"), (5, "保险到期日"), (6, "是否续保"), (7, "车牌"),
                      (9, "保险到期日"), (10, "第1次联系")]
    assert "in the future" in result.errors[-1].message
    assert "粤B99999" in result.errors[0].message and "Not a date" in result.errors[1].message
    case = RenewalCase.objects.get()
    assert case.contacts.get().notes == "考虑" and case.state == CaseState.OPEN


def test_it_answers_a_malformed_file_with_a_clear_error_and_no_500(store_a, users):
    client = browser(users[Role.CS_MANAGER])
    for name, content in [("sheet.xlsx", b"PK\x03\x04 not really a zip"), ("sheet.xlsx", b""),
                          ("sheet.csv", "名字,地址\n张三,广州\n".encode()), ("sheet.xls", b"\xd0\xcf\x11\xe0")]:
        upload = io.BytesIO(content)
        upload.name = name
        response = client.post("/renewals/import/", {"store": store_a.pk, "file": upload})
        assert response.status_code == 400, name
        assert b"invalid-feedback" in response.content, name
    assert not RenewalCase.objects.exists()


def test_it_imports_through_the_page_and_shows_the_errors_by_row_and_column(store_a, users):
    customer = f.CustomerFactory(store=store_a, mobile="+8613900001111")
    f.owned_vehicle(customer, plate="粤B54321", model="君威")
    content = sheet([["乙", "", "", "粤B54321", "2026-12-20", "10/20 未接", "", "", "", "", ""],
                     ["甲", "", "", "粤B99999", "2026-12-20", "", "", "", "", "", ""]])
    client = browser(users[Role.CS_MANAGER])
    assert client.get("/renewals/import/").status_code == 200
    response = client.post("/renewals/import/", {"store": store_a.pk, "file": content})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="rows-imported">1<' in page and 'id="rows-rejected">1<' in page
    assert "<td>4</td><td>车牌</td>" in page and "No vehicle of this store has the plate 粤B99999" in page
    assert RenewalContact.objects.count() == 1


def test_it_lets_only_renewal_managers_import(store_a, store_b, users):
    assert browser(users[Role.RENEWAL_SPECIALIST]).get("/renewals/import/").status_code == 403
    response = browser(users[Role.CS_MANAGER]).post("/renewals/import/", {"store": store_b.pk,
                                                                           "file": sheet([])})
    assert response.status_code == 400 and not AuditEvent.objects.filter(action=AuditAction.IMPORT).exists()


def test_it_reads_back_its_own_export_and_creates_nothing_twice(worked_case, store_a, users):
    """The export's layout (English headers, masked phones, the VIN) imports into the same cases unchanged."""
    other = make_case(store_a, plate="", mobile="+8613811110000", expiry=dt.date(2027, 1, 20))
    RenewalContact.objects.create(store=store_a, case=other, number=1, due_on=dt.date(2026, 11, 10),
                                  result=ContactResult.DECLINED, effective=True, imported=True)
    manager = users[Role.CS_MANAGER]
    content = io.BytesIO(renewal_sheet_export_xlsx(actor=manager, cases=renewal_case_list(user=manager)))
    before = (RenewalCase.objects.count(), RenewalContact.objects.count())
    result = imported(store_a, manager, content)
    assert (result.imported_rows, result.rejected_rows, result.cases_created, result.contacts_created) == (2, 0, 0, 0)
    assert result.contacts_unchanged == 1 and len(result.notes) == 1  # the worked case's contacts are the app's
    assert (RenewalCase.objects.count(), RenewalContact.objects.count()) == before


def test_it_makes_the_case_from_our_policy_expiring_then(store_a, users):
    customer = f.CustomerFactory(store=store_a, mobile="+8613900001111")
    vehicle = f.owned_vehicle(customer, plate="粤B54321", model="君威")
    policy = f.InsurancePolicyFactory(store=store_a, customer=customer, vehicle=vehicle, kind="new_car",
                                      start_date=dt.date(2026, 1, 3), expiry_date=dt.date(2027, 1, 2),
                                      premium=Decimal("5100.00"))
    content = sheet([["李四", "13900001111", "君威", "", "2027-01-01", "", "", "", "", "", ""]])
    assert imported(store_a, users[Role.CS_MANAGER], content).cases_created == 1  # matched by phone and model
    case = RenewalCase.objects.get()
    assert case.policy == policy and case.expiry_date == dt.date(2027, 1, 2) and not case.expiry_estimated
    assert case.segment == Segment.NEW_CAR_FIRST and case.previous_premium == Decimal("5100.00")


def test_it_plans_the_next_contact_after_the_imported_ones(store_a, users):
    from aftercare.followups.services.rules import followup_rules_seed_defaults

    followup_rules_seed_defaults(store=store_a)
    customer = f.CustomerFactory(store=store_a, mobile="+8613900001111")
    f.owned_vehicle(customer, plate="粤B54321", model="君威")
    imported(store_a, users[Role.CS_MANAGER],
             sheet([["乙", "", "", "粤B54321", "2026-12-20", "10/20 未接", "11/1 考虑", "", "", "", ""]]))
    assert renewal_contacts_plan(store_id=store_a.pk, today=dt.date(2026, 11, 19)) == 0  # the 3rd: 30 days before
    assert renewal_contacts_plan(store_id=store_a.pk, today=dt.date(2026, 11, 20)) == 1
    planned = RenewalContact.objects.get(imported=False)
    assert planned.number == 3 and planned.task is not None
    assert not RenewalContact.objects.filter(imported=True, task__isnull=False).exists()


def test_it_reads_the_exports_chinese_columns_and_a_gb18030_csv(store_a, users):
    customer = f.CustomerFactory(store=store_a, mobile="+8613900001111")
    vehicle = f.owned_vehicle(customer, plate="粤B54321", model="君威")
    header = ["客户姓名", "联系电话", "车型", "车牌", "保险到期日", "第1次联系日期", "第1次联系方式", "第1次联系结果",
              "是否续保", "保险公司", "原因分析"]
    rows = [header, ["李四", "139****1111", "君威", "粤B54321", "2026-12-20", "2026-11-02", "微信", "拒绝", "否",
                     "平安保险", "理赔不满意"]]
    content = io.BytesIO("\n".join(",".join(r) for r in rows).encode("gb18030"))
    content.name = "sheet.csv"
    result = imported(store_a, users[Role.CS_MANAGER], content)
    assert (result.imported_rows, result.errors) == (1, [])
    case = RenewalCase.objects.get(vehicle=vehicle)
    assert case.state == CaseState.RENEWED_ELSEWHERE and case.outcome_insurer == "平安保险"
    assert case.outcome_reason == LossReason.CLAIMS_EXPERIENCE
    contact = case.contacts.get()
    assert (contact.channel, contact.result, contact.due_on) == (
        ContactChannel.WECHAT, ContactResult.DECLINED, dt.date(2026, 11, 2))
