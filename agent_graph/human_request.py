"""Requests for a person in English, German, Spanish and French, as readable patterns per language.

A missed "can someone call me back?" keeps a customer with a bot they asked to leave; a false alarm costs
one handoff. So recall comes first, but words that merely name people ("mein Mitarbeiter kann sich nicht
einloggen", "add an agent seat", "contact person on the invoice", "I spoke to your colleague yesterday")
must not fire. Per language, lexicons of person nouns, "someone" words (jemand, alguien, quelqu'un) and
verbs of reaching, being put through and calling back are combined by proximity; the bot refused ("kein
Bot", "pas un robot"), "a real person", the service's phone number or a bare "asesor" fire too. Text is
folded first (lower case, no accents, "moechte" = "mochte" = "möchte"), and typos in key words are mapped
back. A match is dropped when its clause says there is no need ("ich brauche keinen Menschen", "ya no
necesito que me llamen"), tells of the past ("j'ai parlé à un conseiller", "ya hablé con un humano"), of a
need that may come ("if I ever need a human I'll let you know"), of what a spouse or colleague did ("Mi esposo
habló con ustedes"), imagines a person ("a human would have taken three days") or is about the writer's own
customers ("how do my customers call me?"); a question set after "if I ever" ("If I ever had a problem, could I
reach a person?") asks how the service works, and "I'm a real person, not a bot" is no refusal. Nothing fires
when a tenant writes about its own widget or hotline ("the 'talk to an agent' button in my widget") or asks
out of curiosity or while comparing plans ("Do you have live agents on weekends? Just curious"); refusing the
bot is never dropped. Implicit asks count as well: "is anyone there / ist gerade jemand erreichbar", "is there
really nobody", "what number can I call", "can I come to your office", "can we continue this on WhatsApp with
one of your people", a named person ("Frau Becker bitte"). Chat shorthand ("connect me 2 someone") and, for German,
dialect ("is do wer erreichbar?", "chönnt mi öpper aalüte") are written out before matching. The
vocabulary and patterns per language live in :mod:`agent_graph.human_request_lexicon`. An embedding head
(logistic regression on MiniLM vectors) was tried and left out: it caught nothing the patterns missed,
while look-alikes such as "Can my colleague see my conversations?" scored 0.94 (BENCHMARKS.md, decide).
What the patterns miss goes to a character n-gram model (:mod:`agent_graph.human_request_model`) whose
threshold no look-alike of our tables reaches; it is silenced wherever the patterns' guards would decline.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from agent_graph.human_request_lexicon import ALONE, ENGLISH, FRENCH, GERMAN, NO_BOT, SPANISH
from agent_graph.human_request_model import model_fires

PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile("|".join(f"(?:{p})" for p in group), re.IGNORECASE)
    for name, group in (("en", ENGLISH), ("no_bot", NO_BOT), ("alone", ALONE), ("de", GERMAN), ("es", SPANISH),
                        ("fr", FRENCH))
}
_UNGUARDED = frozenset({"no_bot", "alone"})

# A request pattern is dropped when its clause says there is no need, tells of the past, or is about
# the writer's own customers. The clause runs back at most 30 characters, to the last , . ; ! ? or "but".
_CLAUSE_END = re.compile(r"[.!?;,\n]|\b(but|aber|sondern|pero|sino|mais)\b")
_DECLINED = re.compile("|".join(f"(?:{p})" for p in (
    # no need, no longer
    r"\b(no need|do(es)?n'?t (really )?need|do(es)? not need|no longer (need|require)|not (necessary|needed)|needn'?t)\b",
    r"\b((brauch|benotig|muss)\w*\s+(\w+\s+){0,2}(kein\w*|nicht)|nicht (mehr )?(notig|erforderlich))\b",
    r"\bno\s+(me\s+)?(necesito|necesitamos|hace falta|es necesario|hay necesidad|requiero)\b|\bsin necesidad\b|"
    r"\bno\s+((quiero|deseo|necesito)\s+que\s+)?me\s+(llamen|llame|contacten|contacte)\b",
    r"\b((pas|plus|point)\s+(besoin|la peine|necessaire)|inutile|ne\s+(me\s+)?(rappelez|contactez|appelez)\s+pas|"
    r"ne\s+(veux|souhaite|desire)\s+pas\s+(etre\s+)?(rappele|contacte|appele))\b",
    # opening hours, not a request: "Wann ist der Kundendienst erreichbar?"
    r"\b(wann|wie lange|bis wann|ab wann|when|until when|cuando|hasta cuando|quand|jusqu'a quand)\s+(ist|sind|is|are|"
    r"esta|estan|est|sont)\b",
    # the past: "j'ai parlé à un conseiller", "ich habe mit einem Berater telefoniert"
    r"\b(ai|as|a|avons|avez|ont|avais|avait)\s+(deja\s+|bien\s+|hier\s+)?(parle|discute|echange|contacte|appele|joint|"
    r"rappele|eu)\b|\b(habe|hatte|hab|haben)\b(?!(\s+\w+)?\s+(gerne?|lieber)\b)[^.!?\n]{0,40}\b(gesprochen|telefoniert|geredet|gechattet|kontaktiert|"
    r"erreicht)\b",
    # ... and with "ya" ("ya hablé con un humano"; folded, "hablé" reads like the subjunctive "hable")
    r"(?<!que )\bya\s+(me\s+|les?\s+)?(hable|llame|chatee|converse|comunique|contacte|escribi)\b",
    # ... had someone on the line ("ich hatte gestern schon jemanden am Telefon"; a past time word keeps "hätte gern
    # jemanden am Telefon", folded "hatte gern", a request)
    r"\b(hatte|hatten)\s+((gestern|vorgestern|vorhin|heute|schon|bereits|neulich|letztens|eben|letzte woche)\s+)+"
    r"(jemand\w*|(einen|eine|ein|den|die|ihren|ihre)\s+\w+)\b[^.!?\n]{0,30}\b(am telefon|an der strippe|in der leitung|"
    r"dran|im chat)\b",
    # ... and someone else's call told on ("una amiga me dijo que habló con alguien": folded, the preterite "habló"
    # reads "hablo", I speak; advice takes the subjunctive, "me dijo que hablara con un supervisor")
    r"\b(dijo|dice|conto|comento|aseguro|dijeron|contaron)\s+que\s+(ya\s+)?(se\s+|le\s+|les\s+)?(hablo|llamo|chateo|"
    r"converso|comunico|contacto|escribio|paso|atendio)\b",
    # a hypothetical need: "if I ever need a human I'll let you know", "si necesito hablar con alguien te aviso",
    # "si un jour j'ai besoin d'un humain", "wenn ich einen Menschen brauche"
    r"\b(if|in case|should)\s+(i|we)\s+(ever\s+(need|want|require)|(still\s+|later\s+|really\s+)?(need|require))\b|"
    r"\b(wenn|falls)\s+ich\s+((mal|jemals|irgendwann|doch|noch)\s+)?(\w+\s+){0,3}(brauche|benotige)\b|"
    r"\bsi\s+((algun dia|alguna vez|en algun momento|mas adelante|luego|despues)\s+)?(necesito|necesitara|necesitase|"
    r"hace falta|me hace falta|ocupo)\b|"
    r"\bsi\s+((un jour|jamais|plus tard|a l'avenir)\s+)?(j'|on\s+|nous\s+)(ai|aurai|aurais|avais|a|avons)\s+(\w+\s+)?"
    r"besoin\b",
    # the writer's customers, and things handed on inside the product ("wie leite ich Tickets an einen Agenten weiter")
    r"\b(my|our|mein\w*|unser\w*|mis|nuestr[oa]s|mes|nos)\s+(customers?|clients?|users?|kund(e|en|in|innen)\b|nutzer\w*|"
    r"clientes?|usuari[oa]s?|utilisateurs?)\b|(?<!a )(?<!de )(?<!al )(?<!service )\b(customers|clients|users|kunden|"
    r"nutzer|clientes|usuarios|utilisateurs)\b(?!-)",
    r"\b(weiterleiten|leite|leiten|verbinde|transfer\w*|transfier\w*|forward\w*|route|assign\w*|deriv\w*|rediriger|"
    r"transmettre)\s+((ich|wir|man)\s+)?((ein|eine|einen|den|die|das|un|una|une|el|la|le|les|los|las|l'|a|an|the|otro|"
    r"otra|autre)\s*)?(tickets?|chats?|anrufe?|gesprache?|conversations?|conversaci\w+|llamadas?|appels?|messages?|"
    r"mensajes?|calls?|kunden|clientes?|clients?|customers?)\b",
    # what the bot is, not a request: "are you a real person?", "what do you call someone who..."
    r"\b(are you|you are|bist du|sind sie|eres|es usted|sos|es-tu|etes-vous|tu es|vous etes|i am|i'm|soy|somos|je suis|"
    r"ich bin)\s+(really\s+)?((an?|ein|"
    r"eine|un|una|une)\s+)?((real|live|actual|echte\w*|vraie?|richtige\w*),?\s+)*(human|person|mensch|bot|robot|"
    r"roboter|ai|ki|ia|maquina|machine|persona|humano|humaine?|personne|computer)\b|\bam i (talking|speaking|chatting) "
    r"(to|with)\b|\byou be an?\b|\blike an? (real|actual)\b|\b(what|who) do (you|we|they|people) call\b",
)))
# "I don't want to talk to anyone": an English request right after a negation is no request.
_NEGATED = re.compile(r"\b(don'?t|do not|doesn'?t|does not|never|no need to|not)\s+((really\s+)?(want|need|wish|"
                      r"like|have)\s+(to\s+)?)?$")
# Right before a match in any language (it runs back 40 characters): the past ("Spoke to someone on the phone
# last week", "I talked with an agent"), a French verb of wanting or having to, said no to ("je ne dois pas
# parler à quelqu'un"), and a German "dass" clause not wanted, across its comma ("ich will nicht, dass mich
# jemand anruft").
_JUST_BEFORE = re.compile(r"\b(spoke|talked|chatted|rang|phoned|called|emailed|messaged|dealt)\s+((to|with)\s+)?$|"
                          r"\bne\s+(\w+\s+)?(dois|devons|veux|voulons|voudrais|souhaite|souhaitons|desire|tiens|"
                          r"cherche|demande|faut)\s+(pas|plus|point|jamais)\s+(\w+\s+)?$|"
                          r"\b(will|mochte|mochten|wollen|wunsche|brauche)\s+(\w+\s+)?nicht\s*,?\s*dass\s+(\w+\s+){0,2}$")
# A third party as the subject of the reaching tells what they did or will do ("Mi esposo habló con ustedes",
# "mi colega se va a poner en contacto con ustedes"), unless the words from them to the verb say they want it
# or were told to ("my husband would like to speak to an agent", "my friend told me to ask for a supervisor").
_THIRD_PARTY = (r"(wife|husband|partner|colleague|coworker|co-worker|mate|friend|son|daughter|mother|father|mum|mom|"
                r"dad|brother|sister|assistant|esposo|esposa|marido|mujer|pareja|novio|novia|hermano|hermana|hijo|hija|"
                r"madre|padre|mama|papa|colega|companer[oa]|amig[oa]|compa|soci[oa]|vecin[oa]|frau|mann|partner(in)?|"
                r"kolleg(e|in)|freund(in)?|sohn|tochter|mutter|vater|bruder|schwester|mari|femme|conjoint(e)?|"
                r"collegue|ami(e)?|fils|fille|mere|pere|frere|soeur)")
_THIRD_PARTY_WANTS = (r"(wants?|needs?|would|wishes|told|said|asked|suggested|recommended|advised|quiere|quieren|"
                      r"necesita|desea|quisiera|pide|prefiere|dijo|recomendo|sugirio|pidio|mochte|braucht|wunscht|sagt|"
                      r"meint|will(?=\s+(mit|einen|eine|ein|jemand\w*|den|die|dass)\b)|veut|voudrait|souhaite|besoin|dit|"
                      r"conseille)")
_THIRD_PARTY_BEFORE = re.compile(rf"\b(my|our|mi|mis|nuestr[oa]|mein\w*|unser\w*|mon|ma|mes|notre)\s+{_THIRD_PARTY}\s+"
                                 r"([\w']+\s+){0,4}$")
_WANTS = re.compile(rf"\b{_THIRD_PARTY_WANTS}\b")

# "A human would have taken three days to answer": a person imagined, not asked for ("un humano habría tardado",
# "un humain aurait mis trois jours"; folded, "ein Mensch hätte" reads "hatte", which tells of the past as well).
# "aurait-il", "hätte ich gern" ask.
_IMAGINED_AFTER = re.compile(r"\s*(would(n'?t)? have|would'?ve|would(n'?t| never| not)|habria|hubiera|hubiese|"
                             r"(aurait|auraient)(?!-)|(hatte|hatten)(?!\s+(ich|wir|gerne?|lieber)\b))\b")

# "Kein Rückruf nötig", "a call is not necessary": the no need follows the request.
_NOT_NEEDED_AFTER = re.compile(r"\W*((is|ist|es|est|n'est)\s+)?(not\s+|nicht\s+|no\s+|pas\s+)?(mehr\s+)?(notig|"
                               r"erforderlich|necessary|needed|required|necesari[oa]|necessaire)\b")
# A tenant configuring its own product ("the 'talk to an agent' button in my widget", "a customer of mine
# can't get through to a human on my hotline") quotes requests without making one.
_OWN_PRODUCT = re.compile(r"\b(my|our|mi|mis|nuestr[oa]s?|mon|ma|mes|notre|nos|mein\w*|unser\w*)\s+((help|chat|support|web|website|site|own|"
                          r"new|custom|embedded|live chat|contact)\s+)?(widget|hotline|"
                          r"chatbot|help ?desk|inbox|bot)\b|\b(escalation|routing|handoff|hand-off)\s+rules?\b|"
                          # "el widget de mi web", "the chat on my website", and the bot set up to hand over
                          # ("¿Puedo configurar el bot para que transfiera a un agente?")
                          r"\b(widget|bot|chatbot|chat|button|boton|bouton)\s+(de|of|on|in|en|auf|sur)\s+(my|our|mi|mis|"
                          r"nuestr[oa]s?|mon|ma|notre|mein\w*|unser\w*)\s+(web|website|site|sitio|pagina|tienda|shop|"
                          r"store|boutique|app|webseite|seite|laden)\b|\b(configur\w*|set up|setting up|einricht\w*|"
                          r"konfigurier\w*)\s+(the|el|la|le|den|das|die|a|un|une|einen)\s+(bot|chatbot|widget|asistente|"
                          r"assistant)\s+(para que|so (that|it)|to|pour qu|afin qu|damit|de modo que)\b")

# Asking out of curiosity whether there are people ("Do you have live agents on weekends? Just curious",
# "Gibt es bei euch noch echte Menschen? Nur interessehalber"), or comparing plans before buying ("Ist beim
# Business-Tarif ein persönlicher Ansprechpartner dabei? Ich vergleiche gerade nur"), asks about the service, not
# for a person.
_COMPARED = r"(plans|tariffs|offers|options|prices|providers|tarife|angebote|anbieter|preise|planes|tarifas|ofertas|" \
            r"opciones|precios|proveedores|offres|forfaits|formules|tarifs|prix|fournisseurs|abonnements)"
_JUST_CURIOUS = re.compile(r"\b(just|only|purely)\s+(curious|comparing|shopping around)\b|"
                           rf"\b(i'?m|we'?re)\s+((just|only)\s+)?comparing\s+(the\s+)?{_COMPARED}\b|"
                           rf"\b(ich|wir)\s+vergleiche?n?\s+((gerade|nur|noch|erst)\s+)*(die\s+)?{_COMPARED}\b|"
                           rf"\b(estoy|estamos)\s+(solo\s+)?comparando\s+(los\s+|las\s+)?{_COMPARED}\b|"
                           rf"\b(je|nous)\s+(compare|comparons)\s+((juste|seulement|simplement|les)\s+)*{_COMPARED}\b|"
                           r"\bvergleiche\s+((gerade|erst|noch)\s+)*nur\b|\bnur am vergleichen\b|\b(solo|solamente)\s+"
                           r"(estoy\s+)?comparando\b|\bje\s+compare\s+(juste|seulement|simplement)\b|\b(out of|from)\s+"
                           r"(pure\s+|sheer\s+)?"
                           r"curiosity\b|\bnur\s+(interessehalber|aus\s+(reiner\s+)?neugier|so\s+aus\s+interesse)\b|"
                           r"\baus reiner neugier\b|\b(solo|pura|simple|nomas|nada mas)\s+(por\s+)?curiosidad\b|"
                           r"\b(juste|simple|pure|par)\s+(par\s+)?curiosite\b")


# A need that may come, set before the question ("If I ever had a problem with a refund, would I be able to reach
# a person?", "Si algún día tengo un problema, ¿podría hablar con alguien?", "Falls ich mal Probleme habe, könnte
# ich dann jemanden erreichen?"): an "if" with "ever / one day" anywhere earlier in the match's sentence asks how
# the service works. "If you can't fix it, put me through to a manager" has no "ever" and still asks.
_SOMEDAY = re.compile(r"\b(if|in case|should|whenever)\s+(i|we)\s+(ever|one day|someday|at some point|in (the )?future)\b|"
                      r"\bsi\s+(algun dia|alguna vez|un dia|en algun momento|en el futuro|mas adelante)\b|"
                      r"\bsi\s+(un jour|jamais|a l'avenir|dans le futur)\b|"
                      r"\b(falls|wenn|sollte|sollten)\s+(ich|wir)\s+(mal|jemals|irgendwann|einmal|eines tages|kunftig|"
                      r"in zukunft)\b")
_SENTENCE_END = re.compile(r"[.!?\n]")


def _someday(text: str, m: re.Match[str]) -> bool:
    """An "if I ever" earlier in the match's sentence, across its commas."""
    start = max(0, m.start() - 150)
    for end in _SENTENCE_END.finditer(text, start, m.start()):
        start = end.end()
    return _SOMEDAY.search(text, start, m.start()) is not None


