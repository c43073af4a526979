"""Deterministic generator of demo customers, vehicles, deliveries, repair orders and policies.

One code path for the demo (about 2,000 customers) and for `seed_demo --scale N` benchmarks:
`generate_chunk` plans the rows of a block of customers of one store as plain tuples (foreign
keys as indexes into the block), and a writer stores the block in bulk — `COPY` on PostgreSQL,
`bulk_create` elsewhere. No per-row services, no per-row queries.

Figures follow the seeds: 18 months of data ending today (Asia/Shanghai), deliveries in working
hours, first free maintenance 1–3 months after delivery, an appointment rate rising from about
15 % to 26 % (with the October dip of seed 000 p16), about 2 % repeat repairs within 30 days.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from aftercare.customers.choices import (
    BackgroundCategory,
    CustomerSource,
    MileageSource,
    PolicyKind,
    RepairKind,
)
from aftercare.customers.models import (
    Customer,
    InsurancePolicy,
    MileageReading,
    Ownership,
    RepairOrder,
    SalesDelivery,
    Vehicle,
)
from aftercare.customers.services import customer_numbers_allocate
from aftercare.customers.validators import vin_check_digit
from aftercare.org.calendar import business_tz

from .care_churn import demo_hidden_stop
from .org import BRAND, StoreSpec

TZ = business_tz()  # for the whole seeding run
WINDOW_MONTHS = 18

class FastRandom(random.Random):
    """`random.Random` with cheaper choice / randint / randrange (float-based; fine for demo data)."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start, stop=None, step=1):
        if stop is None and step == 1:
            return int(self.random() * start)
        return super().randrange(start, stop, step)

    def weighted(self, seq, cum_weights):
        """One element of `seq`, weighted by the cumulative weights `cum_weights`."""
        return seq[bisect.bisect(cum_weights, self.random() * cum_weights[-1])]


def _cum(weights) -> tuple[float, ...]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return tuple(out)


# --- reference lists ---------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# the first surnames are far more common (王, 李, 张, 刘, 陈 …)
SURNAME_WEIGHTS = _cum(max(1.0, 12.0 - i * 0.5) for i in range(len(SURNAMES)))
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文斌海燕玉兰晓东俊峰婷婷雪梅鹏飞子豪宇轩浩然"
    "欣怡梓涵佳怡思远嘉欣泽宇一鸣振华永红春梅德明丽华建华小红金凤少华"
)
_INSTITUTIONS = ("城管局", "卫健局", "税务所", "中学", "人民医院")
COMPANY_WORDS = ("恒信", "粤华", "新锐", "盛达", "嘉禾", "宏图", "联创", "汇通", "信达", "鸿运", "天成", "中诚")
COMPANY_TRADES = (
    "贸易有限公司", "物流有限公司", "建筑工程有限公司", "科技有限公司", "餐饮管理有限公司", "电子有限公司",
)
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189",
    "191", "198", "199",
)


@dataclass(frozen=True)
class CarModel:
    name: str
    weight: float
    vds: str  # VIN positions 4–8
    price: int  # yuan
    new_energy: bool = False


CAR_MODELS = (
    CarModel("英朗", 30, "PB54E", 110_000),
    CarModel("威朗", 6, "KC54L", 130_000),
    CarModel("君威", 12, "ZS54T", 190_000),
    CarModel("君越", 8, "ZF54V", 240_000),
    CarModel("昂科拉", 8, "JA74F", 140_000),
    CarModel("昂科威", 15, "KB74H", 220_000),
    CarModel("GL8", 15, "UA95L", 300_000),
    CarModel("微蓝6", 5, "EV14D", 170_000, new_energy=True),
    CarModel("微蓝7", 3, "EV24D", 180_000, new_energy=True),
)
_MODEL_WEIGHTS = _cum(m.weight for m in CAR_MODELS)

INSURERS = (  # name, weight, policy-number prefix
    ("中国人保财险", 35, "PDAA"),
    ("平安产险", 30, "PAAB"),
    ("太平洋产险", 20, "ACPY"),
    ("中华联合财险", 5, "ZHLH"),
    ("大地保险", 5, "DDBX"),
    ("国寿财险", 5, "GSCX"),
)
_INSURER_WEIGHTS = _cum(i[1] for i in INSURERS)

