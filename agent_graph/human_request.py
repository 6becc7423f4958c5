"""Requests for a person in English, German, Spanish and French, as readable patterns per language.

A missed "can someone call me back?" keeps a customer talking to a bot they asked to leave; a false
alarm costs one handoff. So recall comes first, but words that merely name people ("travel agent",
"human resources", "add an agent seat", "contact person", "I spoke to your colleague yesterday")
must not fire: the patterns want a verb of reaching, asking or being put through next to a person
noun, "someone/jemand/alguien/quelqu'un", a call-back request, "a real person", or a message that is
nothing but a person noun ("operator"). Typos in the English keywords are mapped back first.

An embedding head (logistic regression on the MiniLM vector, trained on Bitext ``contact_human_agent``
against the other intents and CLINC150) was tried and left out: at a threshold that kept dev
false alarms near 0.1 % it fired only on messages the patterns already caught, while look-alikes such
as "Can my colleague see my conversations?" scored 0.94 (BENCHMARKS.md, decide section).
"""

from __future__ import annotations

import re
from functools import lru_cache

# --- English -----------------------------------------------------------------------------------------
_ART = r"(a|an|some|the|your|ur|one of your|any|someone from your|somebody from your|a member of your)"
_ADJ = r"(real|actual|live|human|proper|flesh[- ]and[- ]blood|competent|senior|customer service|support|" \
       r"customer support|service|tech(nical)? support|billing|sales|f\w*ing|damn|goddamn|bloody)"
_PERSON = (r"(human( being)?s?|persons?|people|agents?|reps?|representatives?|operators?|managers?|supervisors?|"
           r"staff|employees?|associates?|advisors?|advisers?|assistants?|specialists?|consultants?|"
           r"team members?|colleagues?|technicians?|experts?|member of (your |the )?(staff|team)|support team|service team|team|"
           r"customer (service|support|care)|helpdesk|help desk)")
_NOT_A_PERSON = r"(?!\s*(seats?|licen[cs]es?|accounts?|roles?|ids?|numbers?|strings?|app|apps|software|version|" \
                r"install\w*|settings?|permissions?|view|dashboard|console|resources|error|office|detection|feature|" \
                r"mode|analytics|reports?|status|queue|vs|versus|count|field|list|page|panel|metrics?)\b)"
_SOMEONE = r"(some|any)(one|body)"
_ASK = r"(want|need|would like|ask(ing)? for|[’']d like|wanna|like|prefer|rather|demand|request|get me|give me|find me|" \
       r"bring me|send me|assign me|let me have|can i (get|have)|could i (get|have)|may i (have|get))"
_REACH = r"(talk(ing|s)?|speak(ing|s)?|chat(ting|s)?|contact(ing|s)?|reach(ing|es)?|call(ing|s)?|" \
         r"phon(e|ing)|ring|email(ing)?|message|get in touch|get through|get hold of|deal(ing)? with)"
_PUT = r"(connect|transfer|put|pass|forward|route|redirect|switch|hand|hook|patch|escalate|send)(ing|ed|s)?"

