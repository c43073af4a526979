"""The demo group's parts-quality history (issue 20, docs/quality.md "Demo"): two years of submitted parts-quality
reports of the seven part families in the three stores, with one injected batch defect, then the alarm job.

* **Baseline**: every vehicle of the vehicle file fails in each month of the two years before today with the family's
  rate a vehicle-month (`RATES`), rising with months in service within the three-year warranty (x (1 + age / 36))
  and a fifth of it after (fewer out-of-warranty failures reach the carmaker's quality feedback). Build month: the
  month of the vehicle file's delivery date, as the alarm counts the vehicles at risk.
* **The defect**: the front shock absorbers (前减震器, FRONT_SHOCK) of the vehicles built 15 months before this one
  (`defect_build_month`) fail at `DEFECT_FACTOR` times that rate; most of those reports name the supplier batch.
* A failure in a month with a service visit of the vehicle (a repair order: maintenance, mechanical, warranty,
  body) is reported from that order (its date and mileage); else as a warranty claim within the warranty, entered
  by hand after it.
* The newest report of the defect gets a photo (a drawn picture of a leaking shock absorber, `defect_photo_png`),
  as the advisor would attach one.
* Then `quality_alarm_run` as of today: the demo starts with the one alarm (state new) and its notification to the
  quality engineer (and the group admin). At the default size and seed the job finds only that series.

Deterministic for a seed and a day.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from aftercare.customers.choices import RepairKind
from aftercare.customers.models import RepairOrder, Vehicle
from aftercare.org.calendar import business_date, business_tz, month_add, month_start
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store
from aftercare.quality.choices import ReportSource, ReportStatus
from aftercare.quality.models import PartFamily, QualityReport, SymptomCode
from aftercare.quality.services.alarms import quality_alarm_run
from aftercare.quality.services.reports import months_between, quality_report_photo_add

HISTORY_MONTHS = 24
WARRANTY_MONTHS = 36
# failures a vehicle-month in the first month in service (seed 004's important parts)
RATES = {
    "MOTOR": 0.0016,
    "CONTROLLER": 0.0012,
    "REAR_AXLE": 0.0010,
    "DIFFERENTIAL": 0.0008,
    "FRAME": 0.0004,
    "FRONT_SHOCK": 0.0024,
    "RIM_WELD": 0.0006,
}
DEFECT_FAMILY = "FRONT_SHOCK"
DEFECT_FACTOR = 6.0
DEFECT_AGE = 15  # the defective build month: this many months before the current one
PART_NUMBERS = {
    "MOTOR": "24276385",
    "CONTROLLER": "13598771",
    "REAR_AXLE": "23378104",
    "DIFFERENTIAL": "24249671",
    "FRAME": "26234098",
    "FRONT_SHOCK": "84230541",
    "RIM_WELD": "13490862",
}
SYMPTOM_TEXTS = {
    "MOTOR": ("电机过热报警", "电机异响", "电机无法启动"),
    "CONTROLLER": ("仪表报控制器故障码", "控制器间歇断电"),
    "REAR_AXLE": ("后桥油封渗油", "后桥异响"),
    "DIFFERENTIAL": ("差速器高速啸叫", "转弯时差速器异响"),
    "FRAME": ("车架焊点开裂", "车架纵梁变形"),
    "FRONT_SHOCK": ("前减震器漏油", "过减速带前减震器异响", "前减震器失效，车身晃动"),
    "RIM_WELD": ("轮辋焊缝开裂漏气", "轮辋焊缝渗漏"),
}
# the visits a failure is found and reported at (not a wash, paint or insurance job)
REPORTED_KINDS = (
    RepairKind.MECHANICAL,
    RepairKind.WARRANTY_CLAIM,
    RepairKind.MAINTENANCE,
    RepairKind.FIRST_FREE_MAINTENANCE,
    RepairKind.BODY,
)


def defect_build_month(today: dt.date) -> dt.date:
    return month_add(month_start(today), -DEFECT_AGE)


def demo_quality_exist(stores: list[Store]) -> bool:
    return QualityReport.objects.filter(store__in=stores).exists()


def _rate(code: str, age: int, build_month: dt.date, defect_month: dt.date) -> float:
    rate = RATES.get(code, 0.0006) * ((1 + age / WARRANTY_MONTHS) if age < WARRANTY_MONTHS else 0.2)
    return rate * (DEFECT_FACTOR if code == DEFECT_FAMILY and build_month == defect_month else 1.0)


def demo_quality_create(*, stores: list[Store], seed: int) -> dict[str, int]:
    """Two years of reports (module docstring), written at once, and the alarm job as of today."""
    rng = random.Random(seed + 20)
    tz = business_tz()
    today = business_date()
    first = month_add(month_start(today), -HISTORY_MONTHS)
    defect_month = defect_build_month(today)
    families = list(PartFamily.objects.filter(active=True).order_by("position", "code"))
    symptoms = {s.family_id: s for s in SymptomCode.objects.filter(family__in=families, active=True).order_by("code")}
    reporters = {}  # the store's service advisor records its reports
    for store in stores:
        staff = Staff.objects.filter(stores=store, role=Role.SERVICE_ADVISOR).select_related("user").order_by("pk")
        if staff:
            reporters[store.pk] = staff[0].user
    vehicles = list(
        Vehicle.objects.filter(store__in=stores, delivery_date__isnull=False, delivery_date__lte=today)
        .values("pk", "store_id", "vin", "model", "delivery_date")
        .order_by("pk")
    )
    orders = defaultdict(list)  # (vehicle, month) -> [(day, mileage, order id)]
    km_a_day = {}
    for ro in (
        RepairOrder.objects.filter(store__in=stores, settled_at__date__gte=first - dt.timedelta(days=1))
        .values("pk", "vehicle_id", "settled_at", "kind", "mileage")
        .order_by("settled_at", "pk")
    ):
        day = ro["settled_at"].astimezone(tz).date()
        if ro["kind"] in REPORTED_KINDS:
            orders[(ro["vehicle_id"], month_start(day))].append((day, ro["mileage"], ro["pk"]))
        if ro["mileage"]:
            km_a_day[ro["vehicle_id"]] = (day, ro["mileage"])
    used_orders = set()
    reports = []
    for v in vehicles:
        build = month_start(v["delivery_date"])
        store_id = v["store_id"]
        if store_id not in reporters:
            continue
        month = max(first, build)
        while month <= today:
            age = (month.year - build.year) * 12 + month.month - build.month
            for family in families:
                if rng.random() >= _rate(family.code, age, build, defect_month):
                    continue
                reports.append(
                    _report(rng, v, family, build, month, today, orders, used_orders, km_a_day, symptoms,
                            reporters[store_id], defect_month, tz)
                )
            month = month_add(month, 1)
    QualityReport.objects.bulk_create(reports, batch_size=1000)
    photos = _defect_photo(stores, defect_month)
    result = quality_alarm_run(today=today, group_ids=list({s.group_id for s in stores}))
    return {"quality_reports": len(reports), "quality_report_photos": photos,
            "quality_alarms": result.get("created", 0)}


DEFECT_PHOTO_CAPTION = "前减震器活塞杆处漏油（演示照片）"


def defect_photo_png() -> bytes:
    """A drawn photo of a front shock absorber leaking oil at its rod seal (640 x 480 PNG, the same bytes each
    time)."""
    image = Image.new("RGB", (640, 480), (206, 210, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 640, 480), fill=(120, 124, 128))  # the workshop floor
    draw.rounded_rectangle((270, 60, 370, 300), radius=18, fill=(40, 44, 48))  # the body
    draw.rectangle((305, 300, 335, 420), fill=(170, 174, 180))  # the piston rod
    draw.ellipse((290, 40, 350, 80), outline=(30, 30, 30), width=8)  # the top mount
    draw.ellipse((295, 400, 345, 440), outline=(30, 30, 30), width=8)  # the lower eye
    draw.ellipse((262, 280, 390, 330), fill=(92, 62, 24))  # the oil at the rod seal
    draw.polygon([(300, 320), (320, 372), (338, 320)], fill=(92, 62, 24))  # running down the rod
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _defect_photo(stores: list[Store], defect_month: dt.date) -> int:
    """A photo on the newest report of the injected defect (none when the seed made no such report)."""
    report = (QualityReport.objects.filter(store__in=stores, part_family__code=DEFECT_FAMILY,
                                           build_month=defect_month).order_by("-failure_date", "-pk").first())
    if report is None:
        return 0
    # as the report's advisor adds one on the report's page (audited)
    image = ContentFile(defect_photo_png(), name=f"front-shock-{report.vin[-6:]}.png")
    quality_report_photo_add(actor=report.created_by, report=report, image=image, caption=DEFECT_PHOTO_CAPTION)
    return 1


def _report(rng, v, family, build, month, today, orders, used_orders, km_a_day, symptoms, user, defect_month, tz):
    """One submitted report of vehicle `v` failing in `month`."""
    code = family.code
    order = next((o for o in orders.get((v["pk"], month), ()) if o[2] not in used_orders), None)
    in_warranty = months_between(v["delivery_date"], month) < WARRANTY_MONTHS
    if order is not None:
        used_orders.add(order[2])
        day, mileage, order_id = order
        source = ReportSource.REPAIR_ORDER
    else:
        last_day = min(month_add(month, 1) - dt.timedelta(days=1), today)
        low = max(month, v["delivery_date"] + dt.timedelta(days=1))
        day = low + dt.timedelta(days=rng.randrange(max(1, (last_day - low).days + 1)))
        day = min(day, last_day)
        known = km_a_day.get(v["pk"])
        mileage = None
        if known and known[0] > v["delivery_date"]:
            per_day = known[1] / (known[0] - v["delivery_date"]).days
            mileage = int(per_day * max(1, (day - v["delivery_date"]).days))
        order_id = None
        source = ReportSource.WARRANTY_CLAIM if in_warranty else ReportSource.ENTERED
    batch = ""
    if code == DEFECT_FAMILY and build == defect_month:
        batch = f"SA{build:%y%m}-03" if rng.random() < 0.8 else ""
    elif rng.random() < 0.5:
        batch = f"{code[:2]}{month_add(build, -1):%y%m}-{rng.randint(1, 4):02d}"
    symptom = symptoms.get(family.pk)
    submitted = dt.datetime.combine(day + dt.timedelta(days=rng.randint(0, 3)), dt.time(10 + rng.randrange(8)),
                                    tzinfo=tz)
    return QualityReport(
        store_id=v["store_id"],
        status=ReportStatus.SUBMITTED,
        source=source,
        vehicle_id=v["pk"],
        vin=v["vin"],
        vehicle_model=v["model"],
        build_month=build,
        part_family=family,
        part_number=PART_NUMBERS.get(code, ""),
        supplier_batch=batch,
        failure_date=day,
        mileage_km=mileage,
        months_in_service=months_between(v["delivery_date"], day),
        symptom=symptom,
        symptom_text=rng.choice(SYMPTOM_TEXTS.get(code, ("故障",))),
        repair_order_id=order_id,
        created_by=user,
        submitted_at=min(submitted, timezone.now()),
    )