STORE_PEOPLE = {  # sales consultants, service advisors
    "GZ01": (("陈嘉豪", "李静怡", "黄志伟", "何晓琳", "梁俊杰", "吴敏"), ("罗建华", "周婷", "郭振宇", "谢丽娟")),
    "FS01": (("冯家乐", "邓思琪", "麦国强", "区惠玲", "潘宇航"), ("霍志明", "叶淑芬", "陆伟强")),
    "HZ01": (("沈一鸣", "钱佳琪", "孙浩然", "朱晓燕", "蒋文斌"), ("徐丽萍", "王建国", "胡晓峰", "陈雪梅")),
}
_DEFAULT_PEOPLE = (("张销售", "王销售", "李销售"), ("赵顾问", "钱顾问", "孙顾问"))

FAULTS = {
    RepairKind.MAINTENANCE: (
        "常规保养 更换机油机滤", "保养 更换机油机滤空滤", "大保养 更换三滤及火花塞", "保养 更换刹车油",
    ),
    RepairKind.FIRST_FREE_MAINTENANCE: ("首次免费保养",),
    RepairKind.MECHANICAL: (
        "发动机故障灯亮", "空调不制冷", "刹车异响", "变速箱换挡顿挫", "方向盘抖动", "电瓶亏电无法启动",
        "底盘异响", "怠速抖动", "车窗升降故障", "雨刮器不工作", "冷却液渗漏", "倒车雷达报警",
    ),
    RepairKind.BODY: ("右前翼子板凹陷修复", "后保险杠变形修复", "左前门凹陷修复", "发动机盖凹陷修复"),
    RepairKind.PAINT: ("前保险杠划痕补漆", "左后门划痕喷漆", "右侧裙边喷漆", "全车抛光打蜡"),
    RepairKind.WASH: ("普洗", "精洗", "内饰清洗"),
    RepairKind.WARRANTY_CLAIM: (
        "节气门积碳 索赔", "车窗电机故障 索赔", "水泵渗漏 索赔", "中控屏黑屏 索赔", "天窗异响 索赔",
    ),
    RepairKind.INSURANCE_JOB: (
        "追尾事故 后杠及尾灯更换", "单方事故 前杠钣喷", "前挡风玻璃破碎更换", "刮擦事故 两门钣喷",
    ),
}
# (median amount in yuan, log-sd) of the lognormal amounts; None = fixed list / free
_AMOUNTS = {
    RepairKind.MECHANICAL: (750, 0.9),
    RepairKind.BODY: (1600, 0.7),
    RepairKind.PAINT: (1100, 0.6),
    RepairKind.WARRANTY_CLAIM: (1000, 0.8),
    RepairKind.INSURANCE_JOB: (4200, 0.8),
}
# yearly rate per vehicle of the unplanned kinds
_YEARLY = {
    RepairKind.MECHANICAL: 0.45,
    RepairKind.BODY: 0.10,
    RepairKind.PAINT: 0.10,
    RepairKind.INSURANCE_JOB: 0.12,
    RepairKind.WARRANTY_CLAIM: 0.22,
}
_BOOKED_KIND_FACTOR = {RepairKind.WASH: 0.2, RepairKind.INSURANCE_JOB: 0.5}
# deliveries per month of the year (金九银十, the run-up to Spring Festival, the February lull)
_MONTH_SALES = {1: 1.25, 2: 0.6, 3: 0.9, 4: 0.9, 5: 1.0, 6: 1.0, 7: 0.8, 8: 0.9, 9: 1.2, 10: 1.1, 11: 1.1, 12: 1.3}
# name, share, factor on the booking probability. Every active customer keeps their vehicle's own maintenance
# rhythm (`_Gen.add_vehicle`: 5,000 km or 6 months, whichever first, ±10 %), as in the churn simulator
# (`care.churnsim.simulate`); when a customer stops coming is the hidden churn process's
# (`care_churn.demo_hidden_stop`), not the profile's
_PROFILES = (("loyal", 0.3, 1.4), ("regular", 0.5, 1.0), ("occasional", 0.2, 0.5))
SERVICE_KM, SERVICE_DAYS = 5000, 182  # maintenance every 5,000 km or 6 months, whichever first (Chinese 4S)
GAP_JITTER = (0.9, 1.1)  # a customer's gap around their own interval
_PROFILE_WEIGHTS = _cum(x[1] for x in _PROFILES)
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # VIN position 10, from 2010, 30-year cycle
_PLANTS = "SYWDNJKLMPRTUVXZ"  # VIN position 11
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def vin_with_check_digit(vin17: str) -> str:
    """`vin17` with position 9 set to its ISO 3779 / GB 16735 check digit."""
    return vin17[:8] + vin_check_digit(vin17) + vin17[9:]


