"""Every customer and IT screen of the real kiosk window, in every language of the demo
survey, at the four target display sizes, clicked through with real X events.

The demo survey is extended with an NPS, a CES (1–7) and a CSAT question (the CSAT one with a
comment), so each kind's scale-end words and the comment keyboard are captured too; then IT's
PIN pad, status screen and re-enroll setup screen in each language the kiosk can be in.

Every screen's layout is checked by the kiosk itself at every size and in every language (its
`layout` log line: every widget inside the window, every text inside its box); screenshots are
taken of the ones people review — every language at 800x480, English at the other sizes — and
land in artifacts/e2e/<test>/ — look at them. Each click target the kiosk logs is asserted inside
the window, and the window where the kiosk asked for it.

Nothing sleeps: a screenshot follows the kiosk's layout line, which it logs once the screen (or
a change within it: a picked chip, a message) has been drawn. IT goes in from each language's
thank-you screen with a shortened long press; the thank-you timer never runs out.
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
    # The walk leaves the thank-you screen by IT's long press, never by its timer: a long one
    # leaves time to lay it out, check it and capture it on a busy machine too.
    server.env["SMILETAP_THANK_YOU_S"] = "60"
    server.start()
    location = server.cli_here(
        "create-location", "--name", "Kraków Rynek", "--timezone", "Europe/Warsaw"
    )["id"]
    created = server.cli_here("create-survey", "--file", str(survey_file))
    server.cli_here("assign-survey", "--location", location, "--survey", created["id"])
    yield server, location
    server.stop()


def reviewed(size: tuple[int, int], language: str) -> bool:
    """The screenshots people look at: every language on the smallest display (where words are
    tightest), English on the others. Every other screen is checked by its layout verdict."""
    return size == SIZES[0] or language == "en"


def inside(spots: dict[str, tuple[int, int]], size: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """`spots` (logged click targets), asserted to lie in the window."""
    assert spots
    for key, (x, y) in spots.items():
        assert 0 < x < size[0] and 0 < y < size[1], f"{key}@{x},{y} outside {size}"
    return spots


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

    def settled(screen: str, language: str) -> None:
        """The kiosk's verdict on `screen` laid out in this window: every visible widget
        inside the window, every text inside its box. Once it is logged, the screen (or the
        change within it) has been drawn: a screenshot may follow at once."""
        found = kiosk.layout(screen)
        assert found["size"] == "{}x{}".format(*size), found.group(0)
        assert found["verdict"] == "fits", f"{screen} {language} at {size}: {found['verdict']}"
        assert int(found["widgets"]) > 0
        checked.append((screen, language))

    def screenshot(name: str, language: str) -> None:
        if reviewed(size, language):
            xvfb.screenshot(shots / f"{name}-{language}.png", size)
            expected_shots.add(f"{name}-{language}.png")

    # IT's long press, shortened: the walk holds the corner five times (3 s each by default).
    kiosk.start(SMILETAP_KIOSK_SYNC_INTERVAL_S="2", SMILETAP_KIOSK_LONG_PRESS_S="0.5")
    try:
        for language in LANGUAGES:
            faces = inside(kiosk.targets("q1", timeout=60), size)
            chips = inside(kiosk.named_targets("languages"), size)
            assert sorted(chips) == sorted(LANGUAGES)
            if language != "en":
                xvfb.click(*chips[language])
                kiosk.wait_for(rf"language: {language}$")
                faces = inside(kiosk.targets("q1"), size)
            settled("question", language)
            if language == "en":  # the window the kiosk asked for, where it asked for it
                assert xvfb.window_geometry("Smiletap") == (0, 0, *size)
            screenshot("question", language)

            xvfb.click(*faces[1])  # unhappiest: the follow-up reasons come next
            kiosk.wait_for(r"tap recorded \S+ value=1")
            reasons = inside(kiosk.named_targets("reasons"), size)
            assert {"wait", "staff", "stock", "clean", "done"} <= set(reasons)
            settled("followup", language)
            xvfb.click(*reasons["wait"])
            kiosk.layout("followup")  # the picked chip drawn filled (same widgets, new words)
            screenshot("followup", language)
            xvfb.click(*reasons["done"])
            kiosk.wait_for(r"reasons recorded \S+ reasons=wait$")

            for question, kind in (("q2", "nps"), ("q3", "ces"), ("q4", "csat")):
                keys = inside(kiosk.targets(question), size)
                settled("question", language)
                screenshot(kind, language)
                xvfb.click(*keys[4])
                kiosk.wait_for(r"tap recorded \S+ value=4")
            buttons = inside(kiosk.named_targets("comment"), size)
            settled("comment", language)
            screenshot("comment", language)
            xvfb.click(*buttons["skip"])
            kiosk.wait_for(r"comment recorded")
            kiosk.wait_for(r"screen: thanks")
            settled("thanks", language)
            screenshot("thanks", language)

            # IT's screens speak the language the kiosk is in when IT opens them: here the
            # customer's, on the thank-you screen.
            xvfb.press(8, 8)  # IT's way in: a long press in the top-left corner
            kiosk.wait_for(r"screen: pin")
            xvfb.release()
            keys = inside(kiosk.named_targets("pin"), size)
            settled("pin", language)
            for digit in ["1", "1", "1", "1", "ok"]:
                xvfb.click(*keys[digit])
            kiosk.wait_for(r"it: wrong PIN")
            kiosk.layout("pin")  # the message drawn
            screenshot("pin", language)
            for digit in [*PIN, "ok"]:
                xvfb.click(*keys[digit])
            kiosk.wait_for(r"screen: status")
            buttons = inside(kiosk.named_targets("status"), size)
            settled("status", language)
            if language == "en":
                xvfb.click(*buttons["sync"])
                kiosk.wait_for(r"it: sync finished")
                kiosk.layout("status")  # its outcome drawn
            screenshot("status", language)
            xvfb.click(*buttons["reenroll"])
            kiosk.wait_for(r"screen: setup")
            setup = inside(kiosk.named_targets("setup"), size)
            assert set(setup) == {"enroll", "cancel"}
            settled("setup", language)
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