ENGLISH = (
    rf"\b{_REACH}\s+((to|with|w[ie]?[rt]?h|through to)\s+)?{_ART}\s+({_ADJ}\s+)*{_PERSON}\b{_NOT_A_PERSON}",
    rf"\b{_REACH}\s+((to|with|w[ie]?[rt]?h)\s+)?{_SOMEONE}\b(?!\s+else)",
    rf"\b(talk(ing)?|speak(ing)?|chat(ting)?|deal(ing)?)\s+(to|with|w[ie]?[rt]?h)\s+({_ADJ}\s+)*(human|person|agent|rep|"
    rf"representative|operator|assistant|someone|somebody|staff|manager|supervisor|people|customer service|"
    rf"customer support|customer care|tech support|support team|support staff|whoever)s?\b{_NOT_A_PERSON}",
    rf"\b{_SOMEONE}\s+(i|we)\s+(can|could|may)\s+(talk|speak|chat|call|reach|contact|write)\b",
    rf"\b(get|find|send|have)\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\s+to\s+(help|call|contact|look|check|"
    r"review|fix|sort|handle|assist)\b",
    rf"\b(talk|speak|chat|go)\w*\s+(\w+\s+){{1,3}}(with|to)\s+(one of your|your|a|an)\s+({_ADJ}\s+)*{_PERSON}\b"
    rf"{_NOT_A_PERSON}",
    rf"\b({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b[^.!?\n]{{0,25}}\b(call|phone|ring|contact|email|text|"
    rf"get back to|reach out to|get in touch with|be in touch with|follow up with)\s+(me|us)\b",
    r"\b(give|gimme|drop)\s+(me|us)\s+a\s+(quick\s+)?(ring|call|buzz|phone call|callback|call back)\b",
    rf"\b(have|had)\s+a\s+(quick\s+|short\s+)?word\s+with\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b",
    rf"\b(can|could|will|would)\s+{_SOMEONE}\s+(please\s+)?(help|assist|call|contact|take a look)\b",
    rf"\b{_ASK}\s+{_SOMEONE}\s+((competent|qualified|real|human|actual|knowledgeable|senior)\s+)?"
    r"(to|who|that|from|in|on|else)\b",
    rf"\b(help|assistance|support|an answer|answers)\s+from\s+(a|an|some|your|one of your)\s+({_ADJ}\s+)*{_PERSON}\b"
    rf"{_NOT_A_PERSON}",
    rf"(?<!was )(?<!were )(?<!been )\b(looked at|seen|handled|reviewed|checked|contacted|called|answered|helped|"
    rf"assisted|dealt with|served)\s+by\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE})\b{_NOT_A_PERSON}",
    r"\bescalate\s*,?\s*(please|pls|plz|asap|now)\b|^\W*escalate\W*$",
    r"\b(any|some)\s*(humans?|people|persons?|one|body|staff)\s+(real\s+)?(around|there|here|available|alive|"
    r"online|out there|reading|working|on duty|left)\b",
    r"\b(human|person|people|someone|somebody)\s+(actually\s+)?(reading|seeing|checking|looking at)\s+(this|these|"
    r"my|the)\b",
    rf"\b(put|get|bring)\s+(me\s+)?({_SOMEONE}|(a|an|some|your)\s+(real\s+|live\s+|actual\s+)?(human|person|agent|rep|"
    r"manager|supervisor|staff member|technician))\s+(on|in|onto)\b",
    rf"\b(be|get|being|getting)\s+(transferred|connected|put through|passed|forwarded|escalated|routed|redirected|"
    rf"handed over|switched)\s+(on\s+)?(to|with)\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE})\b{_NOT_A_PERSON}",
    r"\b((customer service|customer support|support|service|help|contact)\s+(phone\s+)?(number|hotline|line)\s+"
    r"(i|we)\s+can\s+(call|ring|phone|reach|dial)|(number|hotline)\s+(i|we)\s+can\s+(call|ring|phone|reach) (for|to)|"
    r"(phone|telephone)\s+number\s+(for|of)\s+(support|customer service|your (support|team|staff|agents))|"
    r"(support|customer service)\s+(hotline|phone number))\b",
    rf"\blet\s+(a|an|some|your|one of your)\s+({_ADJ}\s+)*(human|person|agent|staff|someone|somebody|rep|"
    r"representative|manager|supervisor|people)\b",
    rf"\b(want|need|like|appreciate|request|expect|arrange|have|prefer)\s+(a\s+)?(call|phone call|ring|callback|"
    rf"call back|email)\s+from\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|"
    rf"{_SOMEONE})\b",
    rf"\b{_ASK}\s+((to\s+)?(talk|speak|chat)\s+(to|with)\s+)?{_ART}\s+({_ADJ}\s+)*(human|person|agent|rep|"
    rf"representative|operator|manager|supervisor|staff member|employee|real people)\b{_NOT_A_PERSON}",
    r"\bget\s+(me\s+)?(a|an|some)\s+(real\s+|live\s+)?(human|person|agent|rep|someone)\b",
    rf"\b(get|find|give|send)\s+me\s+{_SOMEONE}\b",
    rf"\b{_ASK}\s+(a\s+)?(human|person|real person|people|agent|representative|operator)\b{_NOT_A_PERSON}",
    rf"\b{_PUT}\s+(me|us|this|(this|my) (case|ticket|issue|problem|request|call|chat|conversation))\s+((on|up|over|through|across|in touch)\s+)?"
    rf"(to|with|through to|on to|onto)\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE}|support|tech support|billing|sales|(the\s+)?(right|"
    rf"responsible)\s+(person|people|team))\b{_NOT_A_PERSON}",
    rf"\bescalat(e|ed|ing)\b[^.!?\n]{{0,30}}\b(to|with)\s+({_ART}\s+)?({_ADJ}\s+)*{_PERSON}\b{_NOT_A_PERSON}",
    r"\bescalate\s+(this|it|my (case|ticket|issue|problem))\b",
    r"(?<!am a )(?<!'m a )(?<!’m a )\b(real|actual|live|flesh[- ]and[- ]blood)\s+(human|person|agent|people|rep|representative|"
    rf"operator|someone|somebody)s?\b{_NOT_A_PERSON}",
    r"\bhuman\s+(support|please|pls|plz|help|assistance|response|reply)\b",
    r"\b(a|an|any|some|your)\s+(human|person|real person|agent|representative|operator|staff member|employee|"
    r"member of (your |the )?(staff|team))\s+(please\s+)?(to\s+)?(review|look at|look into|check|handle|help|call|"
    r"phone|ring|contact|get back|reach out|take over|take a look)\b",
    rf"\b(is|are)\s+(there\s+)?{_SOMEONE}\s+(else|there|here|real|human|alive|(who|that)\s+(can|could|will|is able))\b",
    r"\b(is|are)\s+(there\s+)?(a|any)\s+(real\s+|live\s+|actual\s+)?(human|person|people|agent|staff)\s+"
    r"(there|here|available|who|that|i can)\b",
    r"\bwho\s+(can|could|do|should|shall)\s+i\s+(call|phone|ring|talk to|speak (to|with)|contact|reach|write to|"
    r"email|ask)\b",
    r"\b(call|ring|phone)\s+me\s+(back|up|please|asap|as soon as|today|tomorrow|now|on|at)\b",
    r"\b(request|schedule|book|arrange|want|need|get|like|give me|have|receive)\s+(a\s+|an\s+)?(urgent\s+|quick\s+)?"
    r"(call[- ]?back|phone call|call from)\b",
    rf"\b(can|could|would|will|please)\s+(you|{_SOMEONE}|an? \w+)\s+(please\s+)?(call|phone|ring)\s+me\b",
    r"\bhave\s+(someone|somebody|an? (agent|person|human|rep|representative|manager))\s+(call|contact|phone|"
    r"ring|email|reach out to|get back to)\s+me\b",
    r"\b(agent|human|representative|operator|person|someone|somebody|manager|supervisor)\s*,?\s*"
    r"(please|pls|plz|asap|now\W*$)",
    r"\b(no more|(?<!am )(?<!i'm )(?<!i’m )not|stop|don[’']?t want|do not want|sick of|tired of|fed up with|hate|done with|"
    r"enough of|enough with)\s+"
    r"((talking|chatting|speaking) (to|with)\s+)?(a\s+|an\s+|the\s+|this\s+|your\s+)?(bot|robot|machine|ai|chatbot|"
    r"automated (replies|answers|responses))s?\b(?!\W?(integration|learning|translation|api|token|setting|user|"
    r"account|app|configuration|from|to reply|in))",
    r"\b(from|by)\s+(a|an)\s+(real\s+|live\s+|actual\s+)?(agent|human|person)\s*,?\s*not\s+(a|an)\s+(ai|bot|machine)\b",
)

