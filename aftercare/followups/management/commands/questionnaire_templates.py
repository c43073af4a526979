"""Import or export questionnaire templates (JSON or XLSX).

    manage.py questionnaire_templates export SSI-NEW-CAR -o ssi.xlsx --user admin      # active version
    manage.py questionnaire_templates export SSI-NEW-CAR --version 1 -o ssi.json --user admin
    manage.py questionnaire_templates import ssi-v2.xlsx --user admin [--activate]
    manage.py questionnaire_templates list

An import always makes a new draft version of its code (never overwrites one in use); `--activate` makes it the
active version (rules move to it). Every import and export is audited under `--user`, who needs the
`followup.templates` permission.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.followups.choices import QuestionnaireStatus
from aftercare.followups.models import QuestionnaireTemplate
from aftercare.followups.services import questionnaires
from aftercare.org.permissions import Perm, has_perm


class Command(BaseCommand):
    help = "Import or export questionnaire templates as JSON or XLSX (imports become new draft versions)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="List template versions")
        ls.set_defaults(action="list")
        exp = sub.add_parser("export", help="Write one template version to a file")
        exp.add_argument("code")
        exp.add_argument("--version", type=int, help="Default: the active version, else the newest")
        exp.add_argument("-o", "--output", required=True, help="File name ending in .json or .xlsx")
        exp.add_argument("--user", required=True, help="Username the export is audited under")
        imp = sub.add_parser("import", help="Read a template file as a new draft version")
        imp.add_argument("path")
        imp.add_argument("--user", required=True, help="Username the import is audited under")
        imp.add_argument("--activate", action="store_true", help="Make the imported version the active one")

    def _actor(self, username: str):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"Unknown user: {username}")
        if not has_perm(user, Perm.FOLLOWUP_TEMPLATES):
            raise CommandError(f"{username} may not import or export questionnaire templates (followup.templates)")
        return user

    def handle(self, *args, **opts):
        action = opts["action"]
        if action == "list":
            for t in QuestionnaireTemplate.objects.order_by("code", "version"):
                self.stdout.write(f"{t.code}\tv{t.version}\t{t.status}\t{t.kind}\t{t.name_zh}")
            return
        actor = self._actor(opts["user"])
        try:
            if action == "export":
                self._export(actor, opts)
            else:
                self._import(actor, opts)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"file": exc.messages}
            lines = [f"  {field}: {' '.join(msgs)}" for field, msgs in errors.items()]
            raise CommandError("The template was not imported:\n" + "\n".join(lines)) from None
        except PermissionDenied:
            raise CommandError("Permission denied") from None

    def _export(self, actor, opts):
        versions = QuestionnaireTemplate.objects.filter(code=opts["code"])
        if opts["version"] is not None:
            template = versions.filter(version=opts["version"]).first()
        else:
            active = versions.filter(status=QuestionnaireStatus.ACTIVE).first()
            template = active or versions.order_by("-version").first()
        if template is None:
            raise CommandError(f"No template {opts['code']}" + (f" v{opts['version']}" if opts["version"] else ""))
        out = Path(opts["output"])
        if out.suffix.lower() == ".xlsx":
            out.write_bytes(questionnaires.questionnaire_template_export_xlsx(actor=actor, template=template))
        elif out.suffix.lower() == ".json":
            data = questionnaires.questionnaire_template_to_dict(template)
            out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
            audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=template)
        else:
            raise CommandError("The output file must end in .json or .xlsx")
        self.stdout.write(f"wrote {template} to {out}")

    def _import(self, actor, opts):
        path = Path(opts["path"])
        if not path.exists():
            raise CommandError(f"No such file: {path}")
        if path.suffix.lower() == ".xlsx":
            data = questionnaires.questionnaire_template_dict_from_xlsx(path.read_bytes())
        elif path.suffix.lower() == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: not valid JSON ({exc})") from None
        else:
            raise CommandError("The file must end in .json or .xlsx")
        template = questionnaires.questionnaire_template_import(actor=actor, data=data)
        if opts["activate"]:
            template = questionnaires.questionnaire_template_activate(actor=actor, template=template)
        self.stdout.write(f"imported {template} ({template.status})")
