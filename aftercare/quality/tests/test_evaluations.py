"""Dealer evaluation (`services/evaluations.py`): forms versioned with one active version per code, a visit scored
item by item and submitted with its score in %, corrective actions owned in the store, done by the store and
verified or reopened by the evaluator; each bad input names its field and writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.quality.choices import ActionStatus, EvaluationFormStatus, VisitStatus
from aftercare.quality.evaluation_models import CorrectiveAction, EvaluationForm, StoreVisit, VisitScore
from aftercare.quality.services.evaluations import (
    corrective_action_create,
    corrective_action_done,
    corrective_action_verify,
    evaluation_form_activate,
    evaluation_form_create,
    store_visit_photo_add,
    store_visit_score,
    store_visit_scores_set,
    store_visit_start,
    store_visit_submit,
    visit_score_percent,
)

DAY = dt.date(2026, 11, 10)
ITEMS = [
    {"section_zh": "接待", "text_zh": "预约客户到店有专人接待", "text_en": "Appointment customers are met",
     "max_score": 10},
    {"section_zh": "维修", "text_zh": "工单填写完整", "text_en": "Repair orders complete", "max_score": 20},
    {"section_zh": "回访", "text_zh": "三日内回访", "text_en": "Follow-up call within 3 days", "max_score": 5},
]


@pytest.fixture
def form(engineer):
    form = evaluation_form_create(actor=engineer, code="DLR-EVAL", name_zh="售后服务评估", items=ITEMS)
    return evaluation_form_activate(actor=engineer, form=form)


@pytest.fixture
def visit(form, evaluator, store_a):
    return store_visit_start(actor=evaluator, store_id=store_a.pk, visited_on=DAY)


def test_it_versions_a_form_and_keeps_one_version_active(engineer, form):
    assert (form.version, form.status, form.items.count()) == (1, EvaluationFormStatus.ACTIVE, 3)
    second = evaluation_form_create(actor=engineer, code="DLR-EVAL", name_zh="售后服务评估 2027", items=ITEMS[:2])
    assert (second.version, second.status) == (2, EvaluationFormStatus.DRAFT)
    evaluation_form_activate(actor=engineer, form=second)
    form.refresh_from_db()
    assert form.status == EvaluationFormStatus.RETIRED and second.status == EvaluationFormStatus.ACTIVE
    with pytest.raises(IntegrityError), transaction.atomic():  # the database keeps one active version per code
        EvaluationForm.objects.filter(pk=form.pk).update(status=EvaluationFormStatus.ACTIVE)


def test_it_names_the_bad_item_and_writes_no_form(engineer):
    bad = [ITEMS[0], {"text_zh": "无满分", "max_score": 0}, {"text_zh": "x", "max_score": 5, "weight": 2}]
    with pytest.raises(ValidationError) as exc:
        evaluation_form_create(actor=engineer, code="BAD", name_zh="坏", items=bad)
    assert set(exc.value.message_dict) == {"items.2.max_score", "items.3"}
    assert not EvaluationForm.objects.filter(code="BAD").exists()
    with pytest.raises(ValidationError, match="at least one item"):
        evaluation_form_create(actor=engineer, code="BAD", name_zh="坏", items=[])


def test_only_the_quality_engineer_manages_forms(users):
    for role in (Role.ITINERANT_SERVICE, Role.CS_MANAGER, Role.STORE_MANAGER):
        with pytest.raises(PermissionDenied):
            evaluation_form_create(actor=users[role], code="X", name_zh="x", items=ITEMS)


def test_it_scores_a_visit_and_submits_points_over_the_maximum(visit, evaluator, form):
    items = list(form.items.order_by("position"))
    store_visit_score(actor=evaluator, visit=visit, item_id=items[0].pk, score=8)
    store_visit_score(actor=evaluator, visit=visit, item_id=items[1].pk, score=15, note="两张工单缺签字")
    with pytest.raises(ValidationError) as exc:
        store_visit_submit(actor=evaluator, visit=visit)
    assert "scores" in exc.value.message_dict and "3" in exc.value.message_dict["scores"][0]
    store_visit_score(actor=evaluator, visit=visit, item_id=items[2].pk, score=5)
    store_visit_score(actor=evaluator, visit=visit, item_id=items[1].pk, score=16)  # changed before submitting
    store_visit_submit(actor=evaluator, visit=visit, summary="整体良好")
    visit.refresh_from_db()
    # (8 + 16 + 5) / (10 + 20 + 5) = 29 / 35 = 82.857… %
    assert visit.status == VisitStatus.SUBMITTED and visit.score == Decimal("82.9") and visit.submitted_at
    assert VisitScore.objects.filter(visit=visit).count() == 3
    with pytest.raises(ValidationError, match="submitted"):
        store_visit_score(actor=evaluator, visit=visit, item_id=items[0].pk, score=10)
    assert AuditEvent.objects.filter(object_type="quality.storevisit", object_id=str(visit.pk)).count() >= 6


def test_it_refuses_a_score_outside_the_item_and_an_item_of_another_form(visit, evaluator, engineer, form):
    item = form.items.get(position=1)
    for score in (-1, 11, None):
        with pytest.raises(ValidationError) as exc:
            store_visit_score(actor=evaluator, visit=visit, item_id=item.pk, score=score)
        assert set(exc.value.message_dict) == {"score"}
    other = evaluation_form_create(actor=engineer, code="OTHER", name_zh="其他", items=ITEMS[:1])
    with pytest.raises(ValidationError) as exc:
        store_visit_score(actor=evaluator, visit=visit, item_id=other.items.get().pk, score=1)
    assert set(exc.value.message_dict) == {"item"}
    assert not VisitScore.objects.exists()


def test_it_computes_the_percentage_half_up():
    assert visit_score_percent(29, 35) == Decimal("82.9")
    assert visit_score_percent(1, 8) == Decimal("12.5")
    assert visit_score_percent(35, 35) == Decimal("100.0")


def test_a_visit_is_only_in_the_evaluators_stores_with_an_active_form(form, evaluator, store_b, engineer, users):
    with pytest.raises(ValidationError) as exc:
        store_visit_start(actor=evaluator, store_id=store_b.pk, visited_on=DAY)
    assert set(exc.value.message_dict) == {"store"}
    draft = evaluation_form_create(actor=engineer, code="DRAFT", name_zh="草稿", items=ITEMS)
    with pytest.raises(ValidationError) as exc:
        store_visit_start(actor=evaluator, store_id=users[Role.CS_MANAGER].staff.stores.get().pk, visited_on=DAY,
                          form=draft)
    assert set(exc.value.message_dict) == {"form"}
    with pytest.raises(PermissionDenied):
        store_visit_start(actor=users[Role.CS_MANAGER], store_id=store_b.pk, visited_on=DAY)
    assert not StoreVisit.objects.exists()


def test_it_keeps_a_photo_of_an_item(visit, evaluator, form):
    image = SimpleUploadedFile("shelf.jpg", b"\xff\xd8\xff\xe0fake-jpeg", content_type="image/jpeg")
    photo = store_visit_photo_add(actor=evaluator, visit=visit, image=image, caption="零件货架",
                                  item_id=form.items.get(position=2).pk)
    assert photo.image.name.startswith("quality/visits/") and visit.photos.count() == 1


def test_an_action_is_owned_in_the_store_done_by_it_and_verified_or_reopened(visit, evaluator, users):
    advisor = users[Role.SERVICE_ADVISOR]
    action = corrective_action_create(actor=evaluator, visit=visit, finding="工单缺客户签字", action="培训并抽查",
                                      owner_id=advisor.pk, due_on=DAY + dt.timedelta(days=14))
    assert action.status == ActionStatus.OPEN and action.store_id == visit.store_id
    with pytest.raises(PermissionDenied):  # not the owner, not a manager
        corrective_action_done(actor=users[Role.CS_SPECIALIST], action=action, note="做了")
    with pytest.raises(ValidationError) as exc:
        corrective_action_done(actor=advisor, action=action, note=" ")
    assert set(exc.value.message_dict) == {"done_note"}
    corrective_action_done(actor=advisor, action=action, note="已培训 6 人")
    with pytest.raises(ValidationError) as exc:
        corrective_action_verify(actor=evaluator, action=action, accepted=False)
    assert set(exc.value.message_dict) == {"verify_note"}
    corrective_action_verify(actor=evaluator, action=action, accepted=False, note="抽查仍有 2 张缺签字")
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN and action.done_at is None and action.verify_note
    corrective_action_done(actor=users[Role.STORE_MANAGER], action=action, note="再次培训")
    corrective_action_verify(actor=evaluator, action=action, accepted=True)
    action.refresh_from_db()
    assert action.status == ActionStatus.VERIFIED and action.verified_at


def test_it_names_a_bad_owner_and_due_date_and_writes_no_action(visit, evaluator, store_b):
    from aftercare.testing import factories as f

    outsider = f.UserFactory()
    f.StaffFactory(user=outsider, group=store_b.group, role=Role.SERVICE_ADVISOR, stores=[store_b])
    with pytest.raises(ValidationError) as exc:
        corrective_action_create(actor=evaluator, visit=visit, finding="x", action="y", owner_id=outsider.pk,
                                 due_on=DAY - dt.timedelta(days=1))
    assert set(exc.value.message_dict) == {"owner", "due_on"}
    assert not CorrectiveAction.objects.exists()


def test_it_scores_several_items_at_once_all_or_none_in_one_audit_event(visit, evaluator, form,
                                                                        django_assert_max_num_queries):
    first, second, third = form.items.order_by("position")
    with pytest.raises(ValidationError) as exc:
        store_visit_scores_set(actor=evaluator, visit=visit, scores={first.pk: (8, ""), second.pk: (21, ""),
                                                                     third.pk: (-1, "")})
    assert set(exc.value.message_dict) == {"score"} and len(exc.value.message_dict["score"]) == 2
    assert not VisitScore.objects.exists()
    events = AuditEvent.objects.filter(object_type="quality.storevisit", object_id=str(visit.pk)).count()
    with django_assert_max_num_queries(8):  # not one round per item
        store_visit_scores_set(actor=evaluator, visit=visit, scores={first.pk: (8, "好"), second.pk: (20, ""),
                                                                     third.pk: (5, "")})
    assert AuditEvent.objects.filter(object_type="quality.storevisit", object_id=str(visit.pk)).count() == events + 1
    store_visit_scores_set(actor=evaluator, visit=visit, scores={first.pk: (9, "改"), second.pk: (20, "")})
    assert dict(VisitScore.objects.values_list("item__position", "score")) == {1: 9, 2: 20, 3: 5}


def test_it_refuses_an_owner_who_has_left(visit, evaluator, users):
    advisor = users[Role.SERVICE_ADVISOR]
    advisor.is_active = False
    advisor.save(update_fields=["is_active"])
    with pytest.raises(ValidationError) as exc:
        corrective_action_create(actor=evaluator, visit=visit, finding="x", action="y", owner_id=advisor.pk,
                                 due_on=DAY)
    assert set(exc.value.message_dict) == {"owner"}