# One-word (or nearly) messages: "operator", "agent!!", "human please", "Mitarbeiter", "asesor".
ALONE = (
    r"^\W*(please\s+|bitte\s+|por favor\s+)?(a\s+|an\s+|einen?\s+|eine\s+|un\s+|una\s+|une\s+)?"
    r"(real\s+|live\s+|echte[nr]?\s+|vrai(e)?\s+)?(operator|agent|human|representative|rep|person|customer service|"
    r"support agent|supervisor|manager|someone|anyone|anybody|somebody|people|mensch|mitarbeiter(in)?|"
    r"berater(in)?|kundenberater(in)?|kundendienst|kundenservice|ansprechpartner(in)?|menschen|person|persona|humano|agente|"
    r"asesor(a)?|operador(a)?|representante|humain|conseill(er|ère)|opérateur|opératrice|une personne|"
    r"quelqu[’']un)(\s+(please|pls|plz|bitte|por favor|s[’']il vous plaît|svp|now|jetzt|ya|maintenant))?\W*$",
)

# --- German ------------------------------------------------------------------------------------------
_DE_PERSON = (r"(mensch(en)?|mitarbeiter(in|innen|n)?|berater(in)?|kundenberater(in)?|kundendienst(mitarbeiter(in)?)?|"
              r"kundenservice|kundensupport|support(-?mitarbeiter(in)?)?|servicemitarbeiter(in)?|"
              r"ansprechpartner(in)?|sachbearbeiter(in)?|person|agent(en|in)?|kollegen|kollegin|vorgesetzten|"
              r"supervisor|chef|teamleiter(in)?|techniker(in)?|team|operator|telefonisten|menschlichen \w+)")