def months_before(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue
    raise AssertionError


def _add_year(day: dt.date, years: int = 1) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 Feb
        return day.replace(year=day.year + years, day=28)


def appointment_rate(window_start: dt.date, day: dt.date) -> float:
    """Share of booked ROs in the month of `day`: 15 % at the start of the window to 26 % at its end."""
    months = (day.year - window_start.year) * 12 + day.month - window_start.month
    rate = 0.15 + 0.11 * min(1.0, max(0.0, months / WINDOW_MONTHS))
    if day.month == 10:  # the Golden-Week dip of seed 000 p16 (Sep 24 % → Oct 18 %)
        rate -= 0.05
    elif day.month == 2:  # Spring Festival
        rate -= 0.02
    return rate


# --- the plan of one block ---------------------------------------------------------------------


@dataclass
class Context:
    today: dt.date
    now: dt.datetime
    window_start: dt.date

    @classmethod
    def build(cls, now: dt.datetime | None = None) -> Context:
        now = now or timezone.now()
        today = timezone.localtime(now, TZ).date()
        return cls(today=today, now=now, window_start=months_before(today, WINDOW_MONTHS))


@dataclass
class Chunk:
    """Rows of one block of customers of one store; foreign keys are indexes into these lists."""

    customers: list[tuple] = field(default_factory=list)
    vehicles: list[tuple] = field(default_factory=list)
    ownerships: list[tuple] = field(default_factory=list)  # (vehicle, customer, valid_from, valid_to)
    deliveries: list[tuple] = field(default_factory=list)  # (vehicle, customer, delivered_at, consultant, order_no)
    repair_orders: list[tuple] = field(default_factory=list)
    policies: list[tuple] = field(default_factory=list)
    mileage: list[tuple] = field(default_factory=list)  # (vehicle, read_on, km, source)

    def counts(self) -> dict[str, int]:
        return {
            "customers": len(self.customers),
            "vehicles": len(self.vehicles),
            "ownerships": len(self.ownerships),
            "deliveries": len(self.deliveries),
            "repair_orders": len(self.repair_orders),
            "policies": len(self.policies),
            "mileage_readings": len(self.mileage),
        }


CUSTOMER_FIELDS = (
    "name", "mobile", "mobile2", "address", "region", "birthday", "background", "contact_person",
    "contact_phone", "consent_service_calls", "consent_marketing", "source",
)
VEHICLE_FIELDS = (
    "vin", "plate", "brand", "model", "delivery_date", "warranty_end", "maintenance_interval_km",
    "maintenance_interval_months", "next_maintenance_due",
)
# repair order tuple: (vehicle, customer, settled_at, kind, amount, mileage, advisor, booked, fault)
# policy tuple: (vehicle, customer, insurer index, start, expiry, premium, kind)


class _Gen:
    """Plans one block. All randomness comes from `rng`, so a block is reproducible."""

    def __init__(self, rng: FastRandom, ctx: Context, spec: StoreSpec):
        self.rng = rng
        self.ctx = ctx
        self.spec = spec
        self.chunk = Chunk()
        self.consultants, self.advisors = STORE_PEOPLE.get(spec.code, _DEFAULT_PEOPLE)
        self.window_days = (ctx.today - ctx.window_start).days
        self.plates: set[str] = set()
        self.stops: dict[int, dt.date | None] = {}  # customer → the month the hidden process makes them lost

    def hidden_stop(self, customer: int, *, start: dt.date, warranty_end: dt.date) -> dt.date | None:
        """The first day of the month in which `customer` becomes lost (None: keeps coming), drawn once per
        customer (their first vehicle's start and warranty), so a fleet's vehicles all stop with it."""
        if customer not in self.stops:
            self.stops[customer] = demo_hidden_stop(
                self.rng, mobile=self.chunk.customers[customer][1], start=start, end=self.ctx.today,
                warranty_end=warranty_end,
            )
        return self.stops[customer]

    # --- people ---
    def person_name(self) -> str:
        rng = self.rng
        surname = rng.weighted(SURNAMES, SURNAME_WEIGHTS)
        n = 2 if rng.random() < 0.7 else 1
        return surname + "".join(rng.choice(GIVEN_CHARS) for _ in range(n))

    def mobile(self) -> str:
        return f"+86{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(100_000_000):08d}"

    def address(self) -> tuple[str, str]:
        rng, s = self.rng, self.spec
        district = rng.choice(s.districts)
        addr = f"{s.city}{district}{rng.choice(s.streets)}{rng.randint(1, 999)}号"
        if rng.random() < 0.8:
            addr += f"{rng.randint(1, 30)}栋{rng.randint(1, 32)}{rng.randint(1, 6):02d}房"
        return addr, district

    def add_customer(self, *, source: str, background: str | None = None, name: str | None = None,
                     mobile: str | None = None, sparse: bool = False) -> int:
        rng = self.rng
        if background is None:
            r = rng.random()
            background = (
                BackgroundCategory.PRIVATE if r < 0.80 else BackgroundCategory.COMPANY if r < 0.88
                else BackgroundCategory.TAXI if r < 0.93 else BackgroundCategory.GOVERNMENT if r < 0.96
                else BackgroundCategory.OTHER
            )
        company = background in (BackgroundCategory.COMPANY, BackgroundCategory.GOVERNMENT)
        if name is None:
            if background == BackgroundCategory.COMPANY:
                name = f"{self.spec.city[:-1]}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_TRADES)}"
            elif background == BackgroundCategory.GOVERNMENT:
                name = f"{self.spec.city}{rng.choice(self.spec.districts)}{rng.choice(_INSTITUTIONS)}"
            else:
                name = self.person_name()
        mobile = mobile or self.mobile()
        address, region = self.address()
        if rng.random() < (0.5 if sparse else 0.04):  # missing address: a data-quality finding
            address = ""
        birthday = None
        if not company and rng.random() > (0.6 if sparse else 0.12):
            birthday = dt.date(rng.randint(1950, 2002), rng.randint(1, 12), rng.randint(1, 28))
        r = rng.random()
        contact_person, contact_phone = "", ""
        if company or 0.55 <= r < 0.92:
            contact_person, contact_phone = self.person_name(), self.mobile()
        elif r < 0.55:
            contact_person = name
        if sparse and rng.random() < 0.5:
            contact_person, contact_phone = "", ""
        mobile2 = self.mobile() if rng.random() < 0.08 else ""
        consent_calls = rng.random() >= 0.02  # a few refuse service calls
        consent_marketing = consent_calls and rng.random() < 0.45
        self.chunk.customers.append(
            (name, mobile, mobile2, address, region, birthday, background, contact_person, contact_phone,
             consent_calls, consent_marketing, source)
        )
        return len(self.chunk.customers) - 1

    # --- vehicles ---
    @staticmethod
    def vin_head(model: CarModel, delivery: dt.date) -> str:
        """VIN positions 1–10 (check digit still 0); the writer adds plant, serial and check digit."""
        year = delivery.year + (1 if delivery.month >= 10 else 0)
        return f"LSG{model.vds}0{_YEAR_CODES[(year - 2010) % 30]}"

    def plate(self, model: CarModel, delivery: dt.date) -> str:
        rng = self.rng
        if (self.ctx.today - delivery).days < 10:
            return ""  # temporary plate, not registered yet
        prefix = self.spec.province_plate if rng.random() < 0.9 else rng.choice(self.spec.other_plates)
        for _ in range(20):
            if model.new_energy:
                plate = f"{prefix}{rng.choice('DF')}{rng.randrange(100000):05d}"
            else:
                chars = [str(rng.randrange(10)) for _ in range(5)]
                for pos in rng.sample(range(5), rng.choice((0, 1, 1, 2))):
                    chars[pos] = rng.choice(_PLATE_LETTERS.replace("Q", ""))
                plate = prefix + "".join(chars)
            if plate not in self.plates:
                self.plates.add(plate)
                return plate
        return ""

    def sales_day(self) -> dt.date:
        rng, start = self.rng, self.ctx.window_start
        while True:
            day = start + dt.timedelta(days=rng.randrange(self.window_days + 1))
            w = _MONTH_SALES[day.month] * (1.8 if day.weekday() >= 5 else 1.0)
            if rng.random() * 2.4 < w:
                return day

    def at(self, day: dt.date, first_hour: float, last_hour: float) -> dt.datetime | None:
        """A moment of `day` in working hours (Asia/Shanghai), None if it would be in the future."""
        minutes = int(self.rng.triangular(first_hour * 60, last_hour * 60, last_hour * 60 - 60))
        moment = dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=TZ)
        return None if moment > self.ctx.now else moment

    def add_vehicle(self, owner: int, *, sold_here: bool, background: str) -> None:
        rng, ctx = self.rng, self.ctx
        model = rng.weighted(CAR_MODELS, _MODEL_WEIGHTS)
        if background == BackgroundCategory.TAXI:
            model = CAR_MODELS[0]
        if sold_here:
            delivery = self.sales_day()
        else:
            delivery = ctx.window_start - dt.timedelta(days=rng.randint(30, 8 * 365))
        warranty_end = _add_year(delivery, 3)
        v = len(self.chunk.vehicles)
        vin, plate = self.vin_head(model, delivery), self.plate(model, delivery)
        km_per_day = {
            BackgroundCategory.TAXI: 230.0, BackgroundCategory.COMPANY: 70.0, BackgroundCategory.GOVERNMENT: 45.0,
        }.get(background, 35.0) * math.exp(rng.gauss(0, 0.35))
        interval_km = SERVICE_KM
        interval_days = max(45, min(SERVICE_DAYS, int(interval_km / km_per_day)))

        # ownership: usually one owner; a few transfers; a few vehicles sold away (no current owner)
        owners: list[tuple[int, dt.date, dt.date | None]] = [(owner, delivery, None)]
        end = ctx.today
        r = rng.random()
        if not sold_here and r < 0.015 and self.window_days > 90:
            transfer = ctx.window_start + dt.timedelta(days=rng.randint(30, self.window_days - 30))
            new_name = self.chunk.customers[owner][0]
            if rng.random() < 0.3:  # the same person got a second file: "same name + same vehicle"
                previous = self.add_customer(source=CustomerSource.SERVICE, name=new_name, sparse=True)
            else:
                previous = self.add_customer(source=CustomerSource.DMS_IMPORT)
            owners = [(previous, delivery, transfer - dt.timedelta(days=1)), (owner, transfer, None)]
        elif not sold_here and r > 0.997 and self.window_days > 90:
            end = ctx.window_start + dt.timedelta(days=rng.randint(30, self.window_days - 30))
            owners = [(owner, delivery, end)]
        for customer, start, stop in owners:
            self.chunk.ownerships.append((v, customer, start, stop))

        def owner_on(day: dt.date) -> int:
            for customer, start, stop in owners:
                if start <= day and (stop is None or day <= stop):
                    return customer
            return owners[-1][0]

        # the hidden churn process decides when the last owner stops coming (earlier owners stop at the transfer)
        last_owner, since, _ = owners[-1]
        stop = self.hidden_stop(
            last_owner, start=max(ctx.window_start, since + dt.timedelta(days=1)), warranty_end=warranty_end
        )
        last_maintenance = self.history(
            v, model, delivery, warranty_end, km_per_day, interval_days, end if stop is None else min(end, stop),
            owner_on, sold_here,
        )
        self.policies(v, model, delivery, sold_here, end, owner_on)
        if last_maintenance is None:
            next_due = delivery + dt.timedelta(days=90) if sold_here else None
        else:
            next_due = last_maintenance + dt.timedelta(days=interval_days)
        self.chunk.vehicles.append(
            (vin, plate, BRAND, model.name, delivery, warranty_end, interval_km, 6, next_due)
        )

    def history(self, v, model, delivery, warranty_end, km_per_day, interval_days, end, owner_on, sold_here):
        """Deliveries, repair orders and mileage of one vehicle; returns the last maintenance date.

        The orders carry their own mileage; a separate reading is kept only for the delivery.
        """
        rng, ctx = self.rng, self.ctx
        chunk = self.chunk
        base_km = rng.randint(8, 30)
        if sold_here:
            moment = self.at(delivery, 10, 19.5)
            if moment is not None:
                chunk.deliveries.append(
                    (v, owner_on(delivery), moment, rng.choice(self.consultants),
                     f"XS{delivery:%Y%m%d}{rng.randrange(10000):04d}")
                )
                chunk.mileage.append((v, delivery, base_km, MileageSource.DELIVERY))
        _name, _share, booking = rng.weighted(_PROFILES, _PROFILE_WEIGHTS)
        low = max(ctx.window_start, delivery + dt.timedelta(days=1))
        high = end  # the vehicle's last day here: sold away, or its owner lost (the hidden churn process)
        if high < low:
            return None
        events: list[tuple[dt.date, str, str | None]] = []
        step = interval_days
        if sold_here:
            first = delivery + dt.timedelta(days=rng.randint(30, 92))
            if first <= high and rng.random() < 0.92:
                events.append((first, RepairKind.FIRST_FREE_MAINTENANCE, None))
                nxt = first + dt.timedelta(days=int(step * rng.uniform(*GAP_JITTER)))
            else:
                nxt = first + dt.timedelta(days=int(step))
        else:
            nxt = low + dt.timedelta(days=rng.randint(0, int(step)))
        while nxt <= high:
            events.append((nxt, RepairKind.MAINTENANCE, None))
            nxt += dt.timedelta(days=max(30, int(step * rng.uniform(*GAP_JITTER))))
        span = (high - low).days + 1
        years = span / 365.0
        washer = rng.random() < 0.25
        yearly = dict(_YEARLY)
        yearly[RepairKind.WASH] = 3.0 if washer else 0.3
        for kind, rate in yearly.items():
            for _ in range(_poisson(rng, rate * years)):
                day = low + dt.timedelta(days=rng.randrange(span))
                if kind == RepairKind.WARRANTY_CLAIM and day > warranty_end:
                    continue
                fault = rng.choice(FAULTS[kind])
                events.append((day, kind, fault))
                if kind == RepairKind.MECHANICAL and rng.random() < 0.025:  # came back: same fault
                    again = day + dt.timedelta(days=rng.randint(3, 28))
                    if again <= high:
                        events.append((again, kind, fault))
        timed = []
        for day, kind, fault in events:
            moment = self.at(day, 9, 18.5)
            if moment is not None:
                timed.append((moment, day, kind, fault))
        timed.sort(key=lambda e: e[0])
        last_km = base_km
        last_maintenance = None
        price_factor = math.sqrt(model.price / 150_000)
        for moment, day, kind, fault in timed:
            km = max(last_km + rng.randint(1, 40), int(base_km + km_per_day * (day - delivery).days))
            last_km = km
            booked = rng.random() < appointment_rate(ctx.window_start, day) * booking * _BOOKED_KIND_FACTOR.get(
                kind, 1.2
            ) / 1.12
            chunk.repair_orders.append(
                (v, owner_on(day), moment, kind, self.amount(kind, price_factor), km, rng.choice(self.advisors),
                 booked, fault or rng.choice(FAULTS[kind]))
            )
            if kind in (RepairKind.MAINTENANCE, RepairKind.FIRST_FREE_MAINTENANCE):
                last_maintenance = day
        return last_maintenance

    def amount(self, kind: str, price_factor: float) -> Decimal:
        rng = self.rng
        if kind == RepairKind.FIRST_FREE_MAINTENANCE:
            return Decimal("0.00")
        if kind == RepairKind.WASH:
            return Decimal(rng.choice((30, 40, 50, 60, 80)))
        if kind == RepairKind.MAINTENANCE:
            value = rng.uniform(380, 1100) * price_factor
        else:
            median, sd = _AMOUNTS[kind]
            value = min(60_000.0, max(60.0, median * price_factor * math.exp(rng.gauss(0, sd))))
        return Decimal(f"{value:.2f}")

    def policies(self, v, model, delivery, sold_here, end, owner_on) -> None:
        """New-car policy at delivery, yearly renewals for some; base vehicles renew here or not."""
        rng, ctx = self.rng, self.ctx
        premium = model.price * 0.032 * rng.uniform(0.85, 1.2)
        if sold_here:
            if rng.random() > 0.95:
                return
            start, kind, keep = delivery, PolicyKind.NEW_CAR, 0.65
        else:
            if rng.random() > 0.55:
                return
            # policy years of a base vehicle run from its delivery anniversary; start with the one
            # in force when the window opens
            start = delivery
            while _add_year(start) <= ctx.window_start:
                start = _add_year(start)
            kind, keep = PolicyKind.RENEWAL, 0.7
            premium *= 0.85
        while start <= min(ctx.today, end):
            expiry = _add_year(start) - dt.timedelta(days=1)
            self.chunk.policies.append(
                (v, owner_on(start), rng.weighted(range(len(INSURERS)), _INSURER_WEIGHTS), start, expiry,
                 Decimal(f"{premium:.2f}"), kind)
            )
            if rng.random() > keep:
                break  # not renewed with us: on someone's renewal list
            start, kind, keep, premium = expiry + dt.timedelta(days=1), PolicyKind.RENEWAL, 0.75, premium * 0.92


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def generate_chunk(*, rng: FastRandom, ctx: Context, spec: StoreSpec, customers: int) -> Chunk:
    """Plan about `customers` customer files of one store with their vehicles and 18 months of history."""
    gen = _Gen(rng, ctx, spec)
    for _ in range(customers):
        r = rng.random()
        if r < 0.025:  # parts-counter customer: no vehicle, sparse file
            gen.add_customer(source=CustomerSource.PARTS_COUNTER, background=BackgroundCategory.PRIVATE, sparse=True)
            continue
        sold_here = r < 0.50
        c = gen.add_customer(source=CustomerSource.SALES if sold_here else rng.choice(
            (CustomerSource.SERVICE, CustomerSource.SERVICE, CustomerSource.DMS_IMPORT)))
        background = gen.chunk.customers[c][6]
        fleet = background in (BackgroundCategory.COMPANY, BackgroundCategory.GOVERNMENT)
        for _ in range(rng.choice((1, 1, 2, 3)) if fleet else 1):
            gen.add_vehicle(c, sold_here=sold_here, background=background)
        r = rng.random()
        if r < 0.008:  # a second file for the same person (same name and mobile): a duplicate
            name, mobile = gen.chunk.customers[c][0], gen.chunk.customers[c][1]
            gen.add_customer(source=CustomerSource.PARTS_COUNTER, name=name, mobile=mobile, sparse=True,
                             background=BackgroundCategory.PRIVATE)
        elif r < 0.012:  # a family member registered with the same phone
            gen.add_customer(source=CustomerSource.CONSULTATION, mobile=gen.chunk.customers[c][1], sparse=True,
                             background=BackgroundCategory.PRIVATE)
    return gen.chunk


