"""Load the two shipped questionnaires (new-car SSI, 24 questions; after-sales CSI, 10 questions)."""

from django.db import migrations


def load(apps, schema_editor):
    from aftercare.followups.data.loader import create_template, shipped_templates

    Template = apps.get_model("followups", "QuestionnaireTemplate")
    Factor = apps.get_model("followups", "Factor")
    Question = apps.get_model("followups", "Question")
    for data in shipped_templates():
        if not Template.objects.filter(code=data["code"], version=data["version"]).exists():
            create_template(data, Template=Template, Factor=Factor, Question=Question)


def unload(apps, schema_editor):
    from aftercare.followups.data.loader import shipped_templates

    Template = apps.get_model("followups", "QuestionnaireTemplate")
    for data in shipped_templates():
        Template.objects.filter(code=data["code"], version=data["version"], sheets__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("followups", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
