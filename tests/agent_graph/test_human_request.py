"""Requests for a person in four languages, both directions: the detector alone, then the real graph.

The phrasings are our own (neither held-out file of ``bench/data``); the blind file is only scored by
``python -m bench.decide``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph.nodes.decide import Decision
from agent_graph.nodes.safety import asks_for_person
from agent_graph.runner import AgentRunner
from bench.decide import read_person_requests, score_person_requests
from store import triage
from store.tenants import Tenant
from tests.agent_graph.conftest import ai_outbox, say

PHRASINGS = Path(__file__).resolve().parent / "human_request_phrasings.csv"
MULTILINGUAL = Path(__file__).resolve().parent / "human_request_phrasings_multilingual.csv"
ROUND4 = Path(__file__).resolve().parent / "human_request_phrasings_round4.csv"
ROUND5 = Path(__file__).resolve().parent / "human_request_phrasings_round5.csv"
ROUND6 = Path(__file__).resolve().parent / "human_request_phrasings_round6.csv"
ROUND7 = Path(__file__).resolve().parent / "human_request_phrasings_round7.csv"

ASKS = [
    ("en", "could somebody on your side give me a ring?"),
    ("en", "I want this handled by a person, not an autoresponder"),
    ("en", "pls transfer me to a live rep"),
    ("en", "Is anyone real reading this?"),
    ("en", "operator!"),
    ("en", "I need to speek to a persn"),
    ("de", "Ich möchte bitte mit einer Beraterin sprechen"),
    ("de", "Können Sie mich an den Kundendienst durchstellen?"),
    ("de", "Bitte um einen Rückruf heute Nachmittag"),
    ("de", "Ist da ein Mensch?"),
    ("es", "¿Me podría pasar con un asesor?"),
    ("es", "Quiero hablar con una persona de verdad"),
    ("es", "Por favor que me llamen mañana"),
    ("fr", "Je voudrais parler à un conseiller humain"),
    ("fr", "Pourriez-vous me rappeler demain ?"),
    ("fr", "Mettez-moi en relation avec le service client"),
]

LOOK_ALIKES = [
    ("en", "How do I buy two more agent seats?"),
    ("en", "Our human resources department needs last year's invoices"),
    ("en", "Thanks, your support staff sorted it out yesterday"),
    ("en", "I talked to a rep last week and the refund arrived, thanks"),
    ("en", "The callback URL of our webhook returns 500"),
    ("en", "Can I change the contact person on my account?"),
    ("de", "Wie lege ich einen neuen Mitarbeiter im Team an?"),
    ("de", "Ich habe gestern mit einem Berater telefoniert, alles erledigt"),
    ("es", "¿Cuántos agentes puedo añadir a mi plan?"),
    ("es", "Mi agente de seguros necesita una copia de la factura"),
    ("fr", "Comment ajouter un agent à l'équipe ?"),
    ("fr", "Mon conseiller bancaire a validé le virement"),
]


# Said no to, or folded spellings of, the same words: the guard and the folding, one case each.
NO_NEED = [
    ("en", "No need for a human, the article helped."),
    ("de", "Ich brauche keinen Menschen, der Hilfeartikel hat gereicht."),
    ("es", "Ya no necesito que me llamen, se solucionó."),
    ("fr", "Plus besoin de me rappeler, c'est réglé."),
    ("fr", "J'ai parlé à un conseiller hier, tout est réglé."),
    ("en", "How do my customers call me through the widget?"),
]
FOLDED = [
    ("de", "Ich moechte einen Mitarbeiter sprechen"),
    ("de", "ich mochte mit einem menschen reden"),
    ("de", "Ich will keinen Bot"),
    ("es", "no quiero hablar con una maquina"),
    ("es", "pasame con un asesor"),
    ("fr", "je veux parler a quelqu un"),
]


@pytest.mark.parametrize(("language", "text"), ASKS)
def test_requests_for_a_person_are_caught(language: str, text: str) -> None:
    assert asks_for_person(text) is not None, (language, text)


@pytest.mark.parametrize(("language", "text"), LOOK_ALIKES)
def test_messages_that_only_name_people_are_not(language: str, text: str) -> None:
    assert asks_for_person(text) is None, (language, text, asks_for_person(text))


@pytest.mark.parametrize(("language", "text"), NO_NEED)
def test_no_need_the_past_and_ones_own_customers_do_not_fire(language: str, text: str) -> None:
    assert asks_for_person(text) is None, (language, text, asks_for_person(text))


@pytest.mark.parametrize(("language", "text"), FOLDED)
def test_spellings_without_accents_or_umlauts_are_caught(language: str, text: str) -> None:
    assert asks_for_person(text) is not None, (language, text)


def score_table(path: Path) -> tuple[dict[str, int], dict[str, list[str]], list[str]]:
    """Requests per language, the missed ones per language, and the look-alikes that fired."""
    missed: dict[str, list[str]] = {}
    asked_n: dict[str, int] = {}
    alarms = []
    for text, asked, language in read_person_requests(path):
        fired = asks_for_person(text) is not None
        if asked:
            asked_n[language] = asked_n.get(language, 0) + 1
            if not fired:
                missed.setdefault(language, []).append(text)
        elif fired:
            alarms.append(text)
    assert set(asked_n) == {"en", "de", "es", "fr"}
    return asked_n, missed, alarms


def assert_table(path: Path, *, recall: float, alarms: int) -> None:
    """Every language's recall reaches ``recall`` and at most ``alarms`` look-alikes fire."""
    asked_n, missed, fired = score_table(path)
    for language, n in asked_n.items():
        assert 1 - len(missed.get(language, [])) / n >= recall, (language, missed[language])
    assert len(fired) <= alarms, fired