# "I'm a real person, not a bot, so why does the captcha keep failing?": the writer says what they are, and the
# bot refused right after is the one the captcha takes them for.
_I_AM_HUMAN = re.compile(r"\b(i am|i'm|im|soy|somos|je suis|nous sommes|ich bin|wir sind)\s+(really\s+|de verdad\s+|"
                         r"vraiment\s+|wirklich\s+)?((a|an|un|una|une|ein|eine)\s+)?((real|actual|live|echter?|"
                         r"richtiger?|vraie?|verdadera?)\s+)?(human( being)?|person|humano|humana|ser humano|persona|"
                         r"humain|humaine|personne|mensch)(\s+(real|de verdad|reelle|vraie?))?\s*,?\s*(y\s+|and\s+|et\s+|"
                         r"und\s+)?$")


def _by_third_party(text: str, m: re.Match[str]) -> bool:
    """The match's verb belongs to someone else, who neither wants it nor passed the advice on."""
    before = _THIRD_PARTY_BEFORE.search(text, max(0, m.start() - 40), m.start())
    return before is not None and _WANTS.search(text, before.start(), m.end()) is None


def _declined(text: str, m: re.Match[str], english: bool) -> bool:
    start = max(0, m.start() - 30)
    for end in _CLAUSE_END.finditer(text, start, m.start()):
        start = end.end()
    if english and _NEGATED.search(text, max(0, m.start() - 25), m.start()):
        return True
    if _JUST_BEFORE.search(text, max(0, m.start() - 40), m.start()) or _by_third_party(text, m) or _someday(text, m):
        return True
    if _NOT_NEEDED_AFTER.match(text, m.end()) or _IMAGINED_AFTER.match(text, m.end()):
        return True
    return _DECLINED.search(text, start, m.end()) is not None