# --- writers -----------------------------------------------------------------------------------
#
# Natural keys come from the primary keys reserved for the block: VIN serial = vehicle id, RO number
# and policy number carry their row's id. Ids are never reused, so blocks written at the same time
# (or by later runs) never collide, and no counter has to be read first.


def _vin(head: str, vehicle_id: int) -> str:
    """VIN from its head (positions 1–10) and the vehicle id: plant letter + 6-digit serial, check digit.

    Unique for ids below 16 million (16 plant letters × 10⁶ serials).
    """
    serial = f"{_PLANTS[(vehicle_id // 1_000_000) % len(_PLANTS)]}{vehicle_id % 1_000_000:06d}"
    return vin_with_check_digit(head + serial)


def _reserve_ids(cursor, model, count: int) -> list[int]:
    """`count` new primary keys of `model` (call inside the block's transaction)."""
    if not count:
        return []
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [r[0] for r in cursor.fetchall()]
    # SQLite: the transaction holds the write lock (transaction_mode IMMEDIATE), so MAX(id) is ours.
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
    first = cursor.fetchone()[0] + 1
    return list(range(first, first + count))


def write_chunk(store, chunk: Chunk) -> None:
    """Store one planned block in bulk, in one transaction: COPY on PostgreSQL, bulk_create elsewhere."""
    chunk.repair_orders.sort(key=lambda r: r[2])
    numbers = customer_numbers_allocate(store_id=store.pk, count=len(chunk.customers)) if chunk.customers else []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and _may_skip_fk_triggers(cursor):
            # The rows are consistent by construction; skipping the per-row FK triggers roughly halves
            # the time PostgreSQL needs (superusers only; reverts at the end of the transaction).
            cursor.execute("SET LOCAL session_replication_role = replica")
        ids = Ids(
            customers=_reserve_ids(cursor, Customer, len(chunk.customers)),
            vehicles=_reserve_ids(cursor, Vehicle, len(chunk.vehicles)),
            repair_orders=_reserve_ids(cursor, RepairOrder, len(chunk.repair_orders)),
            policies=_reserve_ids(cursor, InsurancePolicy, len(chunk.policies)),
        )
        if connection.vendor == "postgresql":
            _write_copy(cursor, store.pk, chunk, numbers, ids)
        else:
            _write_orm(store.pk, chunk, numbers, ids)


