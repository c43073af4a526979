"""`{{ obj|label:"field" }}` (core/templatetags/choice_labels.py) shows what `get_FIELD_display` shows, in the
language of the page (the complaint list: aftercare/complaints/tests/test_list_labels.py)."""

import pytest
from django.template import Context, Template
from django.utils import translation

from aftercare.complaints.models import Feedback
from aftercare.followups.models import FollowupTask

TEMPLATE = Template('{% load choice_labels %}{{ obj|label:field }}')


def _render(obj, field: str) -> str:
    return TEMPLATE.render(Context({"obj": obj, "field": field}))


@pytest.mark.parametrize(
    ("model", "field"),
    [(Feedback, "kind"), (Feedback, "status"), (Feedback, "category"), (Feedback, "severity"), (FollowupTask, "kind")],
)
def test_it_shows_every_choice_as_get_display_does_in_both_languages(model, field):
    for lang in ("zh-hans", "en", "zh-hans"):  # the labels are cached once, translated on each render
        with translation.override(lang):
            for value, _label in model._meta.get_field(field).flatchoices:
                obj = model(**{field: value})
                assert _render(obj, field) == getattr(obj, f"get_{field}_display")()


def test_it_shows_a_value_that_is_no_choice_as_it_is_and_escapes_it():
    assert _render(Feedback(status="<b>gone</b>"), "status") == "&lt;b&gt;gone&lt;/b&gt;"