# Typos are common in angry messages ("talkk to somone", "Mitarbeitr sprechn", "habalr"). Words close
# to the few that carry a request for a person are mapped back to them before the patterns run: one
# edit for short words, two from nine letters. Near words that are real and common stay as they are
# (no verb forms of the past: "parlé" must not become "parler").
_KEYWORDS = ("talk", "talking", "speak", "speaking", "chat", "chatting", "contact", "contacting", "someone", "staff",
             "somebody", "person", "agent", "assistant", "operator", "human", "representative", "mitarbeiter",
             "sprechen", "reden", "menschen", "kundendienst", "kundenservice", "hablar", "asesor", "comunicarme",
             "representante", "conseiller", "jemand", "actual", "agente", "humain", "operador")
_KEEP = frozenset("that what walk walking tall talks chart cart cat chant contract contacts contacted humane "
                  "parson persona personal agency urgent speck spear sometime somewhere someday agents humans "
                  "agente agenten sprachen stuff stiff factual actuel actuals agentes agence agenda gente regen rede redet "
                  "roden redes eden operados romain".split())


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (adjacent transpositions count once), stopped past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = [0] * (len(b) + 1), list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb),
                         prev2[j - 2] + 1 if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb else limit + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=4096)
def _fix_typo(word: str) -> str:
    if len(word) < 4 or word in _KEEP or word in _KEYWORDS:
        return word
    for key in _KEYWORDS:
        limit = 2 if len(key) >= 9 else 1
        if _edits(word, key, limit) <= limit:
            return key
    return word