@dataclass
class Ids:
    customers: list[int]
    vehicles: list[int]
    repair_orders: list[int]
    policies: list[int]


def _rows(store_id: int, chunk: Chunk, numbers: list[str], ids: Ids):
    """The block's rows with real ids and natural keys, as field-name → value dicts per model."""
    cid, vid = ids.customers, ids.vehicles
    yield Customer, [
        {"id": i, "store_id": store_id, "number": n, **dict(zip(CUSTOMER_FIELDS, row, strict=True))}
        for i, n, row in zip(cid, numbers, chunk.customers, strict=True)
    ]
    yield Vehicle, [
        {"id": i, "store_id": store_id, **dict(zip(VEHICLE_FIELDS, (_vin(row[0], i), *row[1:]), strict=True))}
        for i, row in zip(vid, chunk.vehicles, strict=True)
    ]
    yield Ownership, [
        {"store_id": store_id, "vehicle_id": vid[v], "customer_id": cid[c], "valid_from": a, "valid_to": b}
        for v, c, a, b in chunk.ownerships
    ]
    yield SalesDelivery, [
        {"store_id": store_id, "vehicle_id": vid[v], "customer_id": cid[c], "delivered_at": at,
         "sales_consultant": sc, "order_number": no}
        for v, c, at, sc, no in chunk.deliveries
    ]
    yield RepairOrder, [
        {"id": i, "store_id": store_id, "ro_number": f"WX{timezone.localtime(at, TZ):%Y%m}{i:08d}",
         "vehicle_id": vid[v], "customer_id": cid[c], "settled_at": at, "kind": k, "amount": amt, "mileage": km,
         "service_advisor": sa, "booked": bk, "fault_description": fd}
        for i, (v, c, at, k, amt, km, sa, bk, fd) in zip(ids.repair_orders, chunk.repair_orders, strict=True)
    ]
    yield InsurancePolicy, [
        {"id": i, "store_id": store_id, "policy_number": f"{INSURERS[n][2]}{s.year}{i:012d}", "vehicle_id": vid[v],
         "customer_id": cid[c], "insurer": INSURERS[n][0], "start_date": s, "expiry_date": e, "premium": p,
         "kind": k}
        for i, (v, c, n, s, e, p, k) in zip(ids.policies, chunk.policies, strict=True)
    ]
    yield MileageReading, [
        {"store_id": store_id, "vehicle_id": vid[v], "read_on": d, "km": km, "source": src}
        for v, d, km, src in chunk.mileage
    ]


