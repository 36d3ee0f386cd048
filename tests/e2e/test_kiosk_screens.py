"""Every customer and IT screen of the real kiosk window, in every language of the demo
survey, at the four target display sizes, clicked through with real X events.

The demo survey is extended with an NPS, a CES (1–7) and a CSAT question (the CSAT one with a
comment), so each kind's scale-end words and the comment keyboard are captured too; then IT's
PIN pad, status screen and re-enroll setup screen in each language the kiosk can be in.

Screenshots land in artifacts/e2e/<test>/<size>/ — look at them.
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
    server.env["SMILETAP_THANK_YOU_S"] = "1"
    server.start()
    location = server.cli(
        "create-location", "--name", "Kraków Rynek", "--timezone", "Europe/Warsaw"
    )["id"]
    created = server.cli("create-survey", "--file", str(survey_file))
    server.cli("assign-survey", "--location", location, "--survey", created["id"])
    yield server, location
    server.stop()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_screen_in_every_language(
    enrolled, xvfb: Xvfb, artifacts: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    server, location = enrolled
    device = server.cli("create-device", "--location", location, "--name", "Screens")
    kiosk = KioskProcess(tmp_path / "kiosk", xvfb.display, size=size)
    kiosk.enroll(server.url, device["code"], "--pin-stdin", stdin=PIN + "\n")
    shots = artifacts
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
            xvfb.screenshot(shots / f"question-{language}.png", size)

            xvfb.click(*faces[1])  # unhappiest: the follow-up reasons come next
            kiosk.wait_for(r"tap recorded \S+ value=1")
            reasons = kiosk.named_targets("reasons")
            assert {"wait", "staff", "stock", "clean", "done"} <= set(reasons)
            xvfb.click(*reasons["wait"])
            xvfb.screenshot(shots / f"followup-{language}.png", size)
            xvfb.click(*reasons["done"])
            kiosk.wait_for(r"reasons recorded \S+ reasons=wait$")

            for question, kind in (("q2", "nps"), ("q3", "ces"), ("q4", "csat")):
                keys = kiosk.targets(question)
                xvfb.screenshot(shots / f"{kind}-{language}.png", size)
                xvfb.click(*keys[4])
                kiosk.wait_for(r"tap recorded \S+ value=4")
            buttons = kiosk.named_targets("comment")
            xvfb.screenshot(shots / f"comment-{language}.png", size)
            xvfb.click(*buttons["skip"])
            kiosk.wait_for(r"comment recorded")
            kiosk.wait_for(r"screen: thanks")
            xvfb.screenshot(shots / f"thanks-{language}.png", size)
            kiosk.wait_for(r"screen: question")

        # IT's screens speak the language the kiosk is in when IT opens them.
        for language in LANGUAGES:
            kiosk.targets("q1")
            chips = kiosk.named_targets("languages")
            if language != "en":
                xvfb.click(*chips[language])
                kiosk.wait_for(rf"language: {language}$")
                kiosk.targets("q1")
            xvfb.long_press(8, 8, 3.5)  # IT's way in: the top-left corner
            kiosk.wait_for(r"screen: pin")
            keys = kiosk.named_targets("pin")
            for digit in ["1", "1", "1", "1", "ok"]:
                xvfb.click(*keys[digit])
            kiosk.wait_for(r"it: wrong PIN")
            xvfb.screenshot(shots / f"pin-{language}.png", size)
            for digit in [*PIN, "ok"]:
                xvfb.click(*keys[digit])
            kiosk.wait_for(r"screen: status")
            buttons = kiosk.named_targets("status")
            if language == "en":
                xvfb.click(*buttons["sync"])
            xvfb.screenshot(shots / f"status-{language}.png", size)
            xvfb.click(*buttons["reenroll"])
            kiosk.wait_for(r"screen: setup")
            setup = kiosk.named_targets("setup")
            assert set(setup) == {"enroll", "cancel"}
            xvfb.screenshot(shots / f"setup-{language}.png", size)
            xvfb.click(*setup["cancel"])
            kiosk.wait_for(r"screen: question")
    finally:
        kiosk.stop()
    taken = sorted(p.name for p in shots.glob("*.png"))
    assert len(taken) == 10 * len(LANGUAGES)
