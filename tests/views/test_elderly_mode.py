"""长辈版 (elderly mode) and the accessibility rules every resident page follows.

The switch is a plain form POST (no JavaScript) that sets a year-long cookie; the pages then
carry ``class="elderly"`` on ``<html>`` and app.css enlarges text and tap targets under it.
The CSS checks read the sizes back from app.css, so a rule that shrinks them fails here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.closed_rounds import closed_round, finalize
from tests.conftest import Browser, csrf_token, submit
from tests.factories import World
from voting.views.i18n import ELDERLY_COOKIE

CSS = Path(__file__).resolve().parents[2] / "voting" / "static" / "css" / "app.css"
ELDERLY_HTML = '<html lang="zh-Hans" class="elderly">'


# --- the resident's pages ---------------------------------------------------------------


class Street:
    """A finalized round, an open one (choose 1–2) with codes, and one not open yet."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.world = World(candidates=4)
        self.closed = closed_round(self.world, now - timedelta(days=30))  # six residents
        a, b = (c.id for c in self.world.candidates[:2])
        finalize(self.world, self.closed.id, now - timedelta(days=30), selected={a, b}, reasons={})
        self.round_id = self.world.open_round(now, max_choices=2)
        self.codes = self.world.issue_codes(self.round_id, seed=21)
        self.later_round = self.world.open_round(
            now, opens_at=now + timedelta(days=3), closes_at=now + timedelta(days=10)
        )

    def path(self, page: str) -> str:
        return f"/vote/{self.round_id}/{page}"


@pytest.fixture
def street(app) -> Street:  # type: ignore[no-untyped-def]
    return Street()


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def switch(client: Browser, state: str, *, back_to: str = "/vote/"):  # type: ignore[no-untyped-def]
    """Press the 长辈版 button on ``back_to``, as a browser with JavaScript off does."""
    return submit(client, f"/elderly/{state}", {"next": back_to}, page=back_to)


def resident_pages(client: Browser, street: Street) -> dict[str, str]:
    """Walk the whole path and every dead end; the HTML of each page by name."""
    pages: dict[str, str] = {}

    def keep(name: str, response, status: int = 200) -> None:  # type: ignore[no-untyped-def]
        assert response.status_code == status, (name, response.status_code)
        pages[name] = text_of(response)

    keep("home", client.get("/"))
    keep("round", client.get(f"/rounds/{street.round_id}"))
    keep("results", client.get(f"/rounds/{street.closed.id}/results"))
    keep("notice", client.get(f"/rounds/{street.closed.id}/notice"))
    keep("receipt board", client.get(f"/rounds/{street.round_id}/receipts"))
    keep("phone", client.get("/vote/phone"))
    keep("no session", client.get(street.path("ballot")), 401)
    keep("code", client.get("/vote/"))
    keep("wrong code", submit(client, "/vote/", {"code": "123"}), 422)
    later_code = street.world.issue_codes(street.later_round, seed=31)[0]
    keep("not open", client.get(f"/vote/c/{later_code}"), 409)
    assert client.get(f"/vote/c/{street.codes[1]}").status_code == 302
    with client.session_transaction() as session:
        session["voter"] = {**session["voter"], "t": session["voter"]["t"] - 31 * 60}
    keep("expired", client.get(street.path("ballot")), 401)
    assert client.get(f"/vote/c/{street.codes[0]}").status_code == 302
    keep("ballot", client.get(street.path("ballot")))
    first = str(street.world.candidates[0].id)
    assert submit(client, street.path("ballot"), {"choices": [first]}).status_code == 302
    keep("review", client.get(street.path("review")))
    assert submit(client, street.path("confirm"), {}, page=street.path("review")).status_code == 302
    keep("receipt", client.get(street.path("receipt")))
    keep("already voted", client.get(f"/vote/c/{street.codes[0]}"), 409)
    return pages


# --- the switch -------------------------------------------------------------------------


def test_elderly_switch_sets_year_long_lax_httponly_cookie_and_goes_back(app, browser):
    client = browser()

    response = switch(client, "on", back_to="/vote/phone?round=3")

    assert response.status_code == 302
    assert response.headers["Location"] == "/vote/phone?round=3"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{ELDERLY_COOKIE}=1;")
    assert "Max-Age=31536000" in cookie
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie
    assert ("; Secure" in cookie) is app.config["SESSION_COOKIE_SECURE"]  # as the session's


@pytest.mark.parametrize("secure", [True, False])
def test_elderly_cookie_secure_exactly_when_session_cookie_is(app, browser, monkeypatch, secure):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", secure)
    client = browser()
    token = csrf_token(client, "/vote/")

    on = client.post("/elderly/on", data={"csrf_token": token, "next": "/vote/"})
    off = client.post("/elderly/off", data={"csrf_token": token, "next": "/vote/"})

    assert ("; Secure" in on.headers["Set-Cookie"]) is secure
    assert ("; Secure" in off.headers["Set-Cookie"]) is secure


