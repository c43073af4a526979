"""Follow-up screens. Thin: parse, call one service or selector, render. (Queue and call screens: next step.)"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from aftercare.org.permissions import Perm, has_perm

from . import services
from .models import QuestionnaireTemplate


@login_required
def template_export(request, pk: int, fmt: str):
    """Download a questionnaire template as JSON or XLSX (templates are group-wide, not store data)."""
    if not any(has_perm(request.user, p) for p in (Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE, Perm.FOLLOWUP_TEMPLATES)):
        raise PermissionDenied
    template = get_object_or_404(QuestionnaireTemplate, pk=pk)
    filename = f"{template.code}-v{template.version}"
    if fmt == "json":
        response = JsonResponse(
            services.questionnaire_template_to_dict(template), json_dumps_params={"ensure_ascii": False, "indent": 1}
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.json"'
        return response
    if fmt == "xlsx":
        content = services.questionnaire_template_export_xlsx(actor=request.user, template=template)
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    raise Http404
