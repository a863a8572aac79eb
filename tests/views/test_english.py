"""English: every resident-facing string has a translation, and the pages show no Chinese UI.

Chinese (zh-Hans) is the default; msgids are the Chinese source strings, so an untranslated
entry shows up in English pages as Chinese. Staff pages are not translated (decisions.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from wtforms.fields.core import UnboundField

from tests.conftest import Browser, submit
from tests.factories import World
from voting.forms import BallotForm, CodeForm, ReceiptForm
from voting.forms_phone import PhoneCodeForm, PhoneRequestForm, ResendForm
from voting.services.rounds import round_title

TRANSLATIONS = Path(__file__).resolve().parents[2] / "voting" / "translations"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
HAN = re.compile(r"[\u3400-\u9fff]")

# Where resident-facing strings live; forms.py also holds staff forms, so its resident
# strings are read from the resident forms themselves (resident_form_strings).
RESIDENT_SOURCES = re.compile(
    r"^voting/(templates/(vote|public|errors)/|templates/(base|_macros|_charts)\.html"
    r"|views/(messages|phone_messages|filters|vote|vote_phone|public|errors)\.py|forms_phone\.py)"
)


def catalogue():  # type: ignore[no-untyped-def]
    with PO.open("rb") as f:
        return read_po(f, locale="en")


def resident_form_strings() -> set[str]:
    """Labels and validator messages of the forms a resident fills in (as msgids)."""
    found: set[str] = set()
    for form in (CodeForm, BallotForm, ReceiptForm, PhoneRequestForm, PhoneCodeForm, ResendForm):
        for field in vars(form).values():
            if not isinstance(field, UnboundField):
                continue
            found.add(str(field.args[0]))
            for validator in field.kwargs.get("validators", ()):
                if getattr(validator, "message", None) is not None:
                    found.add(str(validator.message))
    return found


def test_po_every_resident_entry_translated_not_fuzzy(app):
    resident = resident_form_strings()
    checked, missing = 0, []
    for message in catalogue():
        if not message.id:
            continue
        places = [path for path, _ in message.locations]
        if message.id in resident or any(RESIDENT_SOURCES.match(p) for p in places):
            checked += 1
            if not message.string or message.fuzzy:
                missing.append((message.id, places))
    assert missing == []
    assert checked > 250  # the sources above really matched


def test_po_placeholders_match_and_catalogue_covers_template():
    cat = catalogue()
    assert [(m.id, errors) for m, errors in cat.check()] == []
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template <= {m.id for m in cat if m.id}  # pybabel update was run after extract


def test_mo_compiled_from_current_po():
    with MO.open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id and m.string}
    translated = {m.id: m.string for m in catalogue() if m.id and m.string and not m.fuzzy}
    assert compiled == translated


# --- the pages --------------------------------------------------------------------------


@pytest.fixture
def street(app):  # type: ignore[no-untyped-def]
    world = World(candidates=3)
    round_id = world.open_round(datetime.now(UTC), max_choices=2)
    world.residents(2)
    return world, round_id, world.issue_codes(round_id)


def in_english(client: Browser) -> None:
    response = submit(client, "/lang/en", {"next": "/vote/"}, page="/vote/")
    assert response.status_code == 302


def ui_text(page: str, world: World, round_id: int) -> str:
    """The page without candidate content (titles, places, station) and the 中文 button."""
    content = [world.street.name, world.station.name, world.station.address, world.station.hours]
    content.append(round_title(round_id))
    content += [c.name for c in world.communities]
    for c in world.candidates:
        content += [c.title, c.summary, c.location, c.target]
    page = re.sub(r'<button[^>]*lang="zh-Hans"[^>]*>[^<]*</button>', "", page)
    for text in sorted(filter(None, content), key=len, reverse=True):
        page = page.replace(text, "")
    return page


def test_english_resident_path_has_no_chinese_ui(street, browser):
    world, round_id, codes = street
    client = browser()
    in_english(client)
    pages = {"code": client.get("/vote/"), "phone": client.get(f"/vote/phone?round={round_id}")}
    pages["wrong code"] = submit(client, "/vote/", {"code": "123"})
    client.get(f"/vote/c/{codes[0]}")
    pages["ballot"] = client.get(f"/vote/{round_id}/ballot")
    submit(client, f"/vote/{round_id}/ballot", {"choices": [str(world.candidates[0].id)]})
    pages["review"] = client.get(f"/vote/{round_id}/review")
    submit(client, f"/vote/{round_id}/confirm", {}, page=f"/vote/{round_id}/review")
    pages["receipt"] = client.get(f"/vote/{round_id}/receipt")
    pages["already voted"] = client.get(f"/vote/c/{codes[0]}")
    pages["round"] = client.get(f"/rounds/{round_id}")
    pages["receipt board"] = client.get(f"/rounds/{round_id}/receipts")

    expected = {
        "code": "Enter your voting code",
        "wrong code": "A voting code has 12 digits",
        "ballot": "Choose the projects you support",
        "review": "Please check your choices",
        "receipt": "Your vote is recorded. Thank you!",
        "already voted": "This voting slip has already been used",
        "round": "Candidate projects (3)",
        "phone": "Check in with your mobile number",
        "receipt board": "Receipt board",
    }
    for name, response in pages.items():
        page = response.get_data(as_text=True)
        assert '<html lang="en">' in page, name
        assert expected[name] in page, name
        assert HAN.findall(ui_text(page, world, round_id)) == [], name


def test_lang_attribute_follows_language_and_switches_back(street, browser):
    client = browser()
    assert '<html lang="zh-Hans">' in client.get("/vote/").get_data(as_text=True)

    in_english(client)
    english = client.get("/vote/").get_data(as_text=True)
    submit(client, "/lang/zh_Hans_CN", {"next": "/vote/"}, page="/vote/")
    chinese = client.get("/vote/").get_data(as_text=True)

    assert '<html lang="en">' in english
    assert '<button type="submit" class="link" lang="zh-Hans">中文</button>' in english
    assert '<html lang="zh-Hans">' in chinese
    assert "输入投票码" in chinese
    assert '<button type="submit" class="link" lang="en">English</button>' in chinese


def test_english_and_elderly_together(street, browser):
    client = browser()
    in_english(client)
    submit(client, "/elderly/on", {"next": "/vote/"}, page="/vote/")

    page = client.get("/vote/").get_data(as_text=True)

    assert '<html lang="en" class="elderly">' in page
    assert "Leave senior mode" in page
