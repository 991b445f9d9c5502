"""A demonstration state for the mock intermediate server: our body with our public keys, three other
bodies (keys generated here; the mock plays them, so it keeps their private keys), the permission
list, and one person known to 千代田区 with a history, who is 越谷市's demo resident 宛名番号
5000000001. Django-free."""

from typing import Any

from linkage.envelope import generate_private_key_text, private_key_from_text, public_key_text

BUSINESS = "tokuso_vaccination"  # 新型インフルエンザ等対策特別措置法による予防接種の実施に関する事務
ITEM_HISTORY = "vaccination_history"  # 予防接種の実施に関する情報（接種履歴）

OTHER_BODIES = (
    ("131016", "東京都千代田区"),
    ("271004", "大阪府大阪市"),
    ("011002", "北海道札幌市"),  # on no line of the permission list: every query with it is refused
)


def _body(name: str) -> dict[str, Any]:
    private = generate_private_key_text()
    return {"name": name, "public_keys": [public_key_text(private_key_from_text(private))],
            "private_keys": [private]}


def demo_state(*, our_code: str, our_name: str, our_public_keys: list[str]) -> dict[str, Any]:
    bodies: dict[str, Any] = {our_code: {"name": our_name, "public_keys": list(our_public_keys), "private_keys": []}}
    for code, name in OTHER_BODIES:
        bodies[code] = _body(name)
    permissions = []
    for other in ("131016", "271004"):
        permissions.append({"requester": our_code, "provider": other, "business": BUSINESS, "item": ITEM_HISTORY})
        permissions.append({"requester": other, "provider": our_code, "business": BUSINESS, "item": ITEM_HISTORY})
    return {
        "bodies": bodies,
        "permissions": permissions,
        "persons": [{"id": "P-demo-1", "addresses": {our_code: "5000000001"},
                     "codes": {"131016": "CHIYODA-DEMO-0001"}}],
        "histories": {
            "131016": {
                "CHIYODA-DEMO-0001": [
                    {"vaccinated_on": "2025-11-04", "vaccine_code": "FLU01", "lot_number": "HA123-A",
                     "place": "千代田区立保健所", "examination_category": 1, "dose_ml": "0.50",
                     "screening_doctor": "神田 一郎", "vaccinating_doctor": "神田 一郎", "payment_category": 1},
                ],
            },
        },
    }