_DE_ART = r"(einem|einer|einen|eine|ein|jemandem|jemanden|jemand|ihrem|ihrer|ihren|dem|der|den|euren|eurem|eurer)"
_DE_VERB = (r"(sprechen|reden|telefonieren|verbinden|durchstellen|weiterleiten|weiterverbinden|chatten|schreiben|"
            r"kontaktieren|erreichen|übergeben|verbunden|durchgestellt|weitergeleitet|weiterverbunden)")
GERMAN = (
    rf"\b(mit|zu|an)\s+{_DE_ART}\s+((echten|richtigen|menschlichen|lebenden|realen|zuständigen|kompetenten)\s+)?"
    rf"{_DE_PERSON}\b[^.!?\n]{{0,60}}\b{_DE_VERB}\b",
    rf"\b{_DE_VERB}\b[^.!?\n]{{0,40}}\b(mit|zu|an)\s+({_DE_ART}\s+(\w+\s+)?)?{_DE_PERSON}\b",
    rf"\b(mit|zu|an)\s+jemand(em|en)?\b[^.!?\n]{{0,40}}\b{_DE_VERB}\b",
    r"\bjemand(en|em)?\b[^.!?\n]{0,30}\b(sprechen|reden|telefonieren|anrufen|zurückrufen|erreichen)\b",
    r"\b(echte[nrm]?|richtige[nrm]?|lebende[nrm]?|reale[nrm]?)\s+(mensch(en)?|person(en)?|mitarbeiter(in)?|"
    r"berater(in)?|ansprechpartner(in)?)\b",
    r"\baus fleisch und blut\b",
    r"\bpersönlich\w*\s+(helfen|hilfe|beraten|beratung|gespräch|ansprechpartner(in)?|kontakt|sprechen|telefonat)\b",
    r"\b(kann|könnte|darf)\s+ich\s+(bitte\s+)?(mal\s+)?(einen|eine|mit einem|mit einer)\s+(\w+\s+)?(menschen|"
    r"mitarbeiter(in)?|berater(in)?|ansprechpartner(in)?|person)\b[^.!?\n]{0,20}\b(haben|bekommen|sprechen|erreichen|"
    r"kontaktieren)\b",
    r"\b(mitarbeiter(in)?|berater(in)?|mensch|ansprechpartner(in)?|kundendienst|kundenservice)\s*,?\s*(bitte|sofort|jetzt)\b",
    r"\b(möchte|will|hätte gerne?|brauche|benötige|wünsche|verlange|suche)\s+(\w+\s+){0,3}(einen|eine|ein)\s+"
    r"(\w+\s+)?(menschen|mitarbeiter(in)?|berater(in)?|kundenberater(in)?|ansprechpartner(in)?|sachbearbeiter(in)?|"
    r"echte person|menschliche[nr]? \w+)\b(?!\s*(hinzu|anlegen|einladen|zugang|konto|lizenz))",
    r"\b(rückruf|zurückrufen|zurückgerufen|rufen sie mich(\s+(?!nicht\b)\w+){0,3}\s+(an|zurück)|ruft mich(\s+(?!nicht\b)\w+){0,3}"
    r"\b(an|zurück)|mich\s+(bitte\s+)?anrufen)\b",
    r"\b(kein(e|en)?|nicht\s+(mit\s+)?(einem|einer|dem|der))\s+(bot|roboter|chatbot|maschine|ki|computer)\b(?![-\w])",
    rf"\b(hilfe|unterstützung|rückmeldung|antwort|rückruf)\s+(von|durch)\s+{_DE_ART}\s+(\w+\s+)?{_DE_PERSON}\b",
    r"\bgibt es\s+(hier\s+|da\s+|bei ihnen\s+|bei euch\s+|auch\s+|überhaupt\s+)?(jemand(en)?|(einen|eine)\s+"
    r"(echte[nr]?\s+|menschliche[nr]?\s+)?(menschen|mitarbeiter(in)?|berater(in)?|ansprechpartner(in)?|person))\b(?![-\w])",
    r"\b(ist|sind)\s+(da|hier|dort)\s+(jemand|ein mensch|menschen)\b|\bjemand\s+(da|hier)\s*\?",
    rf"\b(ein|eine|einer|jemand|ihr|ihre)\s+(\w+\s+)?({_DE_PERSON}\s+)?[^.!?\n]{{0,20}}\b(mich|uns)\b[^.!?\n]{{0,15}}"
    r"\b(kontaktieren|anrufen|zurückrufen|melden)\b",
    rf"\b(mich|uns)\b[^.!?\n]{{0,20}}\b(ein|eine|einer|jemand|ihr|ihre)\s+(\w+\s+)?{_DE_PERSON}?\b[^.!?\n]{{0,15}}"
    r"\b(kontaktieren|anrufen|zurückrufen|melden)\b",
    r"\b(verbinden|stellen|leiten)\s+sie\s+mich\b",
    r"\bmenschliche[nr]?\s+(ansprechpartner(in)?|mitarbeiter(in)?|hilfe|unterstützung|berater(in)?|support)\b",
)

