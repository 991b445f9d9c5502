"""Japanese first: Accept-Language does not switch the UI; the language switch (cookie) does."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
def test_japanese_by_default_even_for_an_english_browser():
    response = Client().get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "ja"
    assert "サインイン" in response.content.decode()


@pytest.mark.django_db
def test_english_when_chosen_with_the_switch():
    client = Client()
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("accounts:login")})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(reverse("accounts:login"))
    assert page["Content-Language"] == "en"
    assert "Sign in" in page.content.decode()


@pytest.mark.django_db
def test_page_title_names_the_page_and_the_system():
    body = Client().get(reverse("accounts:login")).content.decode()
    assert "<title>サインイン | 越谷市 予防接種記録</title>" in body


def test_the_english_catalogue_has_no_fuzzy_or_missing_translation():
    """`make messages` marks a changed string fuzzy (compilemessages then leaves it out: the page shows
    Japanese in English mode); every message must be translated before it ships."""
    from pathlib import Path

    text = (Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    empty = [e for e in entries if e.rstrip().endswith('msgstr ""') and "msgid_plural" not in e]
    assert not fuzzy, fuzzy[:3]
    assert not empty, empty[:3]
