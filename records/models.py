"""Resident address records (宛名), the clinic and vaccine masters, and vaccination records with the 16
items of the city's assessment (seed 別添2)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.db import BaseModel
from records.crypto import decrypt_my_number
from records.rules.age import legal_age
from records.rules.mynumber import mask_my_number
from records.rules.residency import Period, derived_periods
from records.rules.vaccination import VaccinationFacts, check_vaccination

clinic_code_validator = RegexValidator(r"^\d{10}$", _("医療機関コードは数字10桁です。"), "clinic_code")
address_number_validator = RegexValidator(r"^\d{1,15}$", _("宛名番号は数字15桁以内です。"), "address_number")
lot_number_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9-]*$", _("LOT-NOは英大文字・数字・ハイフンで入力してください。"), "lot_number"
)
postal_code_validator = RegexValidator(r"^\d{3}-\d{4}$", _("郵便番号は 123-4567 の形式です。"), "postal_code")
phone_validator = RegexValidator(r"^[0-9+\-() ]{0,20}$", _("連絡先は数字とハイフンで入力してください。"), "phone")


class Sex(models.IntegerChoices):
    """JIS X 0303."""

    UNKNOWN = 0, _("不明")
    MALE = 1, _("男")
    FEMALE = 2, _("女")
    NOT_APPLICABLE = 9, _("適用不能")


class ResidencyStatus(models.TextChoices):
    RESIDENT = "resident", _("住民")
    MOVED_OUT = "moved_out", _("転出")
    DECEASED = "deceased", _("死亡")
    NON_RESIDENT = "non_resident", _("住登外者")


class Clinic(BaseModel):
    code = models.CharField(_("医療機関コード"), max_length=10, unique=True, validators=[clinic_code_validator])
    name = models.CharField(_("医療機関名"), max_length=100)
    address = models.CharField(_("所在地"), max_length=200, blank=True)
    is_active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("医療機関")
        verbose_name_plural = _("医療機関")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Vaccine(BaseModel):
    code = models.CharField(_("ワクチンコード"), max_length=10, unique=True,
                            validators=[RegexValidator(r"^[A-Z0-9]{1,10}$")])
    name = models.CharField(_("ワクチン名"), max_length=100)
    maker = models.CharField(_("製造販売業者"), max_length=100)
    standard_dose_ml = models.DecimalField(_("標準接種量（mL）"), max_digits=4, decimal_places=2,
                                           validators=[MinValueValidator(Decimal("0.01"))])
    is_active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("ワクチン")
        verbose_name_plural = _("ワクチン")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Resident(BaseModel):
    """A person known to the city: resident, moved out, deceased or registered non-resident. The dead
    keep their records and are handled like the living (seed III.7 ⑩)."""

    # Unique through Meta.constraints rather than unique=True, here and below: on PostgreSQL unique=True
    # adds a second, LIKE-pattern index to a CharField that no query uses and every write maintains.
    address_number = models.CharField(_("団体内宛名番号"), max_length=15, validators=[address_number_validator])
    # 個人番号: only ciphertext and a keyed blind index are stored; see records/crypto.py.
    my_number_ciphertext = models.TextField(_("個人番号"), blank=True, editable=False)
    # NULL, not "", for "none": the unique constraints admit any number of NULLs.
    my_number_index = models.CharField(_("個人番号検索索引"), max_length=64, null=True, blank=True,  # noqa: DJ001
                                       editable=False)
    information_provision_code = models.CharField(_("情報提供用個人識別符号"), max_length=64, null=True,  # noqa: DJ001
                                                  blank=True)
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("氏名の振り仮名"), max_length=100)
    # Searched by prefix (kana_key__startswith, which the LIKE-pattern index serves) and, for the name,
    # exactly (eligibility's checks) or by substring (no btree helps).
    kana_key = models.CharField(_("振り仮名検索キー"), max_length=100, db_index=True, editable=False)
    name_key = models.CharField(_("氏名検索キー"), max_length=100, editable=False)
    sex = models.PositiveSmallIntegerField(_("性別"), choices=Sex.choices)
    birth_date = models.DateField(_("生年月日"), db_index=True)
    postal_code = models.CharField(_("郵便番号"), max_length=8, blank=True, validators=[postal_code_validator])
    address = models.CharField(_("住所"), max_length=200)
    address_detail = models.CharField(_("方書"), max_length=100, blank=True)
    phone = models.CharField(_("連絡先"), max_length=20, blank=True, validators=[phone_validator])
    residency_status = models.CharField(_("住民状態"), max_length=20, choices=ResidencyStatus.choices,
                                        default=ResidencyStatus.RESIDENT)
    moved_in_on = models.DateField(_("転入日"), null=True, blank=True)
    moved_out_on = models.DateField(_("転出日"), null=True, blank=True)
    died_on = models.DateField(_("死亡日"), null=True, blank=True)
    # Flags that cascade through eligibility, notices, linkage and screens (issue #7 sets them through
    # services; everything else only reads them).
    is_protected = models.BooleanField(
        _("支援措置対象"), default=False,
        help_text=_("DV等支援措置の対象者。通知の送付停止、住所の非表示、自動応答の停止、閲覧理由の記録。"),
    )
    auto_response_disabled = models.BooleanField(_("自動応答不可フラグ"), default=False)
    use_suspended = models.BooleanField(_("利用停止中"), default=False,
                                        help_text=_("利用停止請求が認められている間は抽出・通知・自動提供から除外します。"))
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)  # BaseModel's, without its index

    class Meta:
        verbose_name = _("宛名")
        verbose_name_plural = _("宛名")
        ordering = ["kana_key", "birth_date"]
        permissions = [("reveal_my_number", _("個人番号を表示できる"))]
        indexes = [models.Index(fields=["name_key"], name="resident_name_key_idx")]
        constraints = [
            models.UniqueConstraint(fields=["address_number"], name="resident_address_number_unique"),
            models.UniqueConstraint(fields=["my_number_index"], name="resident_my_number_index_unique"),
            models.UniqueConstraint(fields=["information_provision_code"],
                                    name="resident_provision_code_unique"),
            models.CheckConstraint(
                condition=~Q(residency_status=ResidencyStatus.MOVED_OUT) | Q(moved_out_on__isnull=False),
                name="resident_moved_out_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(residency_status=ResidencyStatus.DECEASED) | Q(died_on__isnull=False),
                name="resident_deceased_has_date",
            ),
            models.CheckConstraint(
                condition=Q(my_number_index__isnull=True, my_number_ciphertext="")
                | (Q(my_number_index__isnull=False) & ~Q(my_number_ciphertext="")),
                name="resident_my_number_index_with_ciphertext",
            ),
        ]

    def __str__(self) -> str:
        # Never the My Number: this string ends up in audit entries and admin pages.
        return f"{self.address_number} {self.name}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.moved_out_on and self.moved_in_on and self.moved_out_on < self.moved_in_on:
            errors["moved_out_on"] = _("転出日が転入日より前です。")
        if self.died_on and self.birth_date and self.died_on < self.birth_date:
            errors["died_on"] = _("死亡日が生年月日より前です。")
        if errors:
            raise ValidationError(errors)

    @property
    def has_my_number(self) -> bool:
        return bool(self.my_number_ciphertext)

    @cached_property
    def my_number_masked(self) -> str:
        """``********9018``; the whole number is only shown through the audited reveal service."""
        if not self.my_number_ciphertext:
            return ""
        return mask_my_number(decrypt_my_number(self.my_number_ciphertext))

    def age_on(self, on: date) -> int:
        return legal_age(self.birth_date, on)

    @property
    def auto_response_blocked(self) -> bool:
        """Inbound linkage queries about this person wait for staff confirmation."""
        return self.auto_response_disabled or self.is_protected or self.use_suspended

    def derived_periods(self) -> list[Period]:
        return derived_periods(
            status=self.residency_status, birth_date=self.birth_date, moved_in_on=self.moved_in_on,
            moved_out_on=self.moved_out_on, died_on=self.died_on, address=self.address,
        )


class ResidencyCause(models.TextChoices):
    INITIAL = "initial", _("初期登録")
    BIRTH = "birth", _("出生")
    MOVE_IN = "move_in", _("転入")
    MOVE_OUT = "move_out", _("転出")
    DEATH = "death", _("死亡")
    ADDRESS_CHANGE = "address_change", _("住所変更")
    NAME_CHANGE = "name_change", _("氏名変更")
    CORRECTION = "correction", _("職権修正")
    NON_RESIDENT_REGISTRATION = "non_resident_registration", _("住登外登録")


class ResidencyPeriod(BaseModel):
    """One stretch of a person's residency history: status and address from ``valid_from`` (inclusive)
    until ``valid_until`` (exclusive; null while current). See records/rules/residency.py."""

    # Not db_index: residency_one_start_per_day leads with the resident. Nor is created_at indexed: a
    # change file inserts tens of thousands of periods, and nothing looks them up by creation time.
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="residency_periods",
                                 verbose_name=_("宛名"), db_index=False)
    status = models.CharField(_("住民状態"), max_length=20, choices=ResidencyStatus.choices)
    valid_from = models.DateField(_("開始日"))
    valid_until = models.DateField(_("終了日（翌日）"), null=True, blank=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    postal_code = models.CharField(_("郵便番号"), max_length=8, blank=True)
    cause = models.CharField(_("異動事由"), max_length=30, choices=ResidencyCause.choices)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)  # BaseModel's, without its index

    class Meta:
        verbose_name = _("住民期間")
        verbose_name_plural = _("住民期間")
        ordering = ["resident", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "valid_from"], name="residency_one_start_per_day"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="residency_period_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.resident_id} {self.status} {self.valid_from}–{self.valid_until or ''}"

    def as_rule(self) -> Period:
        return Period(self.status, self.valid_from, self.valid_until, self.address, self.postal_code, self.cause)


class ExaminationCategory(models.IntegerChoices):
    VACCINATED = 1, _("接種")
    SCREENING_ONLY = 2, _("予診のみ")


class PaymentCategory(models.IntegerChoices):
    PUBLIC = 1, _("公費")
    SELF = 2, _("自費")


class RecordSource(models.TextChoices):
    MANUAL = "manual", _("窓口入力")
    CLINIC_IMPORT = "clinic_import", _("医療機関取込")
    LINKAGE = "linkage", _("情報連携")
    APPLICATION = "application", _("申請")


DUPLICATE_RECORD_MESSAGE = _("同じ接種記録（接種日・ワクチン・診察区分）が既に登録されています。")


class VaccinationRecord(BaseModel):
    """One vaccination event (or screening without vaccination) with the 16 items, in the seed's order.

    Indexes are kept to what queries use: a clinic import inserts 100,000 records in one transaction and
    pays for every index on every row. The resident's records are found through record_one_per_event
    (resident first, then the date); nothing looks records up by creation time or by who created or last
    changed them (users are deactivated, never deleted, so PROTECT never has to search those columns)."""

    # Not db_index: record_one_per_event leads with the resident.
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="vaccinations",
                                 verbose_name=_("宛名"), db_index=False)
    vaccinated_on = models.DateField(_("接種日"))
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="vaccinations", verbose_name=_("接種場所"))
    place_text = models.CharField(_("接種場所（転入前）"), max_length=200, blank=True)
    age_at_vaccination = models.PositiveSmallIntegerField(_("接種時年齢"))
    billing_month = models.DateField(_("請求年月"), help_text=_("月の1日で保持します。"))
    examination_category = models.PositiveSmallIntegerField(_("診察区分"), choices=ExaminationCategory.choices)
    lot_number = models.CharField(_("LOT-NO"), max_length=20, blank=True, validators=[lot_number_validator])
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="vaccinations",
                                verbose_name=_("ワクチン"))
    before_move_in = models.BooleanField(_("転入前接種"), default=False)
    screening_doctor = models.CharField(_("予診医師名"), max_length=50)
    vaccinating_doctor = models.CharField(_("接種医師名"), max_length=50, blank=True)
    payment_category = models.PositiveSmallIntegerField(_("公費自費区分"), choices=PaymentCategory.choices)
    fee_yen = models.PositiveIntegerField(_("委託料"))
    dose_ml = models.DecimalField(_("接種量"), max_digits=4, decimal_places=2,
                                  validators=[MinValueValidator(Decimal("0"))])
    remarks1 = models.CharField(_("備考1"), max_length=200, blank=True)
    remarks2 = models.CharField(_("備考2"), max_length=200, blank=True)
    remarks3 = models.CharField(_("備考3"), max_length=200, blank=True)
    source = models.CharField(_("登録元"), max_length=20, choices=RecordSource.choices)
    source_import = models.ForeignKey("imports.ClinicImport", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="records", verbose_name=_("取込元ファイル"))
    # Empty on a record a clinic import created (and nobody has changed since): the import names who
    # answers for it (``author``), and not writing the user on each of its 100,000 rows spares as many
    # foreign-key checks per column. The record_has_author checks keep one of the two set.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("登録者"), db_index=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("最終更新者"), db_index=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)  # BaseModel's, without its index

    class Meta:
        verbose_name = _("接種記録")
        verbose_name_plural = _("接種記録")
        ordering = ["-vaccinated_on", "-id"]
        constraints = [
            # One record per real event: the last line of defence against storing anything twice.
            models.UniqueConstraint(
                fields=["resident", "vaccinated_on", "vaccine", "examination_category"],
                name="record_one_per_event",
                violation_error_message=DUPLICATE_RECORD_MESSAGE,
            ),
            models.CheckConstraint(
                condition=~Q(examination_category=ExaminationCategory.SCREENING_ONLY)
                | (Q(dose_ml=0) & Q(vaccinating_doctor="")),
                name="record_screening_only_no_dose",
            ),
            models.CheckConstraint(
                condition=~Q(examination_category=ExaminationCategory.VACCINATED)
                | (Q(dose_ml__gt=0) & ~Q(vaccinating_doctor="") & ~Q(lot_number="")),
                name="record_vaccinated_has_dose_and_doctor",
            ),
            models.CheckConstraint(
                condition=Q(before_move_in=True) | Q(clinic__isnull=False),
                name="record_clinic_unless_before_move_in",
            ),
            models.CheckConstraint(
                condition=Q(clinic__isnull=False) | ~Q(place_text=""),
                name="record_has_place",
            ),
            models.CheckConstraint(
                condition=Q(created_by__isnull=False) | Q(source_import__isnull=False),
                name="record_has_author",
            ),
            models.CheckConstraint(
                condition=Q(updated_by__isnull=False) | Q(source_import__isnull=False),
                name="record_has_last_editor",
            ),
        ]

    def __str__(self) -> str:
        # Ids only: auditlog calls this on every save and must not trigger queries or show personal data.
        return f"接種記録 #{self.pk} ({self.vaccinated_on.isoformat()})"

    @property
    def author(self) -> Any:
        """Who entered the record: its creator, or for a clinic import's record the import's uploader."""
        if self.created_by_id is not None:
            return self.created_by
        return self.source_import.responsible_user  # type: ignore[union-attr]

    @property
    def last_editor(self) -> Any:
        return self.updated_by if self.updated_by_id is not None else self.author

    # Set by records.services.vaccination_record_delete just before delete(); not a column.
    audit_reason: str = ""

    def get_additional_data(self) -> dict[str, str] | None:
        """Extra context django-auditlog stores with this record's entries (a deletion's reason)."""
        reason = self.audit_reason
        return {"reason": reason} if reason else None

    def clean(self) -> None:
        """Cross-field rules, shared with the clinic import through records.rules.vaccination."""
        if self.resident_id is None or self.vaccine_id is None:
            return
        violations = check_vaccination(self.facts(), today=timezone.localdate())
        if violations:
            errors: dict[str, list[str]] = {}
            for violation in violations:
                errors.setdefault(violation.field, []).append(violation.message)
            raise ValidationError(errors)

    def facts(self) -> VaccinationFacts:
        return VaccinationFacts(
            birth_date=self.resident.birth_date,
            vaccinated_on=self.vaccinated_on,
            age_at_vaccination=self.age_at_vaccination,
            billing_month=self.billing_month,
            examination_category=self.examination_category,
            lot_number=self.lot_number,
            before_move_in=self.before_move_in,
            has_clinic=self.clinic_id is not None,
            place_text=self.place_text,
            vaccinating_doctor=self.vaccinating_doctor,
            dose_ml=self.dose_ml,
            fee_yen=self.fee_yen,
        )


class NonResidentSource(models.TextChoices):
    PAPER = "paper", _("書類（紙）")
    JUKINET = "jukinet", _("住基ネット照会")


class NonResidentRegistration(BaseModel):
    """How a registered non-resident (住登外者) came to be known: who registered them, on which day, from
    which source document (issue #7). The resident's history holds the matching period, cause
    ``non_resident_registration``."""

    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="non_resident_registrations",
                                 verbose_name=_("宛名"))
    registered_from = models.DateField(_("住登外登録日"))
    source = models.CharField(_("確認方法"), max_length=20, choices=NonResidentSource.choices)
    source_document = models.CharField(_("確認した書類"), max_length=200,
                                       help_text=_("例: 住民票の写し（春日部市発行）、転出証明書、予診票の記載"))
    source_reference = models.CharField(_("書類の番号・照会番号"), max_length=100, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("登録者"))

    class Meta:
        verbose_name = _("住登外者の登録")
        verbose_name_plural = _("住登外者の登録")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"住登外登録 #{self.pk} (宛名 #{self.resident_id})"