# Chat shorthand ("connect me 2 someone", "qqn de dispo ?", "xfa q me atienda alguien") and, for the German
# patterns only, dialect ("is do wer erreichbar? i brauch an menschen", Swiss "chönnt mi öpper aalüte") are
# written out too.
_SHORTHAND = {"u": "you", "r": "are", "2": "to", "4": "for", "ppl": "people", "sum1": "someone", "some1": "someone",
              "any1": "anyone", "ne1": "anyone", "qqn": "quelqu'un", "qqun": "quelqu'un", "qq1": "quelqu'un",
              "q": "que", "xfa": "por favor", "xf": "por favor"}
_DIALECT_DE = {"ned": "nicht", "net": "nicht", "nit": "nicht", "nod": "nicht", "opper": "jemand", "epper": "jemand",
               "oaner": "jemand", "irgendwer": "irgendjemand", "aalute": "anrufen", "alute": "anrufen",
               "aarufe": "anrufen", "zruggrufe": "zuruckrufen", "is": "ist", "i": "ich", "mi": "mich", "do": "da",
               "brauch": "brauche", "heut": "heute", "gebts": "gebt", "zrugglute": "zuruckrufen",
               "zruggluute": "zuruckrufen", "zrugglutet": "zuruckruft", "zruggluutet": "zuruckruft",
               "aaluutet": "anruft", "aalutet": "anruft", "alutet": "anruft"}
