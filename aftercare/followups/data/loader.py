"""Create a questionnaire template from its JSON form. Shared by the data migration and the import service.

JSON form::

    {"code": "SSI-NEW", "version": 1, "kind": "ssi", "name_zh": "…", "name_en": "…",
     "status": "active", "dissatisfied_threshold": "0.4",
     "factors": [{"code": "F1", "name_zh": "…", "name_en": "…", "weight": "0.10",
                  "questions": [{"code": "Q1", "type": "scale_5", "text_zh": "…", "text_en": "…",
                                 "weight": "1", "required": true, "dissatisfied_at_or_below": null,
                                 "choices": []}]}]}
"""

import json
from decimal import Decimal
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
SHIPPED = ("ssi_new_car_v1.json", "csi_after_sales_v1.json")


def shipped_templates() -> list[dict]:
    return [json.loads((DATA_DIR / name).read_text(encoding="utf-8")) for name in SHIPPED]


def create_template(data: dict, *, Template, Factor, Question, version: int | None = None, status: str | None = None):
    """Create the template rows (no validation beyond the database's; the import service validates first)."""
    template = Template.objects.create(
        code=data["code"],
        version=version if version is not None else int(data.get("version", 1)),
        kind=data["kind"],
        name_zh=data["name_zh"],
        name_en=data.get("name_en", ""),
        status=status or data.get("status", "draft"),
        dissatisfied_threshold=Decimal(str(data.get("dissatisfied_threshold", "0.4"))),
    )
    questions = []
    for f_order, f in enumerate(data["factors"], start=1):
        factor = Factor.objects.create(
            template=template,
            code=f["code"],
            order=f_order,
            name_zh=f["name_zh"],
            name_en=f.get("name_en", ""),
            weight=Decimal(str(f.get("weight", 1))),
        )
        for q_order, q in enumerate(f["questions"], start=1):
            questions.append(
                Question(
                    factor=factor,
                    code=q["code"],
                    order=q_order,
                    text_zh=q["text_zh"],
                    text_en=q.get("text_en", ""),
                    type=q["type"],
                    choices=q.get("choices") or [],
                    weight=Decimal(str(q.get("weight", 1))),
                    required=bool(q.get("required", q["type"] != "free_text")),
                    dissatisfied_at_or_below=q.get("dissatisfied_at_or_below"),
                )
            )
    Question.objects.bulk_create(questions)
    return template
