"""Generate ``seeds/roll.csv``: a synthetic resident roll for the 凯旋街道 demo.

Every person here is invented. The file is deterministic (``random.Random(2026)``), so
running ``python seeds/make_roll.py`` again rewrites it byte for byte. It is UTF-8 with a
BOM so that Excel opens the Chinese columns correctly.

ID numbers follow GB 11643-1999: a 上城区 area code (330102 or 330104), a birth date between
1935 and 2006 (weighted towards older residents, as in the old six-storey estates), a
3-digit sequence whose last digit is odd for men and even for women, and the MOD 11-2
check character. Phones are 11-digit mainland mobiles; about 5% of residents, all born
before 1950, have none.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SEED = 2026
OUTPUT = Path(__file__).resolve().parent / "roll.csv"
HEADER = ["姓名", "身份证号", "手机号", "社区", "楼栋", "单元", "房号"]

# Community, residents on the roll, buildings, units per building.
COMMUNITIES = [
    ("南肖埠社区", 160, 18, 3),
    ("景芳社区", 70, 28, 3),
    ("濮家社区", 60, 16, 4),
    ("新风社区", 60, 12, 3),
    ("华家池社区", 50, 8, 2),
]
FLOORS = 6
DOORS_PER_FLOOR = 2

AREA_CODES = ["330102", "330104"]
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
ODD_DIGITS = (1, 3, 5, 7, 9)
EVEN_DIGITS = (0, 2, 4, 6, 8)

# Birth decades, weighted: many elderly residents.
BIRTH_RANGES = [
    ((1935, 1949), 28),
    ((1950, 1959), 22),
    ((1960, 1969), 16),
    ((1970, 1979), 10),
    ((1980, 1989), 10),
    ((1990, 1999), 9),
    ((2000, 2006), 5),
]
NO_PHONE_SHARE = 0.05
NO_PHONE_BORN_BEFORE = 1950

PHONE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "157", "158", "159",
    "170", "173", "177", "178",
    "180", "181", "182", "183", "186", "187", "188", "189",
    "191", "193", "198", "199",
]  # fmt: skip

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹孟章俞楼虞茅诸钱应"
)
# Weighted: the first twenty surnames are about as common as all the rest together.
SURNAME_WEIGHTS = [4] * 20 + [1] * (len(SURNAMES) - 20)
MALE_CHARS = "建国明华伟强军平志刚文斌海峰勇杰永林德荣宏涛庆国忠立新杭生金根"
FEMALE_CHARS = "秀英兰芳玉珍丽娟敏静红梅霞燕萍琴慧婷雪芬美娣凤月佩蓉彩云"
NEUTRAL_CHARS = "晓嘉子思欣一佳宇春小亦安云"


@dataclass
class Resident:
    name: str
    id_number: str
    born: date
    community: str
    building: str
    unit: str
    room: str
    phone: str = ""

    def row(self) -> list[str]:
        """The CSV row, in HEADER order."""
        return [
            self.name,
            self.id_number,
            self.phone,
            self.community,
            self.building,
            self.unit,
            self.room,
        ]


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def birth_date(rng: random.Random) -> date:
    spans = [span for span, _ in BIRTH_RANGES]
    first, last = rng.choices(spans, weights=[weight for _, weight in BIRTH_RANGES])[0]
    start = date(first, 1, 1)
    days = (date(last, 12, 31) - start).days
    return start + timedelta(days=rng.randint(0, days))


def given_name(rng: random.Random, male: bool) -> str:
    pool = MALE_CHARS if male else FEMALE_CHARS
    if rng.random() < 0.3:
        return rng.choice(pool)
    first = rng.choice(pool + NEUTRAL_CHARS)
    second = rng.choice(pool)
    while second == first:
        second = rng.choice(pool)
    return first + second


def id_number(rng: random.Random, born: date, male: bool, taken: set[str]) -> str:
    while True:
        # The sequence's last digit is odd for men, even for women.
        sequence = rng.randint(0, 99) * 10 + rng.choice(ODD_DIGITS if male else EVEN_DIGITS)
        if sequence == 0:
            continue
        first17 = f"{rng.choice(AREA_CODES)}{born:%Y%m%d}{sequence:03d}"
        number = first17 + id_check_char(first17)
        if number not in taken:
            taken.add(number)
            return number


def phone_number(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def households(rng: random.Random, buildings: int, units: int) -> list[tuple[str, str, str]]:
    """Every flat in the community, shuffled: (楼栋, 单元, 房号)."""
    flats = [
        (f"{b}幢", f"{u}单元", f"{floor}0{door}")
        for b in range(1, buildings + 1)
        for u in range(1, units + 1)
        for floor in range(1, FLOORS + 1)
        for door in range(1, DOORS_PER_FLOOR + 1)
    ]
    rng.shuffle(flats)
    return flats


def community_residents(
    rng: random.Random, community: tuple[str, int, int, int], ids: set[str]
) -> list[Resident]:
    name, count, buildings, units = community
    flats = iter(households(rng, buildings, units))
    people: list[Resident] = []
    while len(people) < count:
        building, unit, room = next(flats)
        family = rng.choice(SURNAMES)
        size = min(rng.choices([1, 2, 3], weights=[35, 45, 20])[0], count - len(people))
        for member in range(size):
            male = rng.random() < 0.47
            # A third household member shares the first one's surname (a parent or child).
            surname = family if member in (0, 2) else rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
            born = birth_date(rng)
            people.append(
                Resident(
                    name=surname + given_name(rng, male),
                    id_number=id_number(rng, born, male, ids),
                    born=born,
                    community=name,
                    building=building,
                    unit=unit,
                    room=room,
                )
            )
    return people


def building_order(person: Resident) -> tuple[int, int, int]:
    return (
        int(person.building.removesuffix("幢")),
        int(person.unit.removesuffix("单元")),
        int(person.room),
    )


def assign_phones(rng: random.Random, people: list[Resident]) -> None:
    """Give everyone a distinct phone, except about 5% of the oldest residents."""
    elderly = [i for i, p in enumerate(people) if p.born.year < NO_PHONE_BORN_BEFORE]
    without = set(rng.sample(elderly, round(len(people) * NO_PHONE_SHARE)))
    taken: set[str] = set()
    for index, person in enumerate(people):
        person.phone = "" if index in without else phone_number(rng, taken)


def build_roll(rng: random.Random) -> list[Resident]:
    ids: set[str] = set()
    people: list[Resident] = []
    for community in COMMUNITIES:
        residents = community_residents(rng, community, ids)
        residents.sort(key=building_order)
        people.extend(residents)
    assign_phones(rng, people)
    return people


def main() -> None:
    people = build_roll(random.Random(SEED))
    with OUTPUT.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for person in people:
            writer.writerow(person.row())
    sys.stdout.write(f"wrote {len(people)} residents to {OUTPUT}\n")


if __name__ == "__main__":
    main()