# "wer" is "jemand" after these words ("ist noch wer da?", "kann mir wer schreiben?"), but "who" when it opens a
# question.
_WER = re.compile(r"\b(noch|mal|sich|ob|da|bald|heute|gleich|schnell|halt|denn|vielleicht|ist|sind|(kann|konnte|"
                  r"konnen|soll|mag|wurde) (mir|uns|mich))\s+wer\b")
# ... and "wen" is "jemanden" after "mir/uns" ("gebts mir wen Echten", "hol mir wen vom Support"); Bavarian "mit am
# Menschen" is "mit einem" (standard German has "mit am" only before a superlative: "mit am besten")
_WEN = re.compile(r"\b(mir|uns)\s+wen\b")
_MIT_AM = re.compile(r"\bmit am\b(?!\s+\w+sten\b)")


def _german(text: str) -> str:
    text = re.sub(r"(?<![ae])([aou])e", r"\1", text)  # "moechte" -> "mochte", like "möchte"; "schauen" stays
    text = re.sub(r"[a-z]+", lambda m: _DIALECT_DE.get(m.group(0), m.group(0)), text)
    text = _MIT_AM.sub("mit einem", text)
    return _WEN.sub(r"\1 jemanden", _WER.sub(r"\1 jemand", text))


def _respell(word: str) -> str:
    return _SHORTHAND.get(word) or (_fix_typo(word) if word.isalpha() else word)


