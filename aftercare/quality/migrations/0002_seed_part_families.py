"""The seven important parts of seed 004 (the carmaker's after-sales plan) and a first set of symptom codes; the
quality engineer edits them afterwards (both languages)."""

from django.db import migrations

FAMILIES = [
    ("MOTOR", "电机", "Motor"),
    ("CONTROLLER", "控制器", "Controller"),
    ("REAR_AXLE", "后桥", "Rear axle"),
    ("DIFFERENTIAL", "差速器", "Differential"),
    ("FRAME", "车架", "Frame"),
    ("FRONT_SHOCK", "前减震器", "Front shock absorber"),
    ("RIM_WELD", "轮辋焊接", "Rim welding"),
]
SYMPTOMS = [
    (None, "NOISE", "异响", "Abnormal noise"),
    (None, "NO_FUNCTION", "功能失效", "Does not work"),
    (None, "CRACK", "开裂 / 断裂", "Crack or fracture"),
    (None, "LEAK", "渗漏", "Leak"),
    ("MOTOR", "MOTOR_OVERHEAT", "电机过热", "Motor overheats"),
    ("CONTROLLER", "CTRL_FAULT", "控制器报故障码", "Controller reports a fault code"),
    ("REAR_AXLE", "AXLE_OIL_LEAK", "后桥漏油", "Rear axle oil leak"),
    ("DIFFERENTIAL", "DIFF_WHINE", "差速器啸叫", "Differential whine"),
    ("FRAME", "FRAME_CRACK", "车架开裂", "Frame crack"),
    ("FRONT_SHOCK", "SHOCK_LEAK", "减震器漏油", "Shock absorber leaks oil"),
    ("FRONT_SHOCK", "SHOCK_NOISE", "减震器异响", "Shock absorber knocks"),
    ("RIM_WELD", "RIM_WELD_CRACK", "轮辋焊缝开裂", "Rim weld seam cracked"),
]


def seed(apps, schema_editor):
    PartFamily = apps.get_model("quality", "PartFamily")
    SymptomCode = apps.get_model("quality", "SymptomCode")
    families = {}
    for position, (code, zh, en) in enumerate(FAMILIES, start=1):
        families[code], _ = PartFamily.objects.get_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "important": True, "position": position}
        )
    for family, code, zh, en in SYMPTOMS:
        SymptomCode.objects.get_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "family": families.get(family)}
        )


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
