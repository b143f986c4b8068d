"""What the demo's applicants bring: application forms (fictitious people with valid ID check characters),
scans (real PNG files of about 100 KB) and the county's second catalog release."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).resolve().parent.parent / "data" / "sample_catalog.json"
PENSION = "11350123003650113W4002004011000"           # 城乡居民基本养老保险参保登记 (county-wide)
BASIC_LIVING = "11350123003650025E4000502011000"      # 最低生活保障申请 (county-wide)
RESIDENCE_A = "54350123ME102206986352099011000"       # 居住证明, decided by 上长治村 itself (即办)
VILLAGE_A, VILLAGE_B = "350123102206", "350123100004"


def id_number(region: str, born: str, seq: str) -> str:
    from forms import id_card_check_char

    first17 = f"{region}{born}{seq}"
    return first17 + id_card_check_char(first17)


def _person(name: str, born: str, seq: str, phone: str, address: str, village: str) -> dict[str, Any]:
    return {"applicant_name": name, "id_number": id_number("350123", born, seq), "phone": phone,
            "address": address, "village_code": village}


def pension_form(name: str, born: str, seq: str, phone: str, village: str, address: str) -> dict[str, Any]:
    return {**_person(name, born, seq, phone, address, village), "is_agent": False, "birth_date": f"{born[:4]}-{born[4:6]}-{born[6:]}",
            "contribution_grade": "300", "bank_name": "福建罗源农村商业银行", "bank_account": "621700" + born + seq[:2]}


def basic_living_form() -> dict[str, Any]:
    return {**_person("郑美华", "19680920", "224", "13959112233", "福建省罗源县凤山镇西门社区西大路8号", VILLAGE_B),
            "is_agent": False, "household_size": 3, "monthly_income_per_capita": "520.00", "hardship_reasons": ["因病", "缺乏劳动力"],
            "has_vehicle": False, "application_reason": "丈夫长期患病卧床，本人照顾家庭无法外出务工，家庭收入微薄。",
            "bank_name": "中国邮政储蓄银行", "bank_account": "6221881234567890"}


def residence_form() -> dict[str, Any]:
    return {**_person("陈丽娟", "19900512", "142", "13600591234", "福建省罗源县起步镇上长治村25号", VILLAGE_A),
            "residence_address": "福建省罗源县起步镇上长治村25号", "residence_since": "2015-03-01",
            "purpose": "子女入学"}


def write_form(folder: Path, name: str, form: dict[str, Any]) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    return path


def write_scan(folder: Path, name: str, seed: int) -> Path:
    """A greyscale 'scan' with paper noise, about 100 KB as PNG (a phone photo of a form is larger)."""
    from PIL import Image

    rand = random.Random(seed)
    width, height = 420, 300
    pixels = bytes(235 + rand.randrange(20) if rand.random() > 0.02 else rand.randrange(80)
                   for _ in range(width * height))
    path = folder / f"{name}.png"
    Image.frombytes("L", (width, height), pixels).save(path, format="PNG")
    return path


def catalog_release_2(folder: Path) -> tuple[Path, str]:
    """The county's next release: the same items, 最低生活保障申请 promised two working days sooner."""
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    catalog["version"] += 1
    item = next(i for i in catalog["items"] if i["code"] == BASIC_LIVING)
    item["promised_limit_days"] = max(1, item["promised_limit_days"] - 2)
    path = folder / f"罗源县事项目录-v{catalog['version']}.json"
    path.write_text(json.dumps(catalog, ensure_ascii=False, indent=1), encoding="utf-8")
    return path, f"{item['name']}承诺时限改为 {item['promised_limit_days']} 个工作日"
