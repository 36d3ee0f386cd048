"""Every customer and IT screen of the real kiosk window, in every language of the demo
survey, at the four target display sizes, clicked through with real X events.

The demo survey is extended with an NPS, a CES (1–7) and a CSAT question (the CSAT one with a
comment), so each kind's scale-end words and the comment keyboard are captured too; then IT's
PIN pad, status screen and re-enroll setup screen in each language the kiosk can be in.

Every screen's layout is checked by the kiosk itself at every size and in every language (its
`layout` log line: every widget inside the window, every text inside its box); screenshots are
taken of the ones people review — every language at 800x480, English at the other sizes — and
land in artifacts/e2e/<test>/ — look at them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import KioskProcess, ServerProcess, Xvfb

pytestmark = pytest.mark.e2e

DEMO_SURVEY = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "demo-survey.json"
SIZES = [(800, 480), (1280, 800), (1920, 1080), (800, 1280)]
LANGUAGES = ["en", "pl", "ru", "ro", "zh-Hant"]
PIN = "258014"


def texts(en: str, pl: str, ru: str, ro: str, zh: str) -> dict[str, str]:
    return dict(zip(LANGUAGES, (en, pl, ru, ro, zh), strict=True))


#: After the demo's smiley question: one question of each numbered kind (CSAT with a comment).
MORE_QUESTIONS = [
    {
        "id": "q2",
        "kind": "nps",
        "scale": 11,
        "text": texts(
            "How likely are you to recommend us to a friend?",
            "Jak bardzo prawdopodobne jest, że polecisz nas znajomym?",
            "Насколько вероятно, что вы порекомендуете нас друзьям?",
            "Cât de probabil este să ne recomandați unui prieten?",
            "您有多大可能向朋友推薦我們？",
        ),
    },
    {
        "id": "q3",
        "kind": "ces",
        "scale": 7,
        "text": texts(
            "The store made it easy to find what I wanted.",
            "W tym sklepie łatwo znaleźć to, czego się szuka.",
            "В магазине было легко найти то, что мне нужно.",
            "Magazinul m-a ajutat să găsesc ușor ce căutam.",
            "在這家店很容易找到我想要的商品。",
        ),
    },
    {
        "id": "q4",
        "kind": "csat",
        "scale": 5,
        "comment": True,
        "text": texts(
            "How satisfied are you with your visit?",
            "Jak oceniasz swoje zadowolenie z wizyty?",
            "Насколько вы довольны визитом?",
            "Cât de mulțumit sunteți de vizită?",
            "您對這次光臨的滿意度如何？",
        ),
    },
]


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("screens")
    survey = json.loads(DEMO_SURVEY.read_text(encoding="utf-8"))
    survey["questions"] += MORE_QUESTIONS
    survey_file = folder / "survey.json"
    survey_file.write_text(json.dumps(survey), encoding="utf-8")
    server = ServerProcess(folder / "server")
    server.env["SMILETAP_THANK_YOU_S"] = "3"  # time to lay out and check, on a busy machine too
    server.start()
    location = server.cli(
        "create-location", "--name", "Kraków Rynek", "--timezone", "Europe/Warsaw"
    )["id"]
    created = server.cli("create-survey", "--file", str(survey_file))
    server.cli("assign-survey", "--location", location, "--survey", created["id"])
    yield server, location
    server.stop()


def settled(kiosk: KioskProcess, screen: str, size: tuple[int, int]) -> str:
    """Wait for the kiosk's verdict on `screen` laid out in a `size` window; assert it fits
    (every visible widget inside the window, every text inside its box). Once it is logged,
    the screen has been drawn: a screenshot may follow at once."""
    found = kiosk.wait_for(rf"layout {screen} {size[0]}x{size[1]} #\w+: (\d+) widgets, (.*)$")
    assert found.group(2) == "fits", f"{screen} at {size}: {found.group(2)}"
    assert int(found.group(1)) > 0
    return screen


def reviewed(size: tuple[int, int], language: str) -> bool:
    """The screenshots people look at: every language on the smallest display (where words are
    tightest), English on the others. Every other screen is checked by its layout verdict."""
    return size == SIZES[0] or language == "en"


#: A change within a screen (a chip picked, a message shown) logs no new layout: the next frame
#: needs this long to be drawn before the screenshot (reviewed screenshots only).
REDRAW_S = 0.3


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_screen_in_every_language(
    enrolled, xvfb: Xvfb, artifacts: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    server, location = enrolled
    device = server.cli_here("create-device", "--location", location, "--name", "Screens")
    kiosk = KioskProcess(tmp_path / "kiosk", xvfb.display, size=size)
    kiosk.enroll(server.url, device["code"], "--pin-stdin", stdin=PIN + "\n")
    shots = artifacts
    expected_shots: set[str] = set()
    checked: list[tuple[str, str]] = []

    def screenshot(name: str, language: str, settle_s: float = 0.0) -> None:
        if reviewed(size, language):
            xvfb.screenshot(shots / f"{name}-{language}.png", size, settle_s=settle_s)
            expected_shots.add(f"{name}-{language}.png")

    kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="2")
    try:
        for language in LANGUAGES:
            faces = kiosk.targets("q1", timeout=60)
            chips = kiosk.named_targets("languages")
            assert sorted(chips) == sorted(LANGUAGES)
            if language != "en":
                xvfb.click(*chips[language])
                kiosk.wait_for(rf"language: {language}$")
                faces = kiosk.targets("q1")
            checked.append((settled(kiosk, "question", size), language))
            screenshot("question", language)

            xvfb.click(*faces[1])  # unhappiest: the follow-up reasons come next
            kiosk.wait_for(r"tap recorded \S+ value=1")
            reasons = kiosk.named_targets("reasons")
            assert {"wait", "staff", "stock", "clean", "done"} <= set(reasons)
            checked.append((settled(kiosk, "followup", size), language))
            xvfb.click(*reasons["wait"])
            screenshot("followup", language, settle_s=REDRAW_S)
            xvfb.click(*reasons["done"])
            kiosk.wait_for(r"reasons recorded \S+ reasons=wait$")

            for question, kind in (("q2", "nps"), ("q3", "ces"), ("q4", "csat")):
                keys = kiosk.targets(question)
                checked.append((settled(kiosk, "question", size), language))
                screenshot(kind, language)
                xvfb.click(*keys[4])
                kiosk.wait_for(r"tap recorded \S+ value=4")
            buttons = kiosk.named_targets("comment")
            checked.append((settled(kiosk, "comment", size), language))
            screenshot("comment", language)
            xvfb.click(*buttons["skip"])
            kiosk.wait_for(r"comment recorded")
            kiosk.wait_for(r"screen: thanks")
            checked.append((settled(kiosk, "thanks", size), language))
            screenshot("thanks", language)
            kiosk.wait_for(r"screen: question")

        # IT's screens speak the language the kiosk is in when IT opens them.
        for language in LANGUAGES:
            kiosk.targets("q1")
            chips = kiosk.named_targets("languages")
            if language != "en":
                xvfb.click(*chips[language])
                kiosk.wait_for(rf"language: {language}$")
                kiosk.targets("q1")
            xvfb.press(8, 8)  # IT's way in: a long press in the top-left corner
            kiosk.wait_for(r"screen: pin")
            xvfb.release()
            keys = kiosk.named_targets("pin")
            checked.append((settled(kiosk, "pin", size), language))
            for digit in ["1", "1", "1", "1", "ok"]:
                xvfb.click(*keys[digit])
            kiosk.wait_for(r"it: wrong PIN")
            screenshot("pin", language, settle_s=REDRAW_S)
            for digit in [*PIN, "ok"]:
                xvfb.click(*keys[digit])
            kiosk.wait_for(r"screen: status")
            buttons = kiosk.named_targets("status")
            checked.append((settled(kiosk, "status", size), language))
            if language == "en":
                xvfb.click(*buttons["sync"])
            screenshot("status", language, settle_s=REDRAW_S if language == "en" else 0.0)
            xvfb.click(*buttons["reenroll"])
            kiosk.wait_for(r"screen: setup")
            setup = kiosk.named_targets("setup")
            assert set(setup) == {"enroll", "cancel"}
            checked.append((settled(kiosk, "setup", size), language))
            screenshot("setup", language)
            xvfb.click(*setup["cancel"])
            kiosk.wait_for(r"screen: question")
    finally:
        kiosk.stop()
    # Every screen's layout checked in every language: 4 question screens, the follow-up,
    # comment and thanks, then IT's PIN pad, status and setup.
    assert len(checked) == 10 * len(LANGUAGES)
    for language in LANGUAGES:
        assert sorted(s for s, lang in checked if lang == language) == sorted(
            ["question"] * 4 + ["followup", "comment", "thanks", "pin", "status", "setup"]
        )
    taken = {p.name for p in shots.glob("*.png")}
    assert taken == expected_shots
    assert len(taken) == 10 * (len(LANGUAGES) if size == SIZES[0] else 1)
