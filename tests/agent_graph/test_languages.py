"""Languages: the AI answers on its own only in languages the KB covers, hands off otherwise with the
language named for agents, and customers get notices, widget strings and emails in their language."""

from __future__ import annotations

import json

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph.backends import from_settings
from agent_graph.kb_import import import_article
from agent_graph.nodes.decide import Decision
from agent_graph.runner import AgentRunner
from gateway.replies import AIReplySink
from store import conversations, handoffs, kb, translations
from store.tenants import Tenant
from tests.agent_graph.conftest import SkillRouter, ai_outbox, say
from tests.agent_graph.openai_wire import FakeOpenAI
from tests.channels.test_chat import Visitor, session_token
from tests.servers.gateway import RunningGateway

GERMAN_ARTICLE = """# Passwort zurücksetzen

Klicken Sie auf der Anmeldeseite auf **Passwort vergessen?** und geben Sie Ihre E-Mail-Adresse ein.
Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort festlegen können. Der Link ist eine Stunde gültig.
Wenn die E-Mail nicht ankommt, sehen Sie bitte in Ihrem Spam-Ordner nach.
"""


async def outbox_bodies(pool: AsyncConnectionPool, tenant_id: int, conversation_id: int) -> list[dict]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT payload FROM outbox WHERE tenant_id = %s AND conversation_id = %s ORDER BY id",
                                 (tenant_id, conversation_id))
        return [row["payload"]["body"] for row in await cur.fetchall()]


@pytest.mark.parametrize(("text", "code", "notice"), [
    ("Ich habe mein Passwort vergessen und kann mich nicht mehr anmelden. Wie setze ich es zurück?", "de",
     "Danke für Ihre Geduld"),
    ("Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo puedo restablecerla?", "es",
     "Gracias por su paciencia"),
])
async def test_a_language_the_kb_does_not_cover_is_handed_off_with_the_language_noted(
    pool: AsyncConnectionPool, kb_tenant: Tenant, runner: AgentRunner, text: str, code: str, notice: str
) -> None:
    async with pool.connection() as conn:
        assert await kb.languages(conn, kb_tenant.id) == {"en"}  # the demo KB, detected at import
    r = await say(pool, kb_tenant, text)
    out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)

    assert out.decision is Decision.HANDOFF and f"language {code}" in out.reason, out.reason
    rows = await ai_outbox(pool, kb_tenant.id, r.conversation_id)
    assert [row["reply_kind"] for row in rows] == ["handoff"]  # no automatic answer
    assert notice in rows[0]["text"]
    async with pool.connection() as conn:
        conv = await conversations.get(conn, kb_tenant.id, r.conversation_id)
        summary = await handoffs.latest(conn, kb_tenant.id, r.conversation_id)
    assert conv.language == code  # agents see it on the conversation
    assert summary is not None and f"language {code}" in summary.reason
    # The email formatter got the German/Spanish catalog: the quote intro is translated too.
    body = (await outbox_bodies(pool, kb_tenant.id, r.conversation_id))[-1]
    assert body["language"] == code and notice in body["text"]
    intro = translations.translate(code, "On {when} UTC, you wrote:", when="")
    assert intro.split("UTC")[1] in body["text"] and "you wrote" not in body["text"]


async def test_an_english_question_on_the_english_kb_is_answered(
    pool: AsyncConnectionPool, kb_tenant: Tenant, runner: AgentRunner
) -> None:
    r = await say(pool, kb_tenant, "How do I reset my password? I forgot it and the sign-in page rejects me.")
    out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
    assert out.decision is Decision.ANSWER, out.reason
    assert out.reply is not None and out.reply.language == "en"


