"""Small DMS export files for the import tests."""

import csv

from openpyxl import Workbook

from aftercare.testing.factories import make_vin

RO_HEADER = ["工单号", "VIN/车架号", "车牌号", "车型", "客户姓名", "联系电话", "结算日期", "维修类型", "金额",
             "里程", "服务顾问"]
RO_HEADER_EN = ["RO number", "VIN", "Plate", "Model", "Customer name", "Mobile", "Settled at", "Repair kind", "Amount",
                "Mileage", "Service advisor"]


def vin(n: int) -> str:
    return make_vin(900_000 + n)


def ro_row(n: int, **over) -> list:
    row = {
        "ro": f"RO{n:05d}",
        "vin": vin(n % 3),
        "plate": f"粤B{n % 3:05d}",
        "model": "英朗",
        "name": f"客户{n % 3}",
        "mobile": f"1381234{n % 3:04d}",
        "settled": f"2024-03-{1 + n % 28:02d} 10:00:00",
        "kind": "保养",
        "amount": f"{100 + n}.50",
        "km": str(10000 + n),
        "sa": "李顾问",
    }
    row.update(over)
    return list(row.values())


def write_csv(path, header, rows, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as fh:
        out = csv.writer(fh, delimiter=delimiter)
        out.writerow(header)
        out.writerows(rows)
    return path


def write_xlsx(path, header, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path
