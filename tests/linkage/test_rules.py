"""Pure parts of linkage, without the database or the mock: the envelope, the hold rule, dose parsing."""

import pytest

from linkage.envelope import (
    EnvelopeError,
    generate_private_key_text,
    key_id,
    open_envelope,
    private_key_from_text,
    public_key_text,
    seal,
)
from linkage.rules import DoseFormatError, PermissionLine, hold_reasons, is_permitted, parse_doses


def _pair():
    private = private_key_from_text(generate_private_key_text())
    return private, public_key_text(private)


def test_envelope_opens_only_for_its_recipient_and_its_context():
    private, public = _pair()
    other, _ = _pair()
    envelope = seal({"doses": ["x"]}, recipient_public_key=public, context="PMT-1")
    assert envelope["kid"] == key_id(public)
    assert open_envelope(envelope, private_keys=[other, private], context="PMT-1") == {"doses": ["x"]}
    with pytest.raises(EnvelopeError):
        open_envelope(envelope, private_keys=[other], context="PMT-1")
    with pytest.raises(EnvelopeError):
        open_envelope(envelope, private_keys=[private], context="PMT-2")  # replayed for another permit
    tampered = dict(envelope, ct=envelope["ct"][:-4] + ("AAAA" if envelope["ct"][-4:] != "AAAA" else "BBBB"))
    with pytest.raises(EnvelopeError):
        open_envelope(tampered, private_keys=[private], context="PMT-1")
    with pytest.raises(EnvelopeError):
        open_envelope({"v": 2}, private_keys=[private], context="PMT-1")


def test_every_message_has_its_own_ephemeral_key():
    _private, public = _pair()
    first = seal({}, recipient_public_key=public, context="c")
    second = seal({}, recipient_public_key=public, context="c")
    assert first["epk"] != second["epk"] and first["ct"] != second["ct"]


@pytest.mark.parametrize(("flags", "item", "expected"), [
    ({}, "vaccination_history", []),
    ({"auto_response_disabled": True}, "vaccination_history", ["auto_response_disabled"]),
    ({"is_protected": True}, "vaccination_history", ["is_protected"]),
    ({"use_suspended": True}, "vaccination_history", ["use_suspended"]),
    ({}, "sensitive_item", ["item_flagged"]),
    ({"is_protected": True, "use_suspended": True}, "sensitive_item",
     ["is_protected", "use_suspended", "item_flagged"]),
])
def test_hold_reasons(flags, item, expected):
    facts = {"auto_response_disabled": False, "is_protected": False, "use_suspended": False, **flags}
    assert hold_reasons(**facts, item=item, flagged_items=["sensitive_item"]) == expected


def test_permission_list_matches_all_four_parts():
    lines = [PermissionLine("131016", "112224", "b", "i")]
    assert is_permitted(lines, requester="131016", provider="112224", business="b", item="i")
    assert not is_permitted(lines, requester="131016", provider="112224", business="b", item="other")
    assert not is_permitted(lines, requester="112224", provider="131016", business="b", item="i")


def test_parse_doses_names_the_bad_dose_and_field():
    good = {"vaccinated_on": "2025-11-04", "vaccine_code": "FLU01", "dose_ml": "0.5", "lot_number": " ab-1 "}
    assert parse_doses({"doses": [good]})[0].lot_number == "AB-1"
    with pytest.raises(DoseFormatError) as excinfo:
        parse_doses({"doses": [good, dict(good, vaccinated_on="2025-13-01")]})
    assert (excinfo.value.index, excinfo.value.field) == (1, "vaccinated_on")
    with pytest.raises(DoseFormatError) as excinfo:
        parse_doses({"doses": [dict(good, dose_ml="half")]})
    assert excinfo.value.field == "dose_ml"
    with pytest.raises(DoseFormatError):
        parse_doses({"doses": "none"})
