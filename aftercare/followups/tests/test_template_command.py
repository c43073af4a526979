"""manage.py questionnaire_templates: export and import as JSON and XLSX, always as a new draft version."""

import json

import pytest
from django.core.management import CommandError, call_command

from aftercare.core.models import AuditEvent
from aftercare.followups.models import QuestionnaireTemplate
from aftercare.followups.services.questionnaires import questionnaire_templates_ensure_shipped
from aftercare.org.choices import Role


@pytest.fixture
def admin_user(users):
    questionnaire_templates_ensure_shipped()
    return users[Role.GROUP_ADMIN]


@pytest.mark.parametrize("suffix", ["json", "xlsx"])
def test_it_round_trips_a_template_through_a_file(admin_user, tmp_path, suffix):
    out = tmp_path / f"ssi.{suffix}"
    call_command("questionnaire_templates", "export", "SSI-NEW-CAR", "-o", str(out), "--user", admin_user.username)
    assert out.stat().st_size > 0
    call_command("questionnaire_templates", "import", str(out), "--user", admin_user.username, "--activate")
    versions = QuestionnaireTemplate.objects.filter(code="SSI-NEW-CAR").order_by("version")
    assert [(t.version, t.status) for t in versions] == [(1, "retired"), (2, "active")]
    assert versions[1].factors.count() == 7
    assert sum(fa.questions.count() for fa in versions[1].factors.all()) == 24
    assert AuditEvent.objects.filter(action="export", object_type="followups.questionnairetemplate").count() == 1
    assert AuditEvent.objects.filter(action="import").count() == 1


def test_it_reports_a_bad_file_by_field_and_imports_nothing(admin_user, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"code": "X", "kind": "ssi", "name_zh": "坏", "factors": [{"code": "F"}]}))
    with pytest.raises(CommandError, match=r"factors\.1\.name_zh"):
        call_command("questionnaire_templates", "import", str(bad), "--user", admin_user.username)
    assert not QuestionnaireTemplate.objects.filter(code="X").exists()


def test_it_needs_a_user_allowed_to_manage_templates(users, tmp_path):
    with pytest.raises(CommandError, match="followup.templates"):
        call_command(
            "questionnaire_templates",
            "export",
            "SSI-NEW-CAR",
            "-o",
            str(tmp_path / "x.json"),
            "--user",
            users[Role.CS_MANAGER].username,
        )