async def test_an_article_without_front_matter_gets_its_detected_language_and_unlocks_it(
    pool: AsyncConnectionPool, kb_tenant: Tenant, runner: AgentRunner
) -> None:
    await import_article(pool, kb_tenant.id, key="de/passwort", text=GERMAN_ARTICLE)
    async with pool.connection() as conn:
        article = await kb.get_article(conn, kb_tenant.id, "de/passwort")
        assert article is not None and article.language == "de"
        assert await kb.languages(conn, kb_tenant.id) == {"de", "en"}
    r = await say(pool, kb_tenant, "Ich habe mein Passwort vergessen. Wie kann ich mein Passwort zurücksetzen?")
    out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
    assert "language de" not in out.reason
    if out.decision is Decision.ANSWER:  # quoted from the German article, with German buttons
        assert out.reply is not None and out.reply.language == "de"
        assert [a.label for a in out.reply.actions] == ["Das hat geholfen", "Mit einer Person sprechen"]


async def test_german_notices_and_widget_strings_end_to_end_over_the_chat_socket(
    gateway: RunningGateway, pool: AsyncConnectionPool, kb_tenant: Tenant
) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{gateway.url}/widget/{kb_tenant.slug}",
                            headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}) as resp:
            page = await resp.text()
        assert resp.status == 200 and '<html lang="de">' in page and "Nachricht schreiben…" in page
        async with http.get(f"{gateway.url}/widget/{kb_tenant.slug}", headers={"Accept-Language": "pt-BR"}) as resp:
            assert "Write a message…" in await resp.text()  # no Portuguese catalog: English
    v = Visitor()
    await v.connect(gateway.url, (await session_token(gateway.url, kb_tenant.slug))["token"])
    try:
        await v.call("message", {"client_id": "de-1", "text": "Hallo, ich möchte mit einem Menschen sprechen, "
                                                              "nicht mit einem Roboter. Bitte verbinden Sie mich."})
        reply = await v.wait_for(lambda m: m["direction"] == "out" and m["author"] == "ai", within=90)
    finally:
        await v.sio.disconnect()
    assert reply["kind"] == "handoff" and reply["language"] == "de"
    assert "Eine Person aus unserem Team" in reply["text"]


async def test_llm_mode_asks_for_the_reply_in_the_customers_language(
    pool: AsyncConnectionPool, kb_tenant: Tenant
) -> None:
    await import_article(pool, kb_tenant.id, key="de/passwort", text=GERMAN_ARTICLE)
    server = FakeOpenAI()
    await server.start()
    server.classify_content = json.dumps({
        "category": "account", "category_confidence": 0.95, "urgency": "low", "urgency_confidence": 0.8,
        "sentiment": "neutral", "sentiment_confidence": 0.9, "complexity": "simple", "complexity_confidence": 0.8,
        "language": "de", "language_confidence": 0.99})
    server.answer_content = "Klicken Sie auf **Passwort vergessen?** und folgen Sie dem Link [1]."
    runner = AgentRunner(pool, reply_sink=AIReplySink("http://switchboard.test"), router=SkillRouter(),
                         backend=from_settings(server.base_url, "sk-test", "test-model", timeout=5))
    await runner.start()
    try:
        r = await say(pool, kb_tenant, "Wie kann ich mein Passwort zurücksetzen? Ich habe es vergessen.")
        out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
    finally:
        await runner.close()
        await server.stop()
    answer_requests = [req for req in server.requests if "response_format" not in req]
    assert answer_requests, out.reason
    system = answer_requests[0]["messages"][0]["content"]
    assert "German" in system and "(language code de)" in system
    if out.decision is Decision.ANSWER:
        assert out.reply is not None and out.reply.language == "de" and "Passwort vergessen" in out.reply.text


def test_catalogs_compile_and_cover_the_same_strings() -> None:
    assert set(translations.available()) >= {"en", "de", "es"}
    from babel.messages.pofile import read_po

    ids = {}
    for code in ("de", "es"):
        with (translations.LOCALES_DIR / f"{code}.po").open("rb") as fh:
            ids[code] = {m.id for m in read_po(fh) if m.id and m.string}
    assert ids["de"] == ids["es"]
    assert translations.translate("de-AT", "Send") == "Senden"
    assert translations.translate("xx", "Send") == "Send"
    assert translations.negotiate("fr-CH, es;q=0.8") == "fr"
