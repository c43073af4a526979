"""The demo group's SSI results from the carmaker (docs/reports.md, "SSI against region and nation").

For every store, the 12 months before this one: the carmaker's file as a CSV, imported through the real service
(`reports.ssi.ssi_benchmarks_import`, as the group admin): the store's score, its region's and the nation's
averages, the ranks and the responses, overall and per factor of the shipped SSI questionnaire. The figures follow
seed 000 p3 (the store 969 → 978 over the year, the region a few points above, the nation below; the factors
开始购车经历 … 提车过程 at 973 / 957 / 967 … against the region's 981 … and the nation's 975 …), each store a few
points lower than the one before it. Target ranks: 3rd in the region, within the national top 200 (seed 000
p25: "争取用户满意度在200名之列").

Deterministic for a seed and a month.
"""

from __future__ import annotations

import io
import random

from aftercare.core.exports import csv_bytes
from aftercare.followups.models import Factor
from aftercare.org.calendar import business_date, month_add
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store
from aftercare.reports.models import SsiBenchmark
from aftercare.reports.ssi import ssi_benchmarks_import, ssi_rank_target_set

STORE = (969, 974, 976, 972, 973, 976, 973, 977, 978, 975, 979, 980)  # seed 000 p3, the oldest month first
REGION = (964, 972, 971, 975, 979, 982, 978, 981, 983, 980, 982, 984)
NATION = (958, 961, 963, 962, 964, 966, 965, 967, 968, 967, 969, 970)
FACTORS = {  # seed 000 p3: store, region, nation per factor
    "START": (973, 981, 975),
    "FACILITY": (955, 973, 968),
    "DEAL": (947, 970, 964),
    "PAPERWORK": (957, 978, 972),
    "CONSULTANT": (967, 983, 978),
    "TIMING": (966, 979, 977),
    "DELIVERY": (963, 982, 977),
}
REGION_STORES, NATION_STORES = 12, 4000
TARGET_REGION_RANK, TARGET_NATION_RANK = 3, 200


def demo_ssi_exist(stores: list[Store]) -> bool:
    return SsiBenchmark.objects.filter(store__in=stores).exists()


def _ranks(store_score: float, region: float, nation: float) -> tuple[int, int]:
    region_rank = max(1, min(REGION_STORES, round(4 + (region - store_score) / 2)))
    nation_rank = max(1, min(NATION_STORES, round(180 + (nation + 12 - store_score) * 25)))
    return region_rank, nation_rank


def demo_ssi_create(*, stores: list[Store], seed: int) -> dict[str, int]:
    """Import the carmaker's year of SSI results for every store and set its target ranks."""
    rng = random.Random(seed + 19)
    last = month_add(business_date().replace(day=1), -1)
    months = [month_add(last, i - 11) for i in range(12)]
    names = dict(Factor.objects.filter(template__kind="ssi").values_list("code", "name_zh"))
    header = ["月份", "因子", "本店得分", "大区平均分", "全国平均分", "大区排名", "大区店数", "全国排名", "全国店数",
              "样本数"]
    rows_total = 0
    for index, store in enumerate(stores):
        admin = Staff.objects.filter(group=store.group, role=Role.GROUP_ADMIN).select_related("user").first()
        if admin is None:
            continue
        lower = 3 * index
        rows = []
        for i, month in enumerate(months):
            own = STORE[i] - lower + rng.choice((-1, 0, 0, 1))
            region_rank, nation_rank = _ranks(own, REGION[i], NATION[i])
            rows.append([f"{month:%Y-%m}", "总分", own, REGION[i], NATION[i], region_rank, REGION_STORES,
                         nation_rank, NATION_STORES, 18 + rng.randrange(12)])
            for code, (f_store, f_region, f_nation) in FACTORS.items():
                drift = (i - 11) // 3
                rows.append([f"{month:%Y-%m}", names.get(code, code), f_store - lower + drift + rng.choice((-2, 0, 2)),
                             f_region + drift, f_nation + drift, "", "", "", "", ""])
        upload = io.BytesIO(csv_bytes(header, rows))
        upload.name = f"ssi-{store.code}.csv"
        result = ssi_benchmarks_import(actor=admin.user, store=store, file=upload, kind="ssi")
        if not result.ok:
            raise RuntimeError(f"demo SSI import for {store.code}: {result.file_error or result.errors[:3]}")
        ssi_rank_target_set(actor=admin.user, store=store, kind="ssi", region_rank=TARGET_REGION_RANK,
                            nation_rank=TARGET_NATION_RANK)
        rows_total += result.created + result.updated
    return {"ssi_benchmarks": rows_total}
