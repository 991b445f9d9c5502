"""Pure rules of linkage: no ORM, no clock.

- which inbound queries wait for a person's confirmation (自動応答不可, seed III.6 risk 5 ③);
- whether the query-permission list allows a query;
- reading a provider's answer into typed doses, refusing anything malformed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

# The business (事務) and the information item this system queries and provides.
BUSINESS = "tokuso_vaccination"  # 新型インフルエンザ等対策特別措置法による予防接種の実施に関する事務
ITEM_HISTORY = "vaccination_history"  # 予防接種の実施に関する情報（接種履歴）
BUSINESS_LABELS = {BUSINESS: "新型インフルエンザ等対策特別措置法による予防接種の実施に関する事務"}
ITEM_LABELS = {ITEM_HISTORY: "予防接種の実施に関する情報（接種履歴）"}

# Why an inbound query waits for staff (stable codes stored on the query).
HOLD_AUTO_RESPONSE_DISABLED = "auto_response_disabled"
HOLD_PROTECTED = "is_protected"
HOLD_USE_SUSPENDED = "use_suspended"
HOLD_ITEM_FLAGGED = "item_flagged"


def hold_reasons(*, auto_response_disabled: bool, is_protected: bool, use_suspended: bool, item: str,
                 flagged_items: Iterable[str]) -> list[str]:
    """Every reason the answer must wait for a staff member's confirmation; empty = answer automatically."""
    reasons = []
    if auto_response_disabled:
        reasons.append(HOLD_AUTO_RESPONSE_DISABLED)
    if is_protected:
        reasons.append(HOLD_PROTECTED)
    if use_suspended:
        reasons.append(HOLD_USE_SUSPENDED)
    if item in set(flagged_items):
        reasons.append(HOLD_ITEM_FLAGGED)
    return reasons


@dataclass(frozen=True)
class PermissionLine:
    requester: str
    provider: str
    business: str
    item: str


def is_permitted(lines: Iterable[PermissionLine], *, requester: str, provider: str, business: str, item: str) -> bool:
    wanted = PermissionLine(requester, provider, business, item)
    return any(line == wanted for line in lines)


@dataclass(frozen=True)
class ReceivedDose:
    """One dose as another body reported it."""

    vaccinated_on: date
    vaccine_code: str
    lot_number: str
    place: str
    examination_category: int
    dose_ml: Decimal
    screening_doctor: str
    vaccinating_doctor: str
    payment_category: int


class DoseFormatError(ValueError):
    def __init__(self, index: int, field: str) -> None:
        super().__init__(f"dose {index + 1}: {field}")
        self.index = index
        self.field = field


def parse_doses(payload: Any) -> list[ReceivedDose]:
    """The doses of a decrypted answer (``{"doses": [...]}``); DoseFormatError names the first bad one."""
    raw = payload.get("doses") if isinstance(payload, dict) else None
    if not isinstance(raw, list):
        raise DoseFormatError(-1, "doses")
    doses = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise DoseFormatError(index, "dose")
        field = "vaccinated_on"
        try:
            vaccinated_on = date.fromisoformat(str(item["vaccinated_on"]))
            field = "dose_ml"
            dose_ml = Decimal(str(item.get("dose_ml", "0")))
            field = "examination_category"
            category = int(item.get("examination_category", 1))
            field = "payment_category"
            payment = int(item.get("payment_category", 1))
            field = "vaccine_code"
            vaccine_code = str(item["vaccine_code"]).strip()
        except (KeyError, ValueError, TypeError, InvalidOperation):
            raise DoseFormatError(index, field) from None
        if not vaccine_code:
            raise DoseFormatError(index, "vaccine_code")
        doses.append(ReceivedDose(
            vaccinated_on=vaccinated_on, vaccine_code=vaccine_code,
            lot_number=str(item.get("lot_number", "")).strip().upper(), place=str(item.get("place", "")).strip(),
            examination_category=category, dose_ml=dose_ml,
            screening_doctor=str(item.get("screening_doctor", "")).strip(),
            vaccinating_doctor=str(item.get("vaccinating_doctor", "")).strip(), payment_category=payment,
        ))
    return doses