def test_the_multilingual_table_is_caught_in_every_language_with_few_false_alarms() -> None:
    # Measured: recall 1.00 in en/de/es/fr (210 requests), 0 of 110 look-alikes fire. Its 30 % check split,
    # scored once before the last fixes: en 9/9, de 16/18, es 18/18, fr 18/18, 0 of 33 look-alikes.
    assert_table(MULTILINGUAL, recall=0.97, alarms=3)  # at most ~3 % of the 110 look-alikes


def test_round_four_implicit_asks_channel_switches_and_dialects_are_caught() -> None:
    # Availability questions, bot fatigue, escalation to a boss, "can I come to your office", named people,
    # SMS-speak, mixed language, dialect, formal letters. Its 30 % check split (random.Random(11), per language
    # and label), scored once before the last fixes: recall en 12/18, de 11/18, es 11/18, fr 10/18 (the
    # previous detector: 11, 10, 9, 8), 0 of 36 look-alikes. Measured now on the whole file: recall 1.00 in
    # en/de/es, 0.98 in fr (missed: "Karim est là ? Il m'a aidé..."), 0 of 120 look-alikes fire.
    assert_table(ROUND4, recall=0.95, alarms=4)  # at most ~3 % of the 120 look-alikes


def test_round_five_regional_voices_formal_letters_and_sms_speak_are_caught() -> None:
    # Mexican/Argentine/Chilean/Colombian/Spain Spanish, Swiss/Austrian German, Québec/Belgian/African French,
    # Indian/UK/AU English; verb forms in every person and mood ("transfiriera", "pasáis", "derívenme"), "un
    # responsable se ponga en contacto conmigo", "ich hätte gerne mit ... gesprochen". Its 30 % check split
    # (random.Random(13), per language and label), scored once before the last fixes: recall en 12/14, de 11/14,
    # es 23/27, fr 11/14 (the previous detector: 11, 11, 23, 11), 0 of 33 look-alikes. Measured now on the whole
    # file: recall 1.00 in en/de/fr, 0.99 in es (missed: "...que me la reciba personalmente alguien de la
    # empresa"), 0 of 115 look-alikes fire.
    assert_table(ROUND5, recall=0.95, alarms=4)  # at most ~3 % of the 115 look-alikes


def test_round_six_hypotheticals_third_parties_and_curiosity_do_not_fire_and_nobody_there_asks_do() -> None:
    # Look-alikes that tell of a need that may come ("if I ever need a human I'll let you know", "si necesito
    # hablar con alguien te aviso"), of what a spouse or colleague did ("Mi esposo habló con ustedes"), or ask out
    # of curiosity ("Just curious, no need now"); requests as "is there nobody who can help me?", "gebts mir wen
    # Echten", "ponme con una persona", "mettre en lien avec un technicien", "transfer to senior". Its 30 % check
    # split (random.Random(17), per language and label), scored once before the last fixes: recall en 12/13,
    # de 12/13, es 27/30, fr 11/13 and 2 of 36 look-alikes firing; once after (rules, before the retrain): en 12/13,
    # de 12/13, es 28/30, fr 11/13, 2 of 36. Measured on the whole file then: recall 0.98 in en/de/es, 0.96 in fr
    # (missed: "Il n'y a vraiment personne qui peut m'aider ?", "Je veux qu'on m'appelle, j'en ai marre d'écrire"),
    # 2 of 125 look-alikes fire (a tenant's bot or widget named as "mi tienda online", "el widget de mi web"); after
    # round seven: recall 1.00 in every language, 0 of 125.
    assert_table(ROUND6, recall=0.95, alarms=4)  # at most ~3 % of the 125 look-alikes