def test_elderly_switch_without_csrf_token_refused_400(app, browser):
    client = browser()

    response = client.post("/elderly/on", data={"next": "/vote/"})

    assert response.status_code == 400
    assert client.get_cookie(ELDERLY_COOKIE) is None


def test_elderly_switch_next_to_other_host_goes_home(app, browser):
    client = browser()
    token = csrf_token(client, "/vote/")

    response = client.post("/elderly/on", data={"csrf_token": token, "next": "//evil.example"})

    assert response.headers["Location"] == "/"


def test_elderly_class_on_every_resident_page_and_persists(street, browser):
    client = browser()
    switch(client, "on")

    pages = resident_pages(client, street)

    for name, page in pages.items():
        assert ELDERLY_HTML in page, name
        assert 'action="/elderly/off"' in page, name  # the switch back is on every page
        assert "退出长辈版" in page, name


def test_elderly_switch_off_removes_class(street, browser):
    client = browser()
    switch(client, "on")
    assert ELDERLY_HTML in text_of(client.get("/vote/"))

    response = switch(client, "off")

    assert "Max-Age=0" in response.headers["Set-Cookie"]
    page = text_of(client.get("/vote/"))
    assert '<html lang="zh-Hans">' in page
    assert 'action="/elderly/on"' in page
    assert client.get_cookie(ELDERLY_COOKIE) is None


def test_standard_pages_offer_the_switch_without_the_class(street, browser):
    pages = resident_pages(browser(), street)

    for name, page in pages.items():
        assert '<html lang="zh-Hans">' in page, name
        assert 'action="/elderly/on"' in page, name
        assert "长辈版（大字）" in page, name


def test_elderly_switch_on_qr_link_page_goes_to_code_page_not_back_to_link(street, browser):
    client = browser()
    page = text_of(client.get("/vote/c/000000000000"))

    assert 'name="next" value="/vote/"' in page
    assert "/vote/c/" not in re.sub(r"<(?!input)[^>]*>", "", page)


def test_elderly_dead_ends_name_no_time_limit(street, browser):
    client = browser()
    switch(client, "on")
    client.get(f"/vote/c/{street.codes[0]}")
    with client.session_transaction() as session:
        session["voter"] = {**session["voter"], "t": session["voter"]["t"] - 31 * 60}
        session["phone"] = {"c": 1, "r": street.round_id}

    expired = text_of(client.get(street.path("ballot")))
    verify = text_of(client.get("/vote/phone/verify"))

    assert "您还没有投票，投票码仍然可以使用" in expired
    for page in (expired, verify):
        assert "分钟" not in page
        assert "秒" not in page


def test_standard_expired_page_still_says_thirty_minutes(street, browser):
    client = browser()
    client.get(f"/vote/c/{street.codes[0]}")
    with client.session_transaction() as session:
        session["voter"] = {**session["voter"], "t": session["voter"]["t"] - 31 * 60}

    assert "30 分钟" in text_of(client.get(street.path("ballot")))


# --- every page: labels, no inline style or script --------------------------------------


class Controls(HTMLParser):
    """Form controls, their labels and buttons' text, read as assistive technology would."""

    def __init__(self) -> None:
        super().__init__()
        self.labelled: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.buttons: list[str] = []
        self._button: list[str] | None = None
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        inline_script = tag == "script" and not (a.get("src") or "").startswith("/static/")
        if "style" in a or inline_script or any(k.startswith("on") for k in a):
            self.inline.append(tag)
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"] or "")
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a)
        if tag == "button":
            self._button = []

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append("".join(self._button).strip())
            self._button = None


@pytest.mark.parametrize("elderly", [False, True], ids=["standard", "elderly"])
def test_resident_pages_label_every_control_and_name_every_button(street, browser, elderly):
    client = browser()
    if elderly:
        switch(client, "on")

    for name, page in resident_pages(client, street).items():
        parsed = Controls()
        parsed.feed(page)
        for control in parsed.controls:
            named = control.get("id") in parsed.labelled or control.get("aria-label")
            assert named, (name, control)
        assert all(parsed.buttons), (name, parsed.buttons)
        assert parsed.inline == [], name  # the CSP refuses inline style and script


# --- app.css: the 长辈版 block, read back ------------------------------------------------


def css_rules(css: str) -> list[tuple[list[str], dict[str, str]]]:
    """Top-level rules in order as (selectors, declarations); @media blocks are skipped."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules, depth, start, i = [], 0, 0, 0
    while i < len(css):
        if css[i] == "{":
            if depth == 0:
                head, start = css[:i].rsplit("}", 1)[-1].strip(), i + 1
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0 and not head.startswith("@"):
                body = css[start:i]
                decls = dict(
                    (k.strip(), v.strip())
                    for k, _, v in (d.partition(":") for d in body.split(";"))
                    if v.strip()
                )
                rules.append(([" ".join(s.split()) for s in head.split(",")], decls))
        i += 1
    return rules


def effective(rules, selector: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What the rules naming exactly ``selector`` set, later rules winning."""
    out: dict[str, str] = {}
    for selectors, decls in rules:
        if selector in selectors:
            out.update(decls)
    return out