# --- Spanish -----------------------------------------------------------------------------------------
_ES_PERSON = (r"(persona|humano|agente|asesor(a)?|operador(a)?|representante|ejecutiv[oa]|encargad[oa]|supervisor(a)?|"
              r"gerente|responsable|empleado|técnico|especialista|alguien|servicio al cliente|atención al cliente|"
              r"soporte)")
_ES_FILL = (r"((hablar|conversar|chatear|ser|atendid[oa]|por|con|que|me|atienda|contactar|tener|conseguir|ahora|ya|"
            r"favor|directamente|realmente)\s+)")
SPANISH = (
    r"\b(hablar|conversar|chatear|comunicarme|comunicarse|contactar|contactarme|ponerme en contacto|charlar)\s+"
    r"(con|a)\s+(un|una|el|la|alguien|algún|alguna|su|sus|un ser|una persona|personal|atención al cliente|"
    r"servicio al cliente|servicio técnico|soporte)\b",
    rf"\b(pás[ae]n?me|pasadme|pasarme|comuníque?n?me|comunícame|conéct[ae]n?me|transfiér[ae]n?me|transferirme|"
    rf"derív[ae]n?me|derivarme|póng[ae]n?me|ponerme|comunicarme)\b[^.!?\n]{{0,30}}\b(con|a)\s+(un|una|el|la|alguien|"
    rf"algún|su)?\s*(\w+\s+)?{_ES_PERSON}\b",
    r"\b(persona|humano|agente|asesor|ser humano)\s+(real|de verdad|humano)\b",
    r"\b(un|una)\s+(ser\s+humano|humano|persona de verdad|persona real)\b",
    r"\b(hay|existe|tienen)\s+(alguien|alguna persona|algún (agente|asesor|humano|operador|representante))\b",
    r"\bcon quien\s+(pueda|puedo|podría)\s+hablar\b",
    rf"\b(quiero|necesito|quisiera|prefiero|exijo|deseo|me gustaría|podría|puedo|pueden|puede)\s+{_ES_FILL}{{0,3}}"
    rf"(un|una|con un|con una|a un|a una)\s+(\w+\s+)?(persona|humano|agente|asesor(a)?|operador(a)?|representante)\b"
    rf"(?!\s+de\s+(viajes|seguros|contacto))",
    r"\b(me\s+(puede|pueden|podría|podrían)\s+atender|me\s+atienda|que\s+me\s+atienda)\b",
    r"\b(llámenme|llámame|llamarme|me\s+(pueden|puede|podrían|podría)\s+llamar|que\s+me\s+llamen?|devolverme la llamada|"
    r"devuélvanme la llamada|me devuelvan la llamada|me llame)\b",
    r"\bno\s+(quiero|deseo)\s+(hablar\s+con\s+)?(un|una|el|la)?\s*(bot|robot|máquina|chatbot|ia|contestador)\b",
    r"\b(asesor(a)?|operador(a)?|agente|humano|representante)\s*,?\s*(por favor|ya\W*$|ahora\W*$)",
    r"\bme\s+(comunica|comunican|pasa|pasan|transfiere|transfieren|conecta|conectan|pone|ponen|deriva|derivan|"
    r"(puede|pueden|podría|podrían)\s+(pasar|comunicar|transferir|conectar|poner|derivar))\s+(con|a)\b",
    rf"\b(ayuda|atención|asistencia|apoyo)\s+(de|por parte de)\s+(un|una|alguien|algún)\s*({_ES_PERSON}|ser humano)?\b",
)