def test_round_seven_channel_switches_nobody_there_and_a_tenants_own_handoff_are_judged_right() -> None:
    # Moving the chat to WhatsApp or the phone with a person ("Can we continue this on WhatsApp with one of your
    # people?"), rhetorical "is there really nobody" ("Ist denn keiner da, der sich mein Konto ansehen kann?", "C'est
    # pas possible qu'il n'y ait aucun humain"), tired of typing plus a call ("mejor márquenme al celular"), passed to a
    # colleague, specialist or department, very short asks; look-alikes that ask how the service would work one day
    # ("If I ever had a problem, would I be able to reach a person?"), compare plans, say "I'm a real person, not a
    # bot" to a captcha, tell of a friend's call ("me dijo que habló con alguien") or configure a tenant's own bot. Its
    # 30 % check split (random.Random(19), per language and label), scored once before the fixes: recall en 15/16,
    # de 13/16, es 12/16, fr 9/16 and 0 of 28 look-alikes firing; once after (rules developed on the rest, before the
    # retrain): en 15/16, de 13/16, es 13/16, fr 10/16, 0 of 28. The last fixes after that (the retrain raised the
    # model's threshold, and de/fr stayed below 0.95) used the whole file. Measured now on the whole file: recall 1.00
    # in en/de/es/fr, by the patterns alone as well, 0 of 100 look-alikes fire.
    assert_table(ROUND7, recall=0.95, alarms=3)  # at most 3 of the 100 look-alikes


def test_every_row_of_our_phrasings_table_is_judged_right() -> None:
    wrong = [(text, asked) for text, asked, _ in read_person_requests(PHRASINGS)
             if (asks_for_person(text) is not None) != asked]
    assert wrong == []


def test_the_detector_is_cheap_enough_to_run_on_every_message() -> None:
    texts = [text for _, text in ASKS + LOOK_ALIKES] * 20
    asks_for_person("warm up")
    started = time.perf_counter()
    for text in texts:
        asks_for_person(text)
    per_message = (time.perf_counter() - started) / len(texts)
    assert per_message < 0.01  # measured ~0.8 ms on the shared 2-core box (~0.95 ms over the multilingual table)


def test_bench_reads_either_label_column_and_rejects_unknown_labels(tmp_path: Path) -> None:
    blind = tmp_path / "blind.csv"
    with open(blind, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("text", "label", "language"), ("get me a human", "1", "en"),
                                 ("How do I add an agent seat?", "0", "en"), ("Mitarbeiter bitte", "1", "de")])
    scored = score_person_requests(blind)
    assert scored["recall"] == 1.0 and scored["false_alarms"] == 0.0 and scored["n"] == 2
    assert scored["recall_by_language"] == {"de": 1.0, "en": 1.0}
    # A text the detector was developed on says nothing about unseen ones: left out and counted.
    unseen = score_person_requests(blind, ["GET me a  human"])
    assert unseen["removed"] == 1 and unseen["n"] == 1 and unseen["recall_by_language"] == {"de": 1.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label,language\nhello,maybe,en\n", encoding="utf-8")
    with pytest.raises(ValueError, match="label must be one of"):
        read_person_requests(bad)


async def test_the_graph_hands_off_on_requests_and_answers_look_alikes_normally(
    pool: AsyncConnectionPool, kb_tenant: Tenant, runner: AgentRunner
) -> None:
    asks = [text for _, text in ASKS[::3]]  # every language, a few each: graph runs cost seconds here
    for i, text in enumerate(asks):
        r = await say(pool, kb_tenant, text, who=f"asks{i}@example.com")
        out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
        assert out.decision is Decision.HANDOFF and out.reason.startswith("asks_for_person"), (text, out.reason)
        assert [row["reply_kind"] for row in await ai_outbox(pool, kb_tenant.id, r.conversation_id)] == ["handoff"]
        async with pool.connection() as conn:
            fired = await triage.safety_firings(conn, kb_tenant.id, r.conversation_id)
        assert [f["rule"] for f in fired] == ["asks_for_person"], text
    for i, (_, text) in enumerate(LOOK_ALIKES[::3]):
        r = await say(pool, kb_tenant, text, who=f"alike{i}@example.com")
        out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
        assert not out.reason.startswith("asks_for_person"), (text, out.reason)
        async with pool.connection() as conn:
            fired = await triage.safety_firings(conn, kb_tenant.id, r.conversation_id)
        assert "asks_for_person" not in [f["rule"] for f in fired], text
