"""SSI / CSI against region and nation (docs/reports.md, "SSI against region and nation"): the carmaker's file
imported all or nothing and idempotently, the comparison against hand-computed figures, quarters, ranks against the
target, the carmaker's export layout, permissions and scoping."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from aftercare.core.exports import csv_bytes, xlsx_bytes
from aftercare.core.models import AuditEvent
from aftercare.customers.models import Customer
from aftercare.followups.models import Answer, AnswerSheet, FollowupTask, Question, QuestionnaireTemplate
from aftercare.followups.services.questionnaires import questionnaire_templates_ensure_shipped
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.calendar import business_day_start
from aftercare.org.choices import Role
from aftercare.reports import ssi
from aftercare.reports.models import SsiBenchmark, SsiRankTarget
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db

HEADER_ZH = ["月份", "因子", "本店得分", "大区平均分", "全国平均分", "大区排名", "大区店数", "全国排名", "全国店数",
             "样本数"]
GOOD_ROWS = [
    ["2013-01", "总分", 969, 958, 949, 3, 12, 250, 4000, 20],
    ["2013-03", "", 973, 955, 947, 2, 12, 150, 4000, 25],
    ["2013年3月", "开始购车经历", 973, 955, 947, None, None, None, None, None],
    ["2013/03", "FACILITY", 957, 967, 966, None, None, None, None, None],
]


def client_for(user, lang="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def xlsx_file(header, rows, name="ssi.xlsx"):
    content, _n = xlsx_bytes("SSI", header, rows)
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def csv_file(header, rows, name="ssi.csv", encoding="utf-8"):
    text = csv_bytes(header, rows, bom=False).decode("utf-8")
    upload = io.BytesIO(text.encode(encoding))
    upload.name = name
    return upload


def post_import(client, store, upload, kind="ssi"):
    return client.post(reverse("reports:ssi_import"), {"store": store.pk, "kind": kind, "file": upload})


@pytest.fixture
def manager(users):
    return users[Role.CS_MANAGER]


@pytest.fixture
def templates(db):
    questionnaire_templates_ensure_shipped()
    return QuestionnaireTemplate.objects.get(code="SSI-NEW-CAR", status="active")


def add_sheet(store, when: dt.datetime, total, factors=None, *, n: int, name="王小明", answers=None):
    template = QuestionnaireTemplate.objects.get(code="SSI-NEW-CAR", status="active")
    rule = {r.code: r for r in followup_rules_seed_defaults(store)}["SSI"]
    customer = f.CustomerFactory(store=store, name=name)
    vehicle = f.owned_vehicle(customer)
    task = FollowupTask.objects.create(store=store, rule=rule, kind=rule.kind, subject_type="delivery",
                                       subject_id=50_000 + n, customer=customer, vehicle=vehicle, template=template,
                                       event_at=when, due_at=when + dt.timedelta(days=1), status="done")
    sheet = AnswerSheet.objects.create(store=store, task=task, template=template, answered_at=when,
                                       answered_by=f.UserFactory(), score_total=total, factor_scores=factors or {})
    for code, value in (answers or {}).items():
        Answer.objects.create(sheet=sheet, question=Question.objects.get(factor__template=template, code=code),
                              value=value)
    return sheet


def at(year, month, day, hour=10):
    return business_day_start(dt.date(year, month, day)) + dt.timedelta(hours=hour)


# ---- import ---------------------------------------------------------------------------------------------------


def test_it_imports_the_carmakers_xlsx_with_chinese_headers(manager, store_a, templates):
    response = post_import(client_for(manager), store_a, xlsx_file(HEADER_ZH, GOOD_ROWS))
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = {(b.month, b.factor): b for b in SsiBenchmark.objects.filter(store=store_a)}
    assert set(rows) == {(dt.date(2013, 1, 1), ""), (dt.date(2013, 3, 1), ""), (dt.date(2013, 3, 1), "START"),
                         (dt.date(2013, 3, 1), "FACILITY")}
    march = rows[(dt.date(2013, 3, 1), "")]
    assert (march.kind, march.store_score, march.region_score, march.nation_score) == (
        "ssi", Decimal("973.00"), Decimal("955.00"), Decimal("947.00"))
    assert (march.region_rank, march.region_stores, march.nation_rank, march.nation_stores, march.responses) == (
        2, 12, 150, 4000, 25)
    assert march.region_id == store_a.region_id
    assert rows[(dt.date(2013, 3, 1), "FACILITY")].region_score == Decimal("967.00")
    assert AuditEvent.objects.filter(action="import", object_type="reports.ssibenchmark").count() == 1


def test_it_imports_a_gb18030_csv_with_english_headers_and_a_survey_column(manager, store_a, templates):
    header = ["Month", "Survey", "Factor", "Store score", "Region average", "National average", "National rank"]
    rows = [["2024-05", "CSI", "", "912.5", "900", "890.25", "88"], ["2024-05", "售后", "设施", "", "950", "940", ""]]
    csi = QuestionnaireTemplate.objects.get(kind="csi", status="active")
    facility = csi.factors.get(name_zh__contains="设施")
    rows[1][2] = facility.name_zh
    response = post_import(client_for(manager), store_a, csv_file(header, rows, encoding="gb18030"), kind="ssi")
    assert response.status_code == 302
    overall = SsiBenchmark.objects.get(store=store_a, kind="csi", factor="")
    assert (overall.store_score, overall.nation_score, overall.nation_rank, overall.region_rank) == (
        Decimal("912.50"), Decimal("890.25"), 88, None)
    assert SsiBenchmark.objects.get(store=store_a, kind="csi", factor=facility.code).region_score == 950


def test_it_names_each_bad_cell_by_row_and_column_and_stores_nothing(manager, store_a, templates):
    client = client_for(manager)
    assert post_import(client, store_a, xlsx_file(HEADER_ZH, GOOD_ROWS)).status_code == 302
    before = list(SsiBenchmark.objects.order_by("pk").values())
    bad = [
        ["2013-03", "", 999, 955, 947, 2, 12, 150, 4000, 25],  # good, but the file fails: not stored
        ["2013-13", "", 973, 955, 947, 2, 12, 150, 4000, 25],  # row 3: month
        ["2013-04", "", 973, "高", 947, 2, 12, 150, 4000, 25],  # row 4: region average
        ["2013-05", "试驾体验", 973, 955, 947, None, None, None, None, None],  # row 5: factor
        ["2013-06", "", 1200, 955, 947, 13, 12, 150, 4000, 25],  # row 6: score and rank
        ["2013-03", "总分", 973, 955, 947, 2, 12, 150, 4000, 25],  # row 7: the month of row 2 again
    ]
    response = post_import(client, store_a, xlsx_file(HEADER_ZH, bad))
    assert response.status_code == 400
    errors = {(e.row, e.column) for e in response.context["result"].errors}
    assert errors == {(3, "月份"), (4, "大区平均分"), (5, "因子"), (6, "本店得分"), (6, "大区排名"), (7, "月份")}
    html = response.content.decode()
    assert "nothing was imported" in html and "大区平均分" in html
    assert list(SsiBenchmark.objects.order_by("pk").values()) == before


def test_it_refuses_a_file_without_the_columns_or_not_a_table(manager, store_a, templates):
    client = client_for(manager)
    response = post_import(client, store_a, csv_file(["客户", "电话"], [["王", "1"]]))
    assert response.status_code == 400 and "月份" in response.content.decode()
    junk = io.BytesIO(b"PK\x03\x04 not a zip")
    junk.name = "x.xlsx"
    assert post_import(client, store_a, junk).status_code == 400
    assert not SsiBenchmark.objects.exists()


def test_it_updates_the_same_rows_in_place_when_the_file_comes_again(manager, store_a, templates):
    client = client_for(manager)
    post_import(client, store_a, xlsx_file(HEADER_ZH, GOOD_ROWS))
    ids = sorted(SsiBenchmark.objects.values_list("pk", flat=True))
    result = ssi.ssi_benchmarks_import(actor=manager, store=store_a, file=xlsx_file(HEADER_ZH, GOOD_ROWS), kind="ssi")
    assert (result.created, result.updated) == (0, 4)
    assert sorted(SsiBenchmark.objects.values_list("pk", flat=True)) == ids
    corrected = [list(GOOD_ROWS[1])]
    corrected[0][3] = 956
    result = ssi.ssi_benchmarks_import(actor=manager, store=store_a, file=xlsx_file(HEADER_ZH, corrected), kind="ssi")
    assert (result.created, result.updated) == (0, 1)
    assert SsiBenchmark.objects.get(store=store_a, month=dt.date(2013, 3, 1), factor="").region_score == 956
    assert SsiBenchmark.objects.count() == 4
    # a file without a rank column leaves the stored ranks as they were
    ssi.ssi_benchmarks_import(actor=manager, store=store_a, kind="ssi",
                              file=xlsx_file(["月份", "全国平均分"], [["2013-03", 948]]))
    march = SsiBenchmark.objects.get(store=store_a, month=dt.date(2013, 3, 1), factor="")
    assert (march.nation_score, march.nation_rank, march.region_score) == (948, 150, 956)


# ---- the comparison -----------------------------------------------------------------------------------------------


@pytest.fixture
def year_2013(manager, store_a, templates):
    """January: one sheet of 940; March: 960, 980, 970 (factor START 900, 1000, 950); the carmaker's rows of
    GOOD_ROWS (Jan 969 / 958 / 949, Mar 973 / 955 / 947); a target of rank 2 in region, 200 nationally."""
    add_sheet(store_a, at(2013, 1, 15), Decimal("940"), {"START": "930.00"}, n=1)
    add_sheet(store_a, at(2013, 3, 1, 0), Decimal("960"), {"START": "900.00", "DEAL": None}, n=2)
    add_sheet(store_a, at(2013, 3, 15), Decimal("980"), {"START": "1000.00"}, n=3)
    add_sheet(store_a, at(2013, 3, 31, 23), Decimal("970"), {"START": "950.00"}, n=4)
    add_sheet(store_a, at(2013, 4, 1, 0), Decimal("500"), {"START": "500.00"}, n=5)  # April, Shanghai time
    ssi.ssi_benchmarks_import(actor=manager, store=store_a, file=xlsx_file(HEADER_ZH, GOOD_ROWS), kind="ssi")
    ssi.ssi_rank_target_set(actor=manager, store=store_a, kind="ssi", region_rank=2, nation_rank=200)
    return ssi.ssi_comparison(store=store_a, kind="ssi", year=2013, period=("month", dt.date(2013, 3, 1)))


def test_it_compares_a_month_with_hand_computed_figures(year_2013):
    march = year_2013["months"][2]
    # own: (960 + 980 + 970) / 3 = 970.00; gaps from the carmaker's store score: 973 − 955, 973 − 947
    assert (march["own"], march["own_count"], march["carmaker"], march["region"], march["nation"]) == (
        Decimal("970.00"), 3, Decimal("973.00"), Decimal("955.00"), Decimal("947.00"))
    assert (march["gap_region"], march["gap_nation"]) == (Decimal("18.00"), Decimal("26.00"))
    assert year_2013["months"][3]["own"] == Decimal("500.00")  # 1 April 00:00 Shanghai is April
    assert year_2013["months"][1]["own"] is None and year_2013["months"][1]["gap_region"] is None
    start = next(c for c in year_2013["factors"] if c["key"] == "START")
    # (900 + 1000 + 950) / 3 = 950.00 against the carmaker's 973 / 955 / 947
    assert (start["own"], start["carmaker"], start["region"], start["gap_region"]) == (
        Decimal("950.00"), Decimal("973.00"), Decimal("955.00"), Decimal("18.00"))
    facility = next(c for c in year_2013["factors"] if c["key"] == "FACILITY")
    assert (facility["own"], facility["carmaker"], facility["gap_region"], facility["gap_nation"]) == (
        None, Decimal("957.00"), Decimal("-10.00"), Decimal("-9.00"))
    assert [c["key"] for c in year_2013["factors"]] == [
        "START", "FACILITY", "DEAL", "PAPERWORK", "CONSULTANT", "TIMING", "DELIVERY"]


def test_it_aggregates_a_quarter_by_its_sheets_and_the_carmakers_months_by_their_mean(year_2013):
    q1 = year_2013["quarters"][0]
    # own: all four sheets, weighted by count: (940 + 960 + 980 + 970) / 4 = 962.50 (a mean of months: 955)
    assert (q1["own"], q1["own_count"]) == (Decimal("962.50"), 4)
    # carmaker figures: mean of the months that have them (January, March): (969 + 973) / 2, (958 + 955) / 2 …
    assert (q1["carmaker"], q1["region"], q1["nation"]) == (Decimal("971.00"), Decimal("956.50"), Decimal("948.00"))
    # ranks: the quarter's last month with a rank (March)
    assert (q1["region_rank"], q1["nation_rank"], q1["responses"]) == (2, 150, 45)
    assert year_2013["quarters"][1]["own_count"] == 1 and year_2013["quarters"][1]["carmaker"] is None


def test_it_judges_ranks_against_the_target_rank(year_2013):
    january, march = year_2013["months"][0], year_2013["months"][2]
    assert (january["region_rank"], january["region_judge"], january["nation_rank"], january["nation_judge"]) == (
        3, "missed", 250, "missed")
    assert (march["region_judge"], march["nation_judge"]) == ("met", "met")
    assert year_2013["months"][5]["nation_judge"] == ""
    assert year_2013["target"] == {"region_rank": 2, "nation_rank": 200}


def test_it_shows_the_page_with_chart_factors_and_ranks(year_2013, manager, store_a):
    response = client_for(manager).get(reverse("reports:ssi"), {"store": store_a.pk, "year": 2013,
                                                                  "period": "2013-03"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ssi-trend"' in html and 'id="ssi-factors"' in html and "table-responsive" in html
    assert 'data-period="2013-03"' in html and 'data-judge="met"' in html and 'data-judge="missed"' in html
    assert "150/4000" in html and 'data-gap="down"' in html
    sheets_url = reverse("reports:ssi_sheets") + f"?store={store_a.pk}&amp;kind=ssi&amp;since=2013-03&amp;until=2013-03"
    assert sheets_url in html
    spec = response.context["chart"]
    assert spec["labels"][:7] == ["Q1", "Q2", "Q3", "Q4", "01", "02", "03"]
    assert [s["label"] for s in spec["series"]] == ["Store (aftercare)", "Store (carmaker)", "Region average",
                                                    "National average"]
    assert [s["values"][6] for s in spec["series"]] == [970.0, 973.0, 955.0, 947.0]
    assert [s["values"][0] for s in spec["series"]] == [962.5, 971.0, 956.5, 948.0]
    zh = client_for(manager, "zh-hans").get(reverse("reports:ssi"), {"store": store_a.pk, "year": 2013,
                                                                      "period": "2013-Q1"})
    assert zh.status_code == 200 and "开始购车经历" in zh.content.decode() and "大区" in zh.content.decode()
    # bad input answers the page, never a 500
    for query in ({"year": "abc"}, {"year": "99999"}, {"period": "2013-99"}, {"kind": "x"}, {"store": "x"}):
        assert client_for(manager).get(reverse("reports:ssi"), query).status_code == 200


def test_it_lists_the_sheets_behind_a_month_linking_to_their_calls(year_2013, manager, store_a):
    response = client_for(manager).get(reverse("reports:ssi_sheets"),
                                       {"store": store_a.pk, "since": "2013-03", "until": "2013-03"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3
    html = response.content.decode()
    task = AnswerSheet.objects.filter(store=store_a, score_total=980).get().task
    assert reverse("followups:call", args=[task.pk]) in html
    assert "王**" in html and "王小明" not in html


def test_it_saves_the_target_ranks(manager, store_a):
    response = client_for(manager).post(reverse("reports:ssi_target"),
                                        {"store": store_a.pk, "kind": "csi", "region_rank": "3", "nation_rank": ""})
    assert response.status_code == 302
    target = SsiRankTarget.objects.get(store=store_a, kind="csi")
    assert (target.region_rank, target.nation_rank) == (3, None)
    client_for(manager).post(reverse("reports:ssi_target"), {"store": store_a.pk, "kind": "csi", "region_rank": "0"})
    assert SsiRankTarget.objects.get(store=store_a, kind="csi").region_rank == 3


# ---- export ---------------------------------------------------------------------------------------------------------


def test_it_exports_the_months_sheets_in_the_carmakers_layout(manager, store_a, templates):
    sheet = add_sheet(store_a, at(2013, 3, 15), Decimal("925.19"), n=1, name="欧阳小明",
                      answers={"S01": True, "S03": 9, "S04": 4, "S12": "b", "S02": False})
    add_sheet(store_a, at(2013, 4, 2), Decimal("900"), n=2)  # another month: not exported
    response = client_for(manager).get(reverse("reports:ssi_export"), {"store": store_a.pk, "month": "2013-03"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "ssi-A01-2013-03.xlsx" in response["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    codes = [f"S{n:02d}" for n in range(1, 25)]
    assert list(rows[0]) == ["经销商代码 Dealer code", "VIN", "客户姓名 Customer", "回访日期 Date",
                             "问卷 Questionnaire",
                             *codes, "总分 Total"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["经销商代码 Dealer code"] == "A01"
    assert row["VIN"] == sheet.task.vehicle.vin
    assert row["客户姓名 Customer"] == "欧阳**"
    assert row["回访日期 Date"].date() == dt.date(2013, 3, 15)
    assert row["问卷 Questionnaire"] == "SSI-NEW-CAR"
    assert (row["S01"], row["S02"], row["S03"], row["S04"], row["S12"], row["S05"]) == (1, 0, 9, 4, "b", None)
    assert row["总分 Total"] == 925.19
    assert AuditEvent.objects.filter(action="export", object_type="reports.ssi_export").count() == 1


def test_it_masks_names_per_the_house_rules():
    assert ssi.mask_name("王小明") == "王**"
    assert ssi.mask_name("欧阳娜娜") == "欧阳**"
    assert ssi.mask_name("广州某某汽车服务有限公司") == "广********"
    assert ssi.mask_name("John Smith") == "John *"
    assert ssi.mask_name("") == ""


# ---- API ---------------------------------------------------------------------------------------------------------


def test_it_imports_and_compares_through_the_api(manager, store_a, templates):
    client = client_for(manager)
    url = "/api/reports/ssi/benchmarks"
    response = client.post(url, {"store": "A01", "kind": "ssi", "file": xlsx_file(HEADER_ZH, GOOD_ROWS)})
    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 4, "created": 4, "updated": 0}
    again = client.post(url, {"store": "A01", "kind": "ssi", "file": xlsx_file(HEADER_ZH, GOOD_ROWS)})
    assert again.json() == {"rows": 4, "created": 0, "updated": 4}
    bad = client.post(url, {"store": "A01", "kind": "ssi",
                            "file": xlsx_file(HEADER_ZH, [["2013-03", "", "x", 955, 947, 2, 12, 150, 4000, 25]])})
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["rows.2.本店得分"]
    data = client.get("/api/reports/ssi/comparison", {"store": "A01", "year": 2013, "period": "2013-03"}).json()
    assert data["period"] == "2013-03"
    march = data["months"][2]
    assert (march["carmaker"], march["region"], march["nation_rank"]) == ("973.00", "955.00", 150)
    assert client.get("/api/reports/ssi/comparison", {"store": "A01", "period": "junk"}).status_code == 422


# ---- permissions and scoping -----------------------------------------------------------------------------------


def test_it_is_for_managers_and_the_group_admin_only(users, store_a):
    for role in (Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN):
        assert client_for(users[role]).get(reverse("reports:ssi")).status_code == 200, role
        assert client_for(users[role]).get(reverse("reports:ssi_import")).status_code == 200, role
    for role in (Role.CS_SPECIALIST, Role.SERVICE_ADVISOR, Role.DEPARTMENT_DESIGNEE):
        assert client_for(users[role]).get(reverse("reports:ssi")).status_code == 403, role
        assert client_for(users[role]).get(reverse("reports:ssi_export")).status_code == 403, role


def test_it_never_shows_or_writes_another_stores_figures(manager, store_a, store_b, templates):
    SsiBenchmark.objects.create(store=store_b, kind="ssi", month=dt.date(2013, 3, 1), factor="CANARY",
                                store_score=111)
    add_sheet(store_b, at(2013, 3, 15), Decimal("111"), n=9, name="赵秘密")
    client = client_for(manager)
    for name in ("reports:ssi", "reports:ssi_sheets", "reports:ssi_export"):
        assert client.get(reverse(name), {"store": store_b.pk, "month": "2013-03"}).status_code == 404, name
    response = post_import(client, store_b, xlsx_file(HEADER_ZH, GOOD_ROWS))
    assert response.status_code == 400  # store B is not a choice
    assert client.post(reverse("reports:ssi_target"), {"store": store_b.pk, "region_rank": 1}).status_code == 404
    assert client.post("/api/reports/ssi/benchmarks", {"store": "B01", "file": xlsx_file(HEADER_ZH, GOOD_ROWS)}
                       ).status_code == 404
    assert client.get("/api/reports/ssi/comparison", {"store": "B01"}).status_code == 404
    own = client.get(reverse("reports:ssi"), {"year": 2013, "period": "2013-03"})
    assert own.status_code == 200 and "CANARY" not in own.content.decode() and "111" not in own.content.decode()
    assert SsiBenchmark.objects.filter(store=store_b).count() == 1
    assert not SsiRankTarget.objects.exists()
    assert Customer.objects.filter(store=store_b).count() == 1


def test_it_is_linked_from_the_follow_up_manage_page(manager):
    html = client_for(manager).get(reverse("followups:manage")).content.decode()
    assert 'id="ssi-link"' in html and reverse("reports:ssi") in html


def test_it_refuses_a_rank_beyond_the_stored_number_of_stores_and_keeps_everything(manager, store_a, templates):
    ssi.ssi_benchmarks_import(actor=manager, store=store_a, file=xlsx_file(HEADER_ZH, GOOD_ROWS), kind="ssi")
    before = list(SsiBenchmark.objects.order_by("pk").values())
    result = ssi.ssi_benchmarks_import(actor=manager, store=store_a, kind="ssi", file=xlsx_file(
        ["月份", "全国平均分", "大区排名"], [["2013-01", 900, 1], ["2013-03", 900, 13]]))
    assert [(e.row, e.column) for e in result.errors] == [(3, "大区排名")]
    assert (result.created, result.updated) == (0, 0)
    assert list(SsiBenchmark.objects.order_by("pk").values()) == before