def px(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)px", value.split()[0])
    assert match, f"expected a px size, got {value!r}"
    return float(match.group(1))


@pytest.fixture(scope="module")
def elderly_rules():  # type: ignore[no-untyped-def]
    rules = css_rules(CSS.read_text(encoding="utf-8"))
    scoped = [(s, d) for s, d in rules if all(x.startswith("html.elderly") for x in s)]
    assert scoped, "no html.elderly block in app.css"
    return scoped


def test_css_elderly_body_text_at_least_18px_line_spacing_at_least_1_3(elderly_rules):
    body = effective(elderly_rules, "html.elderly body")
    assert px(body["font-size"]) >= 18
    assert float(body["line-height"]) >= 1.3
    for selectors, decls in elderly_rules:
        if "font-size" in decls:
            assert px(decls["font-size"]) >= 18, selectors
        if "line-height" in decls:
            assert float(decls["line-height"]) >= 1.3, selectors


def test_css_elderly_main_actions_at_least_30px(elderly_rules):
    for selector in ("html.elderly .button", "html.elderly .button.big", "html.elderly h1"):
        assert px(effective(elderly_rules, selector)["font-size"]) >= 30, selector


@pytest.mark.parametrize(
    "selector",
    [
        "html.elderly .button",
        "html.elderly .button.big",
        "html.elderly button.button",
        "html.elderly input[type=text]",
        "html.elderly input:not([type])",
        "html.elderly .choice label",
        "html.elderly main a:not(.button)",
        "html.elderly header.site a",
        "html.elderly header.site button",
        "html.elderly footer.site button",
    ],
)
def test_css_elderly_tap_targets_at_least_60px_high(elderly_rules, selector):
    decls = effective(elderly_rules, selector)
    assert px(decls.get("min-height") or decls["height"]) >= 60


@pytest.mark.parametrize(
    "selector",
    [
        "html.elderly .choice input[type=checkbox]",
        "html.elderly input[type=radio]",
        "html.elderly .choice input.points",
        "html.elderly main a:not(.button)",
        "html.elderly header.site button",
    ],
)
def test_css_elderly_small_controls_at_least_60px_square(elderly_rules, selector):
    decls = effective(elderly_rules, selector)
    height = px(decls.get("height") or decls["min-height"])
    width = decls.get("width") or decls["min-width"]
    width_px = px(width) if width.endswith("px") else float(width.removesuffix("rem")) * 20
    assert min(height, width_px) >= 60


# --- colours: contrast in both modes ----------------------------------------------------


def luminance(colour: str) -> float:
    hexes = colour.lstrip("#")
    if len(hexes) == 3:
        hexes = "".join(c * 2 for c in hexes)
    channels = [int(hexes[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("elderly", [False, True], ids=["standard", "elderly"])
def test_css_text_colours_at_least_4_5_to_1_on_their_backgrounds(elderly):
    rules = css_rules(CSS.read_text(encoding="utf-8"))
    var = effective(rules, ":root")
    if elderly:
        var.update(effective(rules, "html.elderly"))
    c = {k.removeprefix("--"): v for k, v in var.items()}
    link = effective(rules, "a")["color"]
    error_bg = effective(rules, ".error-box")["background"]
    pairs = [
        (c["ink"], c["bg"]), (c["ink"], c["card"]), (c["ink"], c["warn-bg"]), (c["ink"], error_bg),
        (c["muted"], c["bg"]), (c["muted"], c["card"]), (c["muted"], c["warn-bg"]),
        (c["muted"], error_bg), (link, c["bg"]), (link, c["card"]), (link, c["warn-bg"]),
        (c["accent-ink"], c["accent"]), (c["err"], c["bg"]), (c["err"], c["card"]),
        (c["err"], error_bg), (c["ok"], c["bg"]), (c["ok"], c["card"]),
        (effective(rules, "::placeholder")["color"], "#fff"),
    ]  # fmt: skip
    for fg, bg in pairs:
        assert contrast(fg, bg) >= 4.5, (fg, bg, round(contrast(fg, bg), 2))


def test_css_focus_ring_visible_against_page_and_header():
    rules = css_rules(CSS.read_text(encoding="utf-8"))
    var = {k.removeprefix("--"): v for k, v in effective(rules, ":root").items()}
    ring = effective(rules, "a:focus-visible")["outline"].split()
    assert px(ring[0]) >= 2
    for bg in (var["bg"], var["card"]):
        assert contrast(ring[-1], bg) >= 3
    header_ring = effective(rules, "header.site :focus-visible")["outline-color"]
    assert contrast(header_ring, var["accent"]) >= 3