@lru_cache(maxsize=1024)
def _fold_char(c: str) -> str:
    if c in "’‘´`ß":
        return "ss" if c == "ß" else "'"
    return "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x)).lower() or c


# A request for a person opens or closes a message; scanning a 100,000-character paste whole would
# hold the event loop for seconds, so only its head and tail are read.
HEAD_CHARS, TAIL_CHARS = 3000, 1000


# The n-gram model (:mod:`agent_graph.human_request_model`) only speaks when the patterns found nothing, and
# never where they would have declined: not when a pattern matched and its guard dropped it, not about the
# tenant's own product, and not when the whole text says no need, tells of the past, is about the writer's
# customers (``_DECLINED``) or negates wanting, needing or being called ("I don't want to talk to anyone",
# "ich möchte mit niemandem sprechen", "no quiero que nadie me llame", "je ne veux parler à personne").
_NEGATION = re.compile("|".join(f"(?:{p})" for p in (
    r"\b(don'?t|do not|doesn'?t|does not|didn'?t|did not|never|not)\s+(really\s+|even\s+|ever\s+)?(want|need|wish|"
    r"care|require|have to)\b|\b(no ?one|nobody|noone)\s+(should|needs? to|has to|must)\b|\bdo not (call|contact)\b|"
    r"\bdon'?t (call|contact|phone|ring)\b",
    r"\b(will|wollen|mochte|mochten|brauche|brauchen|muss|mussen|wunsche|wunschen)\b[^.!?\n]{0,30}?\b(nicht|kein\w*|"
    r"niemand\w*)\b|\bnicht\s+(\w+\s+)?(anrufen|zuruckrufen|kontaktieren|melden)\b",
    r"\bno\s+(\w+\s+){0,2}?(quiero|queremos|deseo|necesito|necesitamos|quisiera|hace falta|requiero|llamen|llame|"
    r"contacten|contacte)\b",
    r"\bne\s+(\w+\s+|m'|nous\s+)?(veux|voulons|voudrais|souhaite|souhaitons|desire|rappelez|contactez|appelez)\b|\b(n'ai|n'avons|"
    r"ai|avons)\s+(pas|plus|aucun\w*)\s+(\w+\s+)?besoin\b",
)))


