"""The form-like records both replicators push in the PouchDB comparison (bench/bench_pouchdb.py).

Each record is a filled-in 城乡居民基本养老保险参保登记 form from the sample catalog (an application made by
an agent, so the agent's fields are there too): Chinese names and addresses, ID numbers with a valid check
character, phones, a bank account; about 500 bytes of UTF-8 JSON. Generated from a seed, so both sides push
byte-for-byte the same values.
"""

from __future__ import annotations

import json
import random

ITEM_NAME = "城乡居民基本养老保险参保登记"
VILLAGE = "350123102206"
SURNAMES = "林陈黄郑王张吴刘李杨游江蔡詹魏"
GIVEN = "秀英建国丽华志明淑芬金水春生玉兰德福文清海燕"
PLACES = ["上长治村", "下长治村", "起步村", "溪口村", "后洋村", "岭头村"]
RELATIONS = ["配偶", "子女", "父母", "兄弟姐妹", "其他近亲属", "村（社区）代办员"]
GRADES = ["200", "300", "500", "700", "1000", "1500", "2000", "3000", "4000", "5000"]
GROUPS = ["最低生活保障对象", "特困人员", "重度残疾人", "返贫致贫人口", "无"]
BANKS = ["福建罗源农村商业银行", "中国农业银行", "中国邮政储蓄银行", "中国建设银行", "中国工商银行"]


def _id_number(rng: random.Random, born: str) -> str:
    from forms import id_card_check_char

    first17 = f"350123{born}{rng.randint(100, 999)}"
    return first17 + id_card_check_char(first17)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def make_records(count: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        born = f"19{rng.randint(40, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        agent_born = f"19{rng.randint(60, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        records.append({
            "applicant_name": _name(rng),
            "id_number": _id_number(rng, born),
            "phone": f"138{rng.randint(0, 99_999_999):08d}",
            "address": f"福建省罗源县起步镇{rng.choice(PLACES)}{rng.randint(1, 240)}号",
            "village_code": VILLAGE,
            "is_agent": True,
            "agent_name": _name(rng),
            "agent_id_number": _id_number(rng, agent_born),
            "agent_phone": f"139{rng.randint(0, 99_999_999):08d}",
            "agent_relation": rng.choice(RELATIONS),
            "birth_date": f"{born[:4]}-{born[4:6]}-{born[6:]}",
            "contribution_grade": rng.choice(GRADES),
            "special_group": sorted(set(rng.sample(GROUPS[:4], rng.randint(0, 2)))) or ["无"],
            "bank_name": rng.choice(BANKS),
            "bank_account": f"62170{rng.randint(10**12, 10**13 - 1)}",
        })
    return records


def record_bytes(records: list[dict]) -> float:
    """Mean size of a record as compact UTF-8 JSON."""
    return sum(len(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode()) for r in records) / len(records)


if __name__ == "__main__":
    sample = make_records(100)
    print(json.dumps(sample[0], ensure_ascii=False, indent=1))
    print(f"mean {record_bytes(sample):.0f} bytes")