# --- French ------------------------------------------------------------------------------------------
_FR_PERSON = (r"(humain|personne|conseill(er|ère)s?|agent|opérat(eur|rice)|quelqu[’']un|interlocut(eur|rice)|"
              r"responsable|technicien(ne)?|représentant(e)?|collaborat(eur|rice)|employé(e)?|membre|superviseur|"
              r"chef|manager|service client|support|équipe)")
_FR_FILL = (r"((parler|discuter|échanger|avoir|être|mis|mise|en|relation|contact|avec|à|a|de|d[’']|joindre|contacter|"
            r"vraiment|juste|seulement|plutôt|directement|maintenant|tout de suite)\s+)")
FRENCH = (
    r"\b(parler|discuter|échanger|chatter|converser)\s+(à|a|avec)\s+(un|une|quelqu[’']un|le|la|l[’']|votre|vos|"
    r"des|au|aux|un vrai|une vraie|un être)\b",
    rf"\b(passez|passe|mettez|mets|transférez|transfère|transférer|redirigez|redirige|orientez|connectez|"
    rf"connecte)[- ]?moi\b[^.!?\n]{{0,40}}\b{_FR_PERSON}",
    r"\ben (relation|contact|communication) avec\b",
    rf"\bme\s+(transférer|passer|mettre en relation|connecter|rediriger|orienter|transmettre)\b[^.!?\n]{{0,30}}"
    rf"\b{_FR_PERSON}",
    r"\b(mettre|joindre|contacter|avoir|joindre|appeler)\s+(un|une|quelqu[’']un|le|la|votre)\s+(vrai(e)?\s+)?"
    r"(humain|personne|conseill(er|ère)|agent|opérat(eur|rice)|interlocut(eur|rice)|représentant(e)?|"
    r"technicien(ne)?|responsable|service client)\b",
    r"\b(un|une)\s+(vrai(e)?\s+)?(humain|personne réelle|vraie personne|être humain|conseill(er|ère) humain)\b",
    r"\b(une\s+vraie\s+personne|un\s+vrai\s+humain|un\s+être\s+humain|personne\s+réelle)\b",
    r"\b(veux|voudrais|souhaite|souhaiterais|aimerais|besoin d[’'e]\s*|parler à)\s*quelqu[’']un\b",
    r"\bquelqu[’']un\s+(de\s+)?(réel|vrai|humain|de chez vous|de votre équipe|du service|du support)\b",
    r"\b(rendez-vous|rdv|entretien|appel)\s+(téléphonique\s+)?avec\s+(un|une|quelqu[’']un|le|la|votre)\b",
    rf"\b(je\s+)?(veux|voudrais|souhaite|souhaiterais|aimerais|préfère|préférerais|exige|demande|besoin de|"
    rf"besoin d[’'](?=un|une))\s*"
    rf"{_FR_FILL}{{0,3}}(un|une)\s+(vrai(e)?\s+)?(humain|personne|conseill(er|ère)|agent|opérat(eur|rice)|"
    rf"interlocut(eur|rice)|représentant(e)?)\b(?!\s+(de voyage|immobilier|d[’']assurance))",
    r"\b(rappelez[- ]moi|rappelle[- ]moi|me\s+rappeler|être\s+rappelée?|me\s+rappelle|me\s+recontacter|"
    r"recontactez[- ]moi|appelez[- ]moi|m[’']appeler|me\s+téléphoner|un\s+rappel)\b",
    r"\b(pas|plus)\s+(de|d[’']un|un|une|avec un|avec une)\s+(robot|bot|machine|ia|chatbot|répondeur)\b",
    r"\b(conseill(er|ère)|agent|humain|opérat(eur|rice))\s*,?\s*(s[’']il vous plaît|svp|stp|maintenant|vite)\b",
    r"\b(y a[- ]t[- ]il|il y a)\s+quelqu[’']un\b",
    r"\b(quelqu[’']un|un conseiller|une conseillère|une personne|un humain|un agent)\s+(au|en)\s+(téléphone|ligne)\b",
    r"\b(être|soit|sois)\s+(contacté|rappelé|recontacté|appelé|aidé|pris en charge|mis en relation)e?s?\s+(par|avec)\s+"
    r"(un|une|quelqu[’']un|le|la|votre|l[’'])",
    r"\b(parler|discuter|échanger)\s+(au|aux)\s+(service|support|responsable|conseill|agent|téléphone)",
    rf"\b(un|une|quelqu[’']un|le|la|votre)\s+((\w+\s+)?{_FR_PERSON}\s+)?(peut|pourrait|pouvez|doit|va)[- ]?(il|elle)?\s+"
    r"(me|m[’'])\s*(contacter|rappeler|appeler|joindre|répondre|aider)\b",
)

