import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aftercare.followups.choices import QuestionnaireStatus, TaskStatus
from aftercare.followups.models import Answer, AnswerSheet, CallLog, FollowupTask, Question, QuestionnaireTemplate
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.followups.services.generation import followup_tasks_for_delivery, followup_tasks_for_repair_order
from aftercare.followups.services.questionnaires import (
    questionnaire_template_activate,
    questionnaire_template_dict_from_xlsx,
    questionnaire_template_ensure_editable,
    questionnaire_template_export_xlsx,
    questionnaire_template_import,
    questionnaire_template_new_version,
    questionnaire_template_to_dict,
)
from aftercare.followups.services.scoring import answer_sheet_submit
from aftercare.org.choices import Role
from aftercare.testing import factories as f

# The worked example of docs/kpis.md
EXAMPLE = {
    "C01": "yes",
    "C02": 4,
    "C03": True,
    "C04": 8,
    "C05": 5,
    "C06": "yes",
    "C07": "yes",
    "C08": "yes",
    "C09": 9,
    "C10": "师傅很专业",
}


def by_code(template, answers):
    ids = dict(Question.objects.filter(factor__template=template).values_list("code", "id"))
    return {ids[code]: value for code, value in answers.items()}


@pytest.fixture
def csi_claimed(store_a, rules_a, specialist):
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    followup_tasks_for_repair_order(repair_order=ro)
    task = FollowupTask.objects.get()
    return followup_task_claim(actor=specialist, task_id=task.pk)


def test_it_ships_the_ssi_and_csi_templates(db):
    ssi = QuestionnaireTemplate.objects.get(code="SSI-NEW-CAR", status=QuestionnaireStatus.ACTIVE)
    csi = QuestionnaireTemplate.objects.get(code="CSI-AFTER-SALES", status=QuestionnaireStatus.ACTIVE)
    assert Question.objects.filter(factor__template=ssi).count() == 24
    assert [fa.name_zh for fa in ssi.factors.all()] == [
        "开始购车经历",
        "经销商设施",
        "交易条件",
        "书面文件",
        "销售顾问相处",
        "交车时间",
        "提车过程",
    ]
    assert Question.objects.filter(factor__template=csi).count() == 10
    assert csi.factors.count() == 5
    assert not Question.objects.filter(text_en="").exists() and not Question.objects.filter(text_zh="").exists()
    assert sum(fa.weight for fa in ssi.factors.all()) == 1 and sum(fa.weight for fa in csi.factors.all()) == 1


def test_it_scores_the_documented_example_on_the_1000_point_scale(csi_claimed, specialist):
    sheet = answer_sheet_submit(actor=specialist, task=csi_claimed, answers=by_code(csi_claimed.template, EXAMPLE))
    assert sheet.score_total == Decimal("925.19")
    assert sheet.factor_scores == {
        "INITIATION": "875.00",
        "ADVISOR": "851.85",
        "FACILITY": "1000.00",
        "PICKUP": "1000.00",
        "QUALITY": "925.93",
    }
    assert sheet.dissatisfied is False
    assert Answer.objects.filter(sheet=sheet).count() == 10
    csi_claimed.refresh_from_db()
    assert csi_claimed.status == TaskStatus.COMPLETED and csi_claimed.completed_by == specialist
    assert CallLog.objects.get(task=csi_claimed).outcome == "completed"


def test_it_marks_a_sheet_dissatisfied_at_the_threshold(csi_claimed, specialist):
    answers = dict(EXAMPLE, C07="no")  # "ready at the promised time?" no → at or below 0
    sheet = answer_sheet_submit(actor=specialist, task=csi_claimed, answers=by_code(csi_claimed.template, answers))
    assert sheet.score_total == Decimal("835.19")
    assert sheet.dissatisfied and sheet.dissatisfied_reasons == ["C07"]
    from aftercare.complaints.models import Feedback

    text = Feedback.objects.get(customer=csi_claimed.customer).text  # the grievance, in the store's language
    assert "C07 " in text and text.splitlines()[0].endswith(": 否") and "False" not in text


def test_it_marks_a_yes_no_question_without_its_own_threshold_dissatisfied_on_no(csi_claimed, specialist):
    # C01 "received promptly?" has no dissatisfied_at_or_below: its bad answer "no" still marks the sheet
    answers = dict(EXAMPLE, C01="no")
    sheet = answer_sheet_submit(actor=specialist, task=csi_claimed, answers=by_code(csi_claimed.template, answers))
    assert sheet.dissatisfied and sheet.dissatisfied_reasons == ["C01"]
    assert Answer.objects.get(sheet=sheet, question__code="C01").dissatisfied is True
    assert Answer.objects.get(sheet=sheet, question__code="C03").dissatisfied is False  # a "yes" is not