# ... unless what is refused is the bot or its articles ("no quiero leer más artículos, quiero que alguien lea
# mi caso"): refusing the bot is never dropped.
_REFUSED_BOT = re.compile(r"\b(bot|robot|roboter|chatbot|maquina|machine|maschine|ki|ia|ai|faq|articles?|artikel\w*|"
                          r"articulos?|formularios?|formulaires?|automat\w*|automatic\w*|automatique\w*)s?\b")


def _model_declined(folded: str) -> bool:
    """The whole-text guard for the model (the caller has already ruled out the tenant's own product)."""
    if _DECLINED.search(folded) or _SOMEDAY.search(folded):
        return True
    return _NEGATION.search(folded) is not None and _REFUSED_BOT.search(folded) is None


def asks_for_person(text: str) -> str | None:
    """The (folded) phrase that asks for a person, else the n-gram model's ``"model:0.9991"``, else None."""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = f"{text[:HEAD_CHARS]}\n{text[-TAIL_CHARS:]}"
    folded = "".join(map(_fold_char, text))
    typos = re.sub(r"[a-z0-9]+", lambda m: _respell(m.group(0)), folded)
    not_asking = _OWN_PRODUCT.search(folded) is not None or _JUST_CURIOUS.search(folded) is not None
    guarded = not_asking
    for variant in dict.fromkeys((folded, typos)):
        german = _german(variant)
        for name, pattern in PATTERNS.items():
            if not_asking and name not in _UNGUARDED:
                continue
            subject = german if name == "de" else variant
            for m in pattern.finditer(subject):
                if m.group(0).strip():
                    if name == "no_bot" and _I_AM_HUMAN.search(subject, max(0, m.start() - 40), m.start()):
                        guarded = True
                    elif name in _UNGUARDED or not _declined(subject, m, name == "en"):
                        return m.group(0).strip()
                    else:
                        guarded = True
    if guarded or _model_declined(folded):
        return None
    return model_fires(text)
