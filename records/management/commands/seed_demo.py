"""Synthetic demo data for `make run`: residents of Koshigaya with valid generated My Numbers, clinics,
vaccines, vaccination records that pass every rule, and one user per role with backup codes.

Nothing here is real: names are common names drawn at random, addresses are random lot numbers in real
town names, My Numbers come from a seeded generator. The run is idempotent: residents are keyed by their
宛名番号 (the same seed always generates the same ones), a resident already present is left alone with
its records, masters are fetched or created by code, and users are updated in place. Each run sets the
demo users' password again and issues fresh backup codes, which are printed once.

Residents and records are written with bulk_create for speed, so no django-auditlog signal fires for
them and no audit entry names them. That is deliberate for demo data: it is generated, not changed by
anyone, and an audit trail of the seeding would only bury real entries. Services that write personal data
in bulk in production must write their own audit entries (STYLE.md, "Bulk writes send no signals").
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import backup_codes_issue
from records.crypto import encrypt_my_number, my_number_blind_index
from records.models import (
    Clinic,
    ExaminationCategory,
    PaymentCategory,
    RecordSource,
    ResidencyStatus,
    Resident,
    Sex,
    VaccinationRecord,
    Vaccine,
)
from records.rules.age import legal_age
from records.rules.kana import kana_key, name_key, normalize_kana
from records.rules.mynumber import generate_my_number
from records.rules.vaccination import check_vaccination

DEFAULT_SEED = 20261126
DEFAULT_RESIDENTS = 2000
DEMO_PASSWORD = "koshigaya-demo-2026"  # noqa: S105 - printed by every run; demo users only
ADDRESS_NUMBER_PREFIX = "5"  # demo 宛名番号: 5 followed by 9 digits, apart from hand-made test data
BATCH_SIZE = 500

# (family name, reading)
FAMILY_NAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
    ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"),
    ("石井", "イシイ"), ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("近藤", "コンドウ"),
    ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"), ("藤井", "フジイ"),
    ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"), ("中野", "ナカノ"),
    ("三浦", "ミウラ"), ("原田", "ハラダ"), ("新井", "アライ"), ("関根", "セキネ"),
    ("大野", "オオノ"), ("野口", "ノグチ"), ("内田", "ウチダ"), ("小島", "コジマ"),
    ("島田", "シマダ"), ("浅野", "アサノ"), ("久保", "クボ"), ("千葉", "チバ"),
]

# (given name, reading), split by generation so that an 80-year-old is not called 陽翔.
MALE_NAMES_OLDER = [
    ("太郎", "タロウ"), ("一郎", "イチロウ"), ("誠", "マコト"), ("浩二", "コウジ"), ("隆", "タカシ"),
    ("修", "オサム"), ("清", "キヨシ"), ("茂", "シゲル"), ("勇", "イサム"), ("博", "ヒロシ"),
    ("正男", "マサオ"), ("和夫", "カズオ"), ("実", "ミノル"), ("進", "ススム"), ("昭", "アキラ"),
    ("健一", "ケンイチ"), ("秀樹", "ヒデキ"), ("稔", "ミノル"), ("武", "タケシ"), ("義雄", "ヨシオ"),
]
MALE_NAMES_YOUNGER = [
    ("健太", "ケンタ"), ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("拓也", "タクヤ"), ("蓮", "レン"),
    ("湊", "ミナト"), ("陽翔", "ハルト"), ("悠真", "ユウマ"), ("大翔", "ヒロト"), ("直樹", "ナオキ"),
    ("達也", "タツヤ"), ("亮", "リョウ"), ("悠人", "ユウト"), ("樹", "イツキ"), ("颯太", "ソウタ"),
    ("智也", "トモヤ"), ("蒼", "アオイ"), ("陸", "リク"), ("悠斗", "ハルト"), ("翔", "ショウ"),
]
FEMALE_NAMES_OLDER = [
    ("花子", "ハナコ"), ("恵子", "ケイコ"), ("洋子", "ヨウコ"), ("和子", "カズコ"), ("幸子", "サチコ"),
    ("京子", "キョウコ"), ("久美子", "クミコ"), ("由美", "ユミ"), ("真由美", "マユミ"), ("直美", "ナオミ"),
    ("明美", "アケミ"), ("文子", "フミコ"), ("節子", "セツコ"), ("美智子", "ミチコ"), ("敏子", "トシコ"),
    ("順子", "ジュンコ"), ("典子", "ノリコ"), ("智子", "トモコ"), ("裕子", "ユウコ"), ("静江", "シズエ"),
]
FEMALE_NAMES_YOUNGER = [
    ("陽菜", "ヒナ"), ("結衣", "ユイ"), ("美咲", "ミサキ"), ("さくら", "サクラ"), ("葵", "アオイ"),
    ("凛", "リン"), ("芽依", "メイ"), ("結菜", "ユイナ"), ("紬", "ツムギ"), ("陽葵", "ヒマリ"),
    ("愛", "アイ"), ("舞", "マイ"), ("千尋", "チヒロ"), ("彩", "アヤ"), ("美穂", "ミホ"),
    ("莉子", "リコ"), ("杏", "アン"), ("優奈", "ユウナ"), ("彩花", "アヤカ"), ("琴音", "コトネ"),
]
OLDER_GENERATION_AGE = 50

# (town, postal code, number of 丁目 or 0 for a town written with 番地 only) — real town names of
# Koshigaya; the lot numbers are random.
TOWNS = [
    ("越ヶ谷", "343-0813", 5), ("越ヶ谷本町", "343-0815", 0), ("南越谷", "343-0845", 5),
    ("東越谷", "343-0023", 10), ("北越谷", "343-0026", 5), ("蒲生", "343-0836", 0),
    ("蒲生寿町", "343-0837", 0), ("大沢", "343-0025", 4), ("千間台東", "343-0041", 4),
    ("千間台西", "343-0042", 6), ("花田", "343-0015", 7), ("弥生町", "343-0816", 0),
    ("レイクタウン", "343-0828", 9), ("袋山", "343-0032", 0), ("大間野町", "343-0844", 5),
    ("増林", "343-0011", 0), ("瓦曽根", "343-0807", 3), ("赤山町", "343-0003", 5),
]
BUILDINGS = [
    "コーポ越谷", "ハイツ南越谷", "レジデンス蒲生", "メゾン千間台", "グリーンハイツ大沢", "サンライズ越ヶ谷",
]
PLACES_BEFORE_MOVE_IN = [
    "東京都足立区 あだち内科クリニック", "千葉県松戸市 まつど小児科", "埼玉県草加市 そうか診療所",
    "埼玉県春日部市 かすかべ医院", "東京都葛飾区 かつしかファミリークリニック",
]

CLINICS = [
    ("1110000011", "越谷駅前内科クリニック", "埼玉県越谷市弥生町1番1号"),
    ("1110000029", "南越谷こどもクリニック", "埼玉県越谷市南越谷1丁目2番3号"),
    ("1110000037", "せんげん台ファミリークリニック", "埼玉県越谷市千間台東1丁目4番5号"),
    ("1110000045", "蒲生内科医院", "埼玉県越谷市蒲生寿町6番7号"),
    ("1110000052", "北越谷診療所", "埼玉県越谷市北越谷2丁目8番9号"),
    ("1110000060", "レイクタウン総合クリニック", "埼玉県越谷市レイクタウン3丁目10番11号"),
]
DOCTORS = ["大川 正人", "小野寺 涼子", "片山 隆之", "北村 沙織", "桑原 一成", "白石 麻衣", "谷口 健",
           "堤 美和", "永井 聡", "早川 香織", "松井 浩", "宮崎 由紀"]
VACCINES = [
    ("FLU01", "新型インフルエンザワクチン（H5N1）", "第一三共株式会社", Decimal("0.50")),
    ("FLU02", "新型インフルエンザワクチン（細胞培養）", "KMバイオロジクス株式会社", Decimal("0.50")),
    ("FLU03", "新型インフルエンザワクチン（鶏卵）", "デンカ株式会社", Decimal("0.50")),
]
CHILD_DOSE = Decimal("0.25")  # under 3 years
FEE_VACCINATED = 3520
FEE_SCREENING_ONLY = 2090

DEMO_USERS = [
    ("demo-staff", Role.STAFF, "職員", "デモ"),
    ("demo-clinic", Role.CLINIC, "医療機関", "デモ"),
    ("demo-auditor", Role.AUDITOR, "監査", "デモ"),
    ("demo-admin", Role.ADMINISTRATOR, "管理者", "デモ"),
]


@dataclass
class PlannedRecord:
    vaccinated_on: date
    vaccine_index: int
    clinic_index: int | None
    place_text: str
    before_move_in: bool
    examination_category: int
    lot_number: str
    screening_doctor: str
    vaccinating_doctor: str
    payment_category: int
    fee_yen: int
    dose_ml: Decimal
    billing_month: date
    remarks1: str
    source: str


@dataclass
class PlannedResident:
    address_number: str
    my_number: str
    name: str
    name_kana: str
    sex: int
    birth_date: date
    postal_code: str
    address: str
    address_detail: str
    phone: str
    residency_status: str
    moved_in_on: date | None
    moved_out_on: date | None
    died_on: date | None
    records: list[PlannedRecord]


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max((end - start).days, 0)))


def _address(rng: random.Random) -> tuple[str, str, str]:
    town, postal_code, chome_count = rng.choice(TOWNS)
    if chome_count:
        lot = f"{town}{rng.randint(1, chome_count)}丁目{rng.randint(1, 30)}番{rng.randint(1, 25)}号"
    else:
        lot = f"{town}{rng.randint(1, 3000)}番地{rng.randint(1, 20)}"
    detail = ""
    if rng.random() < 0.25:
        detail = f"{rng.choice(BUILDINGS)}{rng.randint(1, 5)}0{rng.randint(1, 8)}号室"
    return postal_code, f"埼玉県越谷市{lot}", detail


def _phone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return f"048-9{rng.randint(60, 99)}-{rng.randint(0, 9999):04d}"
    if roll < 0.85:
        return f"0{rng.choice([70, 80, 90])}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
    return ""


def _plan_records(rng: random.Random, person: PlannedResident, *, today: date) -> list[PlannedRecord]:
    """Zero to three doses over the last two seasons, each valid on its own and unique per event."""
    earliest = max(today - timedelta(days=730), person.birth_date + timedelta(days=183))  # from 6 months old
    latest = today - timedelta(days=1)
    for cutoff in (person.moved_out_on, person.died_on):
        if cutoff is not None:
            latest = min(latest, cutoff)
    if earliest > latest or rng.random() < 0.2:
        return []
    planned: list[PlannedRecord] = []
    seen: set[tuple[date, int, int]] = set()
    for _ in range(rng.choice([1, 2, 2, 3])):
        vaccinated_on = _random_day(rng, earliest, latest)
        before_move_in = person.moved_in_on is not None and vaccinated_on < person.moved_in_on
        screening_only = rng.random() < 0.05
        category = ExaminationCategory.SCREENING_ONLY if screening_only else ExaminationCategory.VACCINATED
        vaccine_index = rng.randrange(len(VACCINES))
        key = (vaccinated_on, vaccine_index, int(category))
        if key in seen:
            continue
        seen.add(key)
        age = legal_age(person.birth_date, vaccinated_on)
        dose = CHILD_DOSE if age < 3 else VACCINES[vaccine_index][3]
        payment = PaymentCategory.SELF if rng.random() < 0.08 else PaymentCategory.PUBLIC
        fee = FEE_SCREENING_ONLY if screening_only else FEE_VACCINATED
        if payment == PaymentCategory.SELF:
            fee = 0  # the city pays no fee for a self-paid dose
        billing = date(vaccinated_on.year, vaccinated_on.month, 1)
        if rng.random() < 0.3:  # claimed the month after
            following = (billing + timedelta(days=32)).replace(day=1)
            if following <= today:
                billing = following
        doctor = rng.choice(DOCTORS)
        planned.append(PlannedRecord(
            vaccinated_on=vaccinated_on,
            vaccine_index=vaccine_index,
            clinic_index=None if before_move_in else rng.randrange(len(CLINICS)),
            place_text=rng.choice(PLACES_BEFORE_MOVE_IN) if before_move_in else "",
            before_move_in=before_move_in,
            examination_category=int(category),
            lot_number="" if screening_only else f"{VACCINES[vaccine_index][0][-2:]}{rng.randint(100, 999)}-"
                                                 f"{rng.choice('ABCDEFGH')}{rng.randint(10, 99)}",
            screening_doctor=doctor,
            vaccinating_doctor="" if screening_only else doctor,
            payment_category=int(payment),
            fee_yen=fee,
            dose_ml=Decimal("0") if screening_only else dose,
            billing_month=billing,
            remarks1="体調不良のため接種見合わせ" if screening_only else "",
            source=RecordSource.LINKAGE if before_move_in else RecordSource.CLINIC_IMPORT,
        ))
    return planned


def plan_residents(*, count: int, seed: int, today: date) -> Iterator[PlannedResident]:
    """The same ``seed`` gives the same people (宛名番号, names, My Numbers) in the same order. Three
    independent streams keep My Numbers and 宛名番号 stable even though dates move with ``today``."""
    people = random.Random(seed)
    numbers = random.Random(seed + 1)
    histories = random.Random(seed + 2)
    issued: set[str] = set()
    for index in range(1, count + 1):
        my_number = generate_my_number(numbers)
        while my_number in issued:
            my_number = generate_my_number(numbers)
        issued.add(my_number)
        sex = people.choice([Sex.MALE, Sex.FEMALE])
        birth_date = today - timedelta(days=people.randint(0, 100 * 365 + 24))
        older = legal_age(birth_date, today) >= OLDER_GENERATION_AGE
        if sex == Sex.MALE:
            given, given_kana = people.choice(MALE_NAMES_OLDER if older else MALE_NAMES_YOUNGER)
        else:
            given, given_kana = people.choice(FEMALE_NAMES_OLDER if older else FEMALE_NAMES_YOUNGER)
        family, family_kana = people.choice(FAMILY_NAMES)
        postal_code, address, address_detail = _address(people)
        status = people.choices(
            [ResidencyStatus.RESIDENT, ResidencyStatus.MOVED_OUT, ResidencyStatus.DECEASED,
             ResidencyStatus.NON_RESIDENT],
            weights=[88, 5, 4, 3],
        )[0]
        since_birth_or_3y = max(birth_date, today - timedelta(days=3 * 365))
        moved_in_on = _random_day(people, since_birth_or_3y, today) if people.random() < 0.15 else None
        if moved_in_on is not None and moved_in_on == birth_date:
            moved_in_on = None
        moved_out_on = died_on = None
        if status == ResidencyStatus.MOVED_OUT:
            moved_out_on = _random_day(people, moved_in_on or since_birth_or_3y, today)
        elif status == ResidencyStatus.DECEASED:
            died_from = max(birth_date, moved_in_on or today - timedelta(days=5 * 365))
            died_on = _random_day(people, died_from, today)
        elif status == ResidencyStatus.NON_RESIDENT:
            moved_in_on = None
        person = PlannedResident(
            address_number=f"{ADDRESS_NUMBER_PREFIX}{index:09d}",
            my_number=my_number,
            name=f"{family}\u3000{given}",
            name_kana=normalize_kana(f"{family_kana} {given_kana}"),
            sex=int(sex),
            birth_date=birth_date,
            postal_code=postal_code,
            address=address,
            address_detail=address_detail,
            phone=_phone(people),
            residency_status=str(status),
            moved_in_on=moved_in_on,
            moved_out_on=moved_out_on,
            died_on=died_on,
            records=[],
        )
        person.records = _plan_records(histories, person, today=today)
        yield person


def _resident_row(person: PlannedResident) -> Resident:
    """The same fields records.services.resident_create sets, validated the same way (minus the
    uniqueness queries, which bulk_create's constraints enforce)."""
    resident = Resident(
        address_number=person.address_number,
        my_number_ciphertext=encrypt_my_number(person.my_number),
        my_number_index=my_number_blind_index(person.my_number),
        name=person.name,
        name_kana=person.name_kana,
        kana_key=kana_key(person.name_kana),
        name_key=name_key(person.name),
        sex=person.sex,
        birth_date=person.birth_date,
        postal_code=person.postal_code,
        address=person.address,
        address_detail=person.address_detail,
        phone=person.phone,
        residency_status=person.residency_status,
        moved_in_on=person.moved_in_on,
        moved_out_on=person.moved_out_on,
        died_on=person.died_on,
    )
    resident.clean_fields()
    resident.clean()
    return resident


class Command(BaseCommand):
    help = "Load synthetic demo data (residents, clinics, vaccines, records, one user per role). Rerunnable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS,
                            help=f"number of demo residents (default {DEFAULT_RESIDENTS})")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help="random seed (same seed, same people)")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password set on every demo user")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["residents"]
        if count < 0:
            raise CommandError("--residents must be 0 or more.")
        today = timezone.localdate()
        with transaction.atomic():
            clinics = self._masters_clinics()
            vaccines = self._masters_vaccines()
            users = self._users(password=options["password"], clinic=clinics[0])
            created_residents, created_records = self._residents(
                count=count, seed=options["seed"], today=today, clinics=clinics, vaccines=vaccines,
                author=users["demo-staff"][0],
            )
        self.stdout.write(self.style.SUCCESS(
            f"デモデータ: 宛名 {created_residents} 件・接種記録 {created_records} 件を追加しました"
            f"（合計 宛名 {Resident.objects.count()} 件・接種記録 {VaccinationRecord.objects.count()} 件、"
            f"医療機関 {len(clinics)} 件、ワクチン {len(vaccines)} 件）。"
        ))
        self._print_logins(users, password=options["password"])

    # --- masters ---------------------------------------------------------------------------------

    def _masters_clinics(self) -> list[Clinic]:
        clinics = []
        for code, name, address in CLINICS:
            clinic, _created = Clinic.objects.get_or_create(
                code=code, defaults={"name": name, "address": address},
            )
            clinics.append(clinic)
        return clinics

    def _masters_vaccines(self) -> list[Vaccine]:
        vaccines = []
        for code, name, maker, dose in VACCINES:
            vaccine, _created = Vaccine.objects.get_or_create(
                code=code, defaults={"name": name, "maker": maker, "standard_dose_ml": dose},
            )
            vaccines.append(vaccine)
        return vaccines

    # --- users -----------------------------------------------------------------------------------

    def _users(self, *, password: str, clinic: Clinic) -> dict[str, tuple[User, list[str]]]:
        """One user per role, each with a confirmed backup-code device holding fresh codes."""
        out: dict[str, tuple[User, list[str]]] = {}
        for username, role, first_name, last_name in DEMO_USERS:
            user, _created = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first_name, last_name
            user.is_active = True
            user.is_staff = role == Role.ADMINISTRATOR
            user.clinic = clinic if role == Role.CLINIC else None
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role.value)])
            # The same service as the backup-codes page: one confirmed device per user, fresh codes,
            # only their HMACs stored, BACKUP_CODES_ISSUED recorded.
            out[username] = (user, backup_codes_issue(actor=user))
        return out

    def _print_logins(self, users: dict[str, tuple[User, list[str]]], *, password: str) -> None:
        self.stdout.write("")
        self.stdout.write("デモ利用者 / demo users")
        self.stdout.write(f"  パスワード / password (all users): {password}")
        self.stdout.write("  パスワードでサインインし、次の画面で下のバックアップコードを1つ入力してください"
                          "（各コードは1回限り）。認証アプリを登録することもできます。")
        self.stdout.write("  Sign in with the password, then one of these backup codes (each works once);"
                          " or enrol an authenticator app.")
        for username, (user, codes) in users.items():
            self.stdout.write(f"  {username:<13} ({user.role_label}): {' '.join(codes)}")
        self.stdout.write("  コードは実行のたびに発行し直されます。")
        self.stdout.write("  Every run of `manage.py seed_demo` issues new codes and retires the old ones.")

    # --- residents and records -------------------------------------------------------------------

    def _residents(
        self, *, count: int, seed: int, today: date, clinics: list[Clinic], vaccines: list[Vaccine],
        author: User,
    ) -> tuple[int, int]:
        plan = list(plan_residents(count=count, seed=seed, today=today))
        existing = set(
            Resident.objects.filter(address_number__startswith=ADDRESS_NUMBER_PREFIX)
            .values_list("address_number", flat=True)
        )
        new_people = [person for person in plan if person.address_number not in existing]
        Resident.objects.bulk_create((_resident_row(p) for p in new_people), batch_size=BATCH_SIZE)

        ids = dict(
            Resident.objects.filter(address_number__in=[p.address_number for p in new_people])
            .values_list("address_number", "id")
        )
        rows = [row for person in new_people for row in self._record_rows(
            person, resident_id=ids[person.address_number], today=today, clinics=clinics, vaccines=vaccines,
            author=author,
        )]
        VaccinationRecord.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        return len(new_people), len(rows)

    def _record_rows(
        self, person: PlannedResident, *, resident_id: int, today: date, clinics: list[Clinic],
        vaccines: list[Vaccine], author: User,
    ) -> Iterator[VaccinationRecord]:
        resident = Resident(id=resident_id, birth_date=person.birth_date)
        for planned in person.records:
            clinic = clinics[planned.clinic_index] if planned.clinic_index is not None else None
            record = VaccinationRecord(
                resident=resident,
                vaccinated_on=planned.vaccinated_on,
                clinic=clinic,
                place_text=planned.place_text,
                age_at_vaccination=legal_age(person.birth_date, planned.vaccinated_on),
                billing_month=planned.billing_month,
                examination_category=planned.examination_category,
                lot_number=planned.lot_number,
                vaccine=vaccines[planned.vaccine_index],
                before_move_in=planned.before_move_in,
                screening_doctor=planned.screening_doctor,
                vaccinating_doctor=planned.vaccinating_doctor,
                payment_category=planned.payment_category,
                fee_yen=planned.fee_yen,
                dose_ml=planned.dose_ml,
                remarks1=planned.remarks1,
                source=planned.source,
                created_by=author,
                updated_by=author,
            )
            # The same cross-field rules the forms, the API and the import apply; a violation here is a
            # bug in this generator, so stop rather than store an invalid record.
            violations = check_vaccination(record.facts(), today=today)
            if violations:
                raise CommandError(f"generated an invalid record ({violations[0].code}); fix seed_demo")
            record.clean_fields(exclude=["resident", "vaccine", "clinic", "created_by", "updated_by"])
            yield record