def test_it_marks_a_scale_answer_at_its_threshold_and_an_explicit_mark(store_a, rules_a, specialist):
    customer = f.CustomerFactory(store=store_a)
    tasks = []
    for _ in range(2):
        ro = f.RepairOrderFactory(customer=customer)
        followup_tasks_for_repair_order(repair_order=ro)
        tasks.append(followup_task_claim(actor=specialist, task_id=FollowupTask.objects.get(subject_id=ro.pk).pk))
    six = answer_sheet_submit(actor=specialist, task=tasks[0], answers=by_code(tasks[0].template, dict(EXAMPLE, C09=6)))
    assert six.dissatisfied_reasons == ["C09"]
    marked = answer_sheet_submit(
        actor=specialist, task=tasks[1], answers=by_code(tasks[1].template, EXAMPLE), dissatisfied=True
    )
    assert marked.dissatisfied and marked.dissatisfied_reasons == ["marked"]


def test_it_names_every_bad_answer_and_stores_nothing(csi_claimed, specialist):
    ids = by_code(csi_claimed.template, {"C02": 0, "C04": 11, "C01": "maybe", "C08": "perhaps"})
    missing = by_code(csi_claimed.template, {"C05": None})
    with pytest.raises(ValidationError) as exc:
        answer_sheet_submit(actor=specialist, task=csi_claimed, answers={**ids, 999999: 3})
    errors = exc.value.message_dict
    for qid in [*ids, *missing]:
        assert f"answers.{qid}" in errors
    assert "answers.999999" in errors
    assert not AnswerSheet.objects.exists()
    csi_claimed.refresh_from_db()
    assert csi_claimed.status == TaskStatus.CLAIMED


def test_it_scores_an_ssi_sheet_of_all_top_answers_as_1000(store_a, rules_a, specialist):
    delivery = f.SalesDeliveryFactory(customer=f.CustomerFactory(store=store_a))
    followup_tasks_for_delivery(delivery=delivery)
    task = followup_task_claim(actor=specialist, task_id=FollowupTask.objects.get().pk)
    answers = {}
    for q in Question.objects.filter(factor__template=task.template):
        answers[q.pk] = {"scale_5": 5, "scale_10": 10, "yes_no": True, "single_choice": "clear"}.get(q.type, "")
    sheet = answer_sheet_submit(actor=specialist, task=task, answers=answers)
    assert sheet.score_total == Decimal("1000.00") and not sheet.dissatisfied


def test_it_never_edits_a_template_in_use_and_makes_a_new_version(csi_claimed, specialist, users, rules_a):
    admin = users[Role.GROUP_ADMIN]
    old = csi_claimed.template
    answer_sheet_submit(actor=specialist, task=csi_claimed, answers=by_code(old, EXAMPLE))
    with pytest.raises(ValidationError):
        questionnaire_template_ensure_editable(old)
    with pytest.raises(PermissionDenied):
        questionnaire_template_new_version(actor=specialist, template=old)
    new = questionnaire_template_new_version(actor=admin, template=old)
    assert (new.code, new.version, new.status) == (old.code, 2, QuestionnaireStatus.DRAFT)
    assert Question.objects.filter(factor__template=new).count() == 10
    questionnaire_template_ensure_editable(new)  # a fresh draft may be edited
    questionnaire_template_activate(actor=admin, template=new)
    old.refresh_from_db()
    rules_a["CSI"].refresh_from_db()
    assert old.status == QuestionnaireStatus.RETIRED and rules_a["CSI"].template_id == new.pk
    csi_claimed.refresh_from_db()
    assert csi_claimed.template_id == old.pk  # tasks keep the version they were made with


def test_it_round_trips_templates_through_json_and_xlsx(users, rules_a):
    admin = users[Role.GROUP_ADMIN]
    ssi = QuestionnaireTemplate.objects.get(code="SSI-NEW-CAR", version=1)
    data = questionnaire_template_to_dict(ssi)
    from_json = questionnaire_template_import(actor=admin, data=json.loads(json.dumps(data)))
    xlsx = questionnaire_template_export_xlsx(actor=admin, template=ssi)
    from_xlsx = questionnaire_template_import(actor=admin, data=questionnaire_template_dict_from_xlsx(xlsx))
    assert (from_json.version, from_xlsx.version) == (2, 3)

    def strip(d):
        return {k: v for k, v in d.items() if k not in ("version", "status")}

    assert strip(questionnaire_template_to_dict(from_json)) == strip(data)
    assert strip(questionnaire_template_to_dict(from_xlsx)) == strip(data)


def test_it_names_the_bad_part_of_an_imported_template(users):
    bad = {
        "code": "X",
        "kind": "ssi",
        "name_zh": "测试",
        "factors": [{"code": "F", "name_zh": "因素", "questions": [{"code": "Q1", "type": "stars", "text_zh": "?"}]}],
    }
    with pytest.raises(ValidationError) as exc:
        questionnaire_template_import(actor=users[Role.GROUP_ADMIN], data=bad)
    assert "factors.1.questions.1.type" in exc.value.message_dict
    assert not QuestionnaireTemplate.objects.filter(code="X").exists()