PATTERNS: dict[str, re.Pattern[str]] = {
    lang: re.compile("|".join(f"(?:{p})" for p in group), re.IGNORECASE)
    for lang, group in (("en", ENGLISH), ("alone", ALONE), ("de", GERMAN), ("es", SPANISH), ("fr", FRENCH))
}

# Typos are common in angry messages ("talkk to somone", "speak with a eprson"). Words close to the
# few that carry a request for a person are mapped back to them before the patterns run: one edit for
# short words, two from nine letters. Near words that are real and common stay as they are.
_KEYWORDS = ("talk", "talking", "speak", "speaking", "chat", "chatting", "contact", "contacting", "someone",
             "somebody", "person", "agent", "assistant", "operator", "human", "representative")
_KEEP = frozenset("that what walk walking tall talks chart cart cat chant contract contacts contacted humane "
                  "parson persona agency urgent speck spear sometime somewhere someday agents humans".split())


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (adjacent transpositions count once), stopped past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=4096)
def _fix_typo(word: str) -> str:
    low = word.lower()
    if len(low) < 4 or low in _KEEP or low in _KEYWORDS:
        return word
    for key in _KEYWORDS:
        limit = 2 if len(key) >= 9 else 1
        if _edits(low, key, limit) <= limit:
            return key
    return word


def normalise_typos(text: str) -> str:
    return re.sub(r"[A-Za-z]+", lambda m: _fix_typo(m.group(0)), text)


# "I don't want anyone to call me": a request pattern right after a negation is no request.
_NEGATED = re.compile(r"\b(don[’']?t|do not|doesn[’']?t|does not|never|no need to|not)\s+$", re.IGNORECASE)


def asks_for_person(text: str) -> str | None:
    """The phrase that asks for a person (as typed, then with English typos mapped back), else None."""
    for candidate in dict.fromkeys((text, normalise_typos(text))):
        for pattern in PATTERNS.values():
            for m in pattern.finditer(candidate):
                if not _NEGATED.search(candidate, max(0, m.start() - 12), m.start()):
                    return m.group(0).strip()
    return None