def _write_orm(store_id: int, chunk: Chunk, numbers: list[str], ids: Ids) -> None:
    for model, rows in _rows(store_id, chunk, numbers, ids):
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)


def _may_skip_fk_triggers(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def _write_copy(cursor, store_id: int, chunk: Chunk, numbers: list[str], ids: Ids) -> None:
    now = timezone.now()
    for model, rows in _rows(store_id, chunk, numbers, ids):
        if not rows:
            continue
        names = list(rows[0])
        extra = {"created_at": now, "updated_at": now}
        for f in ("row_hash",):
            if any(x.name == f for x in model._meta.concrete_fields):
                extra[f] = ""
        if model is Customer:
            extra["is_active"] = True
        columns = [model._meta.get_field(n.removesuffix("_id")).column for n in names]
        columns += list(extra)
        sql = "COPY {} ({}) FROM STDIN".format(
            connection.ops.quote_name(model._meta.db_table), ", ".join(connection.ops.quote_name(c) for c in columns)
        )
        tail = tuple(extra.values())
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row((*row.values(), *tail))


def demo_handover_times(*, stores, seed: int) -> int:
    """When each sale's data reached customer service (the delivery row's `created_at`, which the KPI
    `followups.handover_lag` measures from `delivered_at`): the seeding writes every row at once, so the hand-over is
    set as a store's sales consultants make it — most the same day (1–8 hours), some the next day, a few late (2–5
    days). Deterministic for a seed."""
    import datetime as _dt
    import random as _random

    from aftercare.customers.models import SalesDelivery

    rng = _random.Random(seed + 5)
    rows = list(SalesDelivery.objects.filter(store__in=stores).only("pk", "delivered_at").order_by("pk"))
    for row in rows:
        r = rng.random()
        hours = rng.uniform(1, 8) if r < 0.8 else rng.uniform(16, 30) if r < 0.95 else rng.uniform(48, 120)
        row.created_at = row.delivered_at + _dt.timedelta(hours=hours)
    SalesDelivery.objects.bulk_update(rows, ["created_at"], batch_size=2000)
    return len(rows)
