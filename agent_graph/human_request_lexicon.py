"""The per-language patterns of :mod:`agent_graph.human_request`, matched on folded text.

Each tuple is a list of alternatives joined into one regular expression per language. They are kept
apart from the matching so that the vocabulary (person nouns, "someone" words, verbs of reaching, being
put through and calling back) can be read and extended on its own; text arrives lower-cased, without
accents, with typos in key words mapped back, and (German only) "oe" written as "o".
"""

from __future__ import annotations

# --- English -----------------------------------------------------------------------------------------
_ART = r"(a|an|some|the|your|ur|one of your|any|someone from your|somebody from your|a member of your|un|une|una)"
_ADJ = r"(real|actual|live|human|proper|flesh[- ]and[- ]blood|competent|senior|customer service|support|tech(nical)?|" \
       r"customer support|customer care|service|tech(nical)? support|billing|sales|account|fraud|security|claims|returns|legal|" \
       r"complaints?|escalations?|f\w*ing|damn|goddamn|bloody|concerned|relevant|right|appropriate|responsible|correct|" \
       r"dedicated|assigned|designated|qualified|knowledgeable|available|implementation|onboarding|product|" \
       r"customer relations|relations|customer success|accounts)"
_PERSON = (r"(human( being)?s?|persons?|people|agents?|reps?|representatives?|operators?|managers?|supervisors?|"
           r"staff|employees?|associates?|advisors?|advisers?|assistants?|specialists?|consultants?|team members?|"
           r"colleagues?|technicians?|experts?|leads?|seniors?|executives?|departments?|directors?|coordinators?|engineers?|officers?|member of (your |the )?(staff|team)|support team|service team|team|"
           r"customer (service|support|care)|helpdesk|help desk|boss(es)?|superiors?|higher[- ]ups?|folks|guys|bloke|lass|"
           r"(person|one|someone|whoever)( (who'?s|who is|that'?s))? (in charge|responsible)|"
           r"conseill(er|ere)|asesor(a)?|mitarbeiter(in)?|berater(in)?|persona|personne|humano|humain|agente)")
_NOT_A_PERSON = r"(?!\s*(seats?|licen[cs]es?|accounts?|roles?|ids?|numbers?|strings?|app|apps|software|version|" \
                r"install\w*|settings?|permissions?|view|dashboard|console|resources|error|office|detection|feature|" \
                r"mode|analytics|reports?|status|queue|vs|versus|count|field|list|page|panel|metrics?|address(es)?|inbox|folder)\b)"
_SOMEONE = r"((some|any)(one|body)|whoever|alguien|quelqu'?\s?un|jemand(en)?)"
_ASK = r"(want|need|would like|ask(ing)? for|[’']d like|wanna|like|prefer|rather|demand|request|get me|give me|find me|" \
       r"bring me|send me|assign me|let me have|can i (get|have)|could i (get|have)|may i (have|get))"
_REACH = r"(talk(ing|s)?|speak(ing|s)?|chat(ting|s)?|contact(ing|s)?|reach(ing|es)?|call(ing|s)?|" \
         r"phon(e|ing)|ring|email(ing)?|message|get in touch|get through|get hold of|deal(ing)? with)"
_PUT = r"(connect|transfer|put|pass|forward|route|redirect|switch|hand|hook|patch|escalate|send|chuck|bung|pop|" \
       r"stick)(ing|ed|s)?"

ENGLISH = (
    rf"\b{_REACH}\s+((directly|personally|right now|now|again|in person|urgently|just)\s+)?((to|with|w[ie]?[rt]?h|"
    rf"through to)\s+)?{_ART}\s+({_ADJ}\s+)*{_PERSON}\b{_NOT_A_PERSON}",
    rf"\b{_REACH}\s+((to|with|w[ie]?[rt]?h)\s+)?{_SOMEONE}\b(?!\s+else)",
    rf"\b(talk(ing)?|speak(ing)?|chat(ting)?|deal(ing)?)\s+((live|directly|personally)\s+)?(to|with|w[ie]?[rt]?h)\s+"
    rf"({_ADJ}\s+)*(human|person|agent|"
    rf"rep|representative|operator|assistant|someone|somebody|staff|manager|supervisor|people|customer service|"
    rf"customer support|customer care|tech support|support team|support staff|whoever)s?\b{_NOT_A_PERSON}",
    rf"\b({_SOMEONE}|(human|person|people|bloke|lass|guy|gal|folks|agent|rep|staff)s?)\s+((here|there|else)\s+)?"
    r"(i|we)\s+(can|could|may)\s+(talk|speak|chat|call|reach|contact|write|holler|have a word|ask|turn|explain)\b",
    rf"\b(get|find|send|have)\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\s+to\s+(help|call|contact|look|check|"
    r"review|fix|sort|handle|assist)\b",
    rf"\b(talk|speak|chat|go)\w*\s+(\w+\s+){{1,3}}(with|to)\s+(one of your|your|a|an)\s+({_ADJ}\s+)*{_PERSON}\b"
    rf"{_NOT_A_PERSON}",
    rf"\b({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b[^.!?\n]{{0,40}}\b(call|phone|ring|contact|email|text|"
    rf"get back to|reach out to|get in touch with|be in touch with|follow up with)\s+(me|us)\b",
    r"\b(give|gimme|drop)\s+(me|us)\s+a\s+(quick\s+)?(ring|call|buzz|bell|tinkle|phone call|callback|call back)\b",
    rf"\b(have|want|need|like)\s+a\s+(quick\s+|short\s+)?word\s+with\s+(them|him|her|{_SOMEONE}|{_ART}\s+({_ADJ}\s+)*"
    rf"{_PERSON})\b",
    # a meeting, a call or a few minutes with someone: "can I book an appointment with one of your advisors?"
    rf"\b(want|need|like|book|schedule|arrange|set up|request|give me|ask for|appreciate|can (i|we) (get|have|book))\s+"
    r"(\w+\s+){0,2}?((a|an|the|few|five|ten|\d+|quick|short|brief)\s+)*(minutes?|moment|chat|conversation|call|"
    rf"phone call|meeting|appointment|session|consultation|video ?call|zoom( call)?)\s+with\s+({_SOMEONE}|{_ART}\s+"
    rf"({_ADJ}\s+)*{_PERSON})\b{_NOT_A_PERSON}",
    # the same person again, or one named with a title: "can I get Priya again?", "speak to Mr Patel"
    r"\b(can|could|may)\s+(i|we)\s+(get|have|speak to|talk to|speak with|talk with)\s+(?!(it|this|that|them|these|"
    r"those|one|some|any|help|access|more|my|the|a|an|your|back|in|on|out|up)\b)\w+\s+again\b|\b(talk|speak|chat|get|have|"
    r"back|like|want|need|prefer|request)\s+(to|with)?\s*(the\s+)?same\s+(\w+\s+)?(person|agent|rep|representative|advisor|guy|lady|one)\b|"
    r"\b(talk|speak|chat|through)\s+(to|with)\s+(mr|mrs|ms|miss|dr)\.?\s+\w+",
    rf"\b(can|could|will|would)\s+{_SOMEONE}\s+(from\s+(your|the)\s+\w+(\s+team)?\s+)?(please\s+)?(help|assist|call|"
    r"contact|take a look|reach out|get in touch|get back to me|email me|message me|text me|write to me|whatsapp me|"
    r"dm me|look into)\b",
    rf"\b(complaint|grievance)\s+(with|to)\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b|\bcomplain\s+to\s+{_ART}\s+"
    rf"({_ADJ}\s+)*{_PERSON}\b",
    rf"\b{_ASK}\s+{_SOMEONE}\s+((competent|qualified|real|human|actual|knowledgeable|senior)\s+)?"
    r"(to|who|that|from|in|on|else|senior|with|is|'s)\b",
    rf"\b{_SOMEONE}\s+((on|at|from|in)\s+(your|the)\s+(end|side|team|office)\s+)?(who|that)\s+(actually\s+|really\s+)?"
    r"(knows|understands|can (help|explain|fix|sort))\b|\b(office|store|branch|location)\b[^.!?\n]{0,30}\b(i|we)\s+"
    r"(can|could)\s+(walk|come|go|drop|stop|pop)\s+(in|into|by|to)\b|\b(continue|carry on)\s+(with|talking to)\s+"
    r"(\w+\s+from\s+your|the same)\b",
    rf"\b(help|assistance|support|an answer|answers)\s+from\s+(a|an|some|your|one of your)\s+({_ADJ}\s+)*{_PERSON}\b"
    rf"{_NOT_A_PERSON}",
    rf"(?<!was )(?<!were )(?<!been )\b(looked at|seen|handled|reviewed|checked|contacted|called|answered|helped|"
    rf"assisted|dealt with|served)\s+by\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE})\b{_NOT_A_PERSON}",
    r"\bescalate\s*,?\s*(please|pls|plz|asap|now)\b|^\W*escalate\W*$",
    r"\b((any|some)\s*(one|body)|(any|some)\s+(humans?|people|persons?|staff|folks|agents?|reps?|guys)|any(?=\s+of))"
    r"(\s+(of|from|in|at|on)\s+((your|the|ur)\s+)?(\w+\s+)?(folks|people|staff|team|agents?|reps?|support|"
    r"customer service|service|crew|guys|employees|end|side))?\s+(real\s+|actually\s+|even\s+)?(around|there|here|"
    r"available|alive|online|awake|out there|reading|left|on (duty|shift|the line|the phone|call)|at (your|the) desk|"
    r"in the office|working\s+(on\s+(a\s+)?(sun|satur)days?|on\s+(the\s+)?weekends?|today|tonight|now|right now))\b",
    r"\b(human|person|people|someone|somebody|anyone|anybody)\s+(actually\s+)?(reading|seeing|checking|looking at)\s+(this|these|"
    r"my|the)\b|\b(does|do|will)\s+(a|an|any|some)\s+(real\s+|actual\s+)?(human|person|people|agent)\s+((ever|actually|even|"
    r"really)\s+)?(read|see|check|look at)\s+(this|these|my|the)\b",
    rf"\b(put|get|bring)\s+(me\s+)?({_SOMEONE}|(a|an|some|your)\s+(real\s+|live\s+|actual\s+)?(human|person|agent|rep|"
    r"manager|supervisor|staff member|technician))\s+(from\s+\w+(\s+\w+)?\s+)?(on|in|onto)\b",
    rf"\b(be|get|being|getting)\s+(transferred|connected|put through|passed|forwarded|escalated|routed|redirected|"
    rf"handed over|switched)\s+(on\s+)?(to|with)\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE})\b{_NOT_A_PERSON}",
    r"\b((customer service|customer support|support|service|help|contact)\s+(phone\s+)?(number|hotline|line)\s+"
    r"(i|we)\s+can\s+(call|ring|phone|reach|dial)|(number|hotline)\s+(i|we)\s+can\s+(call|ring|phone|reach) (for|to)|"
    r"(phone|telephone)\s+number\s+(for|of)\s+(support|customer service|your (support|team|staff|agents))|"
    r"number\s+(to|i can|we can)\s+(call|ring|reach|contact|dial)\s+(support|customer service|you|your|someone|"
    r"a person|an agent)|(support|customer service)\s+(hotline|phone number)|(number|line|hotline)\s+(i|we)\s+(can|could|should)\s+"
    r"(call|ring|phone|dial|text)|(what|which)\s+(phone\s+)?number\s+(can|do|should|could)\s+(i|we)\s+(call|ring|"
    r"dial|phone|use)|(your|a)\s+direct\s+(line|number|phone)|(what'?s|what is|give me)\s+your\s+(phone|telephone)\s+"
    r"number)\b",
    r"(?<!what )\b(can|could|may)\s+(i|we)\s+(just\s+)?(call|phone|ring)\s+(you|your (office|team|support))\b"
    r"(?=\s*([?.!,]|$|instead|directly|now|today|tomorrow|back|at|on the phone|by phone|to (talk|discuss|sort)))|"
    r"\b(come|stop|drop|pop|walk|swing)\s+((in|by|over|into|down)\s+)?(to\s+)?(your|the)\s+(office|offices|store|"
    r"branch|location|hq|headquarters)\b|\b(come|stop by|drop by|visit|meet|talk|speak|see you)\b[^.!?\n]{0,20}"
    r"\bin person\b|\bsend\s+(me\s+)?(a|an|some|one of your)?\s*(technician|engineer|someone|somebody)\s+(out|over|"
    r"round|to (my|our|the) (house|home|place|office|site))\b|\b(do|does|can) (you|your \w+) (have|offer) (phone|"
    r"telephone|live|in-person) (support|help|service)\b",
    rf"\blet\s+(a|an|some|your|one of your)\s+({_ADJ}\s+)*(human|person|agent|staff|someone|somebody|rep|"
    r"representative|manager|supervisor|people)\b",
    rf"\b(want|need|like|appreciate|request|expect|arrange|have|prefer)\s+(a\s+)?(call|phone call|ring|callback|"
    rf"call back|email)\s+from\s+({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE})\b",
    rf"\b{_ASK}\s+((to\s+)?(talk|speak|chat)\s+(to|with)\s+)?{_ART}\s+({_ADJ}\s+)*(human|person|agent|rep|"
    rf"representative|operator|manager|supervisor|staff member|employee|real people)\b{_NOT_A_PERSON}",
    r"\bget\s+(me\s+)?(a|an|some)\s+(real\s+|live\s+)?(human|person|agent|rep|someone)\b",
    rf"\b(get|find|give|send)\s+me\s+{_SOMEONE}\b",
    rf"\b{_ASK}\s+(a\s+)?(human|person|real person|people|agent|representative|operator)\b{_NOT_A_PERSON}",
    # mixed with Spanish or French: "I need un representante que hable español"
    rf"\b{_ASK}\s+(un|una|une)\s+(\w+\s+)?(representante|asesora?|agente|operadora?|persona|humano|ejecutiv[oa]|"
    r"conseill(er|ere)|humain|personne|interlocut(eur|rice)|operat(eur|rice))\b",
    rf"\b{_PUT}\s+(me|us|this|it|that|(this|my) (case|ticket|issue|problem|request|call|chat|conversation))\s+((on|up|over|"
    rf"through|across|in touch)\s+)?(to|with|through to|on to|onto)\s+({_ART}\s+|another\s+|a different\s+|"
    rf"my\s+)?({_ADJ}\s+)*(account\s+)?({_PERSON}|{_SOMEONE}|support|tech support|billing|sales|(the\s+)?(right|"
    rf"responsible)\s+(person|people|team))\b{_NOT_A_PERSON}",
    rf"\bescalat(e|ed|ing)\b[^.!?\n]{{0,30}}\b(to|with)\s+({_ART}\s+)?({_ADJ}\s+)*{_PERSON}\b{_NOT_A_PERSON}",
    r"\bescalate\s+(this|it|my (case|ticket|issue|problem))\b",
    # help from a person, or the phone: "I need some personal assistance", "I'd prefer to sort this out over the phone"
    r"\b(need|want|like|prefer|request|appreciate|get|have)\s+(some\s+)?(personal|personalized|personalised|one-on-one|"
    r"one-to-one|human|in-person)\s+(assistance|help|support|attention)\b|\b(prefer|rather|like|want|happy|easier)\s+"
    r"(to\s+)?(\w+\s+){0,4}?(over|by|on)\s+the\s+phone\b|\b(hop|jump|get)\s+on\s+(a|the)\s+(quick\s+|short\s+)?"
    r"(call|zoom|phone|video ?call|teams call)\s+(w|with|wi?th)\s+(me|us)\b",
    rf"(?<!am a )(?<!'m a )(?<!’m a )\b(real|actual|live|flesh[- ]and[- ]blood)\s+(human|person|agent|people|rep|"
    rf"representative|operator|someone|somebody)s?\b{_NOT_A_PERSON}",
    r"\bhuman\s+(support|please|pls|plz|help|assistance|response|reply)\b",
    r"\b(a|an|any|some|your)\s+(human|person|real person|agent|representative|operator|staff member|employee|"
    r"member of (your |the )?(staff|team))\s+(please\s+)?(to\s+)?(review|look at|look into|check|handle|help|call|"
    r"phone|ring|contact|get back|reach out|take over|take a look)\b",
    rf"\b(is|are)(n'?t)?\s+(there\s+)?{_SOMEONE}\s+(else(?!'s|\s+(having|seeing|getting|experiencing|facing|noticing))|there|here|real|human|alive|(who|that)\s+(can|could|will|is able))\b",
    r"\b(is|are)\s+(there\s+)?(a|any)\s+(real\s+|live\s+|actual\s+)?(human|person|people|agent|staff)\s+"
    r"(there|here|available|who|that|i can)\b",
    r"\bwho\s+(can|could|do|should|shall)\s+i\s+((actually|really|even|possibly|then|now)\s+)?(call|phone|ring|talk to|speak (to|with)|contact|reach|write to|"
    r"email|ask)\b",
    r"\b(call|ring|phone)\s+me\s+(back|up|please|asap|as soon as|today|tomorrow|now|on|at)\b",
    r"\b(request|schedule|book|arrange|want|need|get|like|give me|have|receive|appreciate|welcome|expect|prefer|love)\s+"
    r"(a\s+|an\s+)?(urgent\s+|quick\s+)?"
    r"(call[- ]?back|phone call|call from)\b",
    # ... me, or the one I help: "could one of your agents call her directly?"
    # ("can you call my mom" asks a phone assistant to dial)
    rf"(?<!what )\b(can|could|would|will|please)\s+((you|{_SOMEONE}|an? \w+)\s+(please\s+)?(call|phone|ring)\s+me|"
    rf"({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\s+(please\s+)?(call|phone|ring)\s+(me|her|him|my (mum|mom|mother|"
    r"dad|father|wife|husband|partner|parents|grandmother|grandma|grandfather|grandpa|gran|nan|son|daughter)))\b"
    r"(?=\s*(back|up|later|today|tomorrow|tonight|now|asap|soon|please|pls|at|on|about|regarding|when|as soon|directly|"
    r"urgently|right away|again|before|after|in|this|to|if|so|and|[?.!,]|$))",
    rf"\bhave\s+({_SOMEONE}|{_ART}\s+(\w+\s+)?({_ADJ}\s+)*{_PERSON})\s+(call|contact|phone|ring|email|reach out to|"
    r"get back to)\s+(me|us)\b",
    r"\b(agent|human|representative|operator|person|someone|somebody|manager|supervisor|advisor|adviser|specialist|"
    r"technician)\s*,?\s*(please|pls|plz|asap|now\W*$)|^\W*(some|any)(one|body)(\W+(some|any)(one|body))+\W*$",
    # a polite imperative without "me": "Sir please transfer to senior", "Pls connect with customer care person"
    rf"\b(please|pls|plz|kindly)\s+{_PUT}\s+((me|us)\s+)?((on|over|through|across)\s+)?(to|with|through to)\s+"
    rf"({_ART}\s+)?({_ADJ}\s+)*({_PERSON}|{_SOMEONE})\b{_NOT_A_PERSON}",
    # nobody there, or will anybody ever answer: "Is there nobody who can actually help me?", "is a human going
    # to reply to me or not??"
    r"\b(is|are)\s+there\s+(really\s+|seriously\s+|honestly\s+)?(no ?one|nobody|no (human|person|people|agent|staff))\s+"
    r"((here|there|at all|around|available|in charge|responsible|senior|(at|in|from|on)\s+(your|the|this)\s+(company|end|"
    r"side|team|office|place))\s+)?(who|that|to|(i|we)\s+(can|could))\s+((can|could|will|is able to)\s+)?((actually|"
    r"really|even|possibly|properly)\s+)?(help|assist|answer|fix|sort|understand|talk|speak|read|deal|look at|look into|check|review|handle)\b|\b(is|are)\s+"
    r"(there\s+)?((really|seriously|honestly|actually)\s+)?(no ?one|nobody)\s+(there|here|available|around|awake|"
    r"working\s+(there|here|today|now))\b",
    # ... still people at this company, anyone home: "Are there still humans at this company?", "Hello, anyone home?"
    r"\b(is|are)\s+there\s+((still|even|actually|really|any)\s+)*(real\s+)?(humans|people|persons|human beings)\s+"
    r"(at|in|working (at|in|for))\s+(this|your|the)\s+(company|place|business|firm|outfit|shop|end)\b|"
    r"\b(any|some)(one|body)\s+home\s*[?!]",
    r"\b(is|are|will|would)\s+(there\s+)?((a|an|any|some)\s+(real\s+|actual\s+|live\s+)?(human|person|people|agent|rep|"
    r"staff member)|some(one|body)|any(one|body)|no ?one|nobody)\s+(ever\s+|actually\s+|even\s+|really\s+)?"
    r"((going to|gonna)\s+)?"
    r"(ever\s+|actually\s+)?(reply|respond|answer|read|look at|get back|help|call|contact)\s+((to|back to)\s+)?(me|us|"
    r"my|this)\b",
    # ... does anybody work there, a living soul on the other end, how often must I ask before a person answers
    r"\b(does|do)\s+(anyone|anybody|any (humans?|people|person)|no ?one|nobody)\s+((actually|really|even|still)\s+)?"
    r"work\s+(there|here|at (your|this) (company|place|end))\b|\b(a|any|one)\s+(single\s+)?(living|breathing)\s+"
    rf"(soul|human|person|being)\b|\b({_SOMEONE}|human|person|people|soul)\s+((\w+\s+)?(there|here)\s+)?(on|at)\s+"
    rf"the other end\b|\b(before|until|till)\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\s+((actually|finally|even|"
    r"ever)\s+)?(answers|replies|responds|helps|calls|gets back|picks up|reads|talks|looks)\b",
    # the conversation moved to another channel with a person: "Can we continue this on WhatsApp with one of your
    # people?", "is there a branch where I can sit down with a person?"
    r"\b(continue|carry on|move|take|pick up|switch|follow up)\s+((this|it|things|the (conversation|chat|matter|case))\s+)?"
    r"(on|over|via|by|through|onto|to|in)\s+(whatsapp|the phone|phone|email|e-mail|sms|text|a call|a phone call|"
    rf"video|zoom|teams|telephone|a video call)\s+with\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b{_NOT_A_PERSON}|"
    r"\b((i|we)\s+(can|could|may)|(want|like|need|love|prefer)\s+to|possible to|chance to)\s+(sit down|sit|meet|meet up|"
    rf"talk face to face|speak face to face)\s+with\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b{_NOT_A_PERSON}",
    # someone else, or a different advisor: "Can someone else take over? I need a different advisor."
    rf"\b(can|could|would|will)\s+({_SOMEONE}|another\s+(\w+\s+)?{_PERSON}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\s+"
    r"(else\s+)?(please\s+)?(take over|take this over|step in|pick this up|take my case|take on my case)\b(?!\s+(my|the|"
    r"this|our|your)\s+(account|subscription|contract|plan|membership|number|line|lease|ownership))|"
    rf"\b({_ASK}|speak (to|with)|talk (to|with))\s+(a|another)\s+(different|new|other)\s+(agent|advisor|adviser|rep|"
    r"representative|person|human|consultant|specialist|operator|colleague|manager|supervisor)\b(?!\s+(account|"
    r"seat|role|licen[cs]e|added|to be added|to my team))",
    # a specialist, or a call instead of typing: "I need a fibre specialist", "Can I get a call instead?", "Could we
    # switch to a phone call?", "I'd rather just call one of you"
    rf"\b{_ASK}\s+(a|an|some|your)\s+(\w+\s+)?(specialist|expert|technician|engineer)s?\b{_NOT_A_PERSON}|"
    r"\b(can|could|may)\s+(i|we)\s+(get|have|book|schedule|arrange)\s+a\s+(quick\s+|short\s+)?(phone\s+)?call\b(?!\s+"
    r"(log|history|recording|transcript|feature|forwarding|queue|center|centre|button|widget|api|routing|with (my|our))\b)|"
    r"\b((can|could|may|shall)\s+(we|i)|let'?s|please)\s+(just\s+)?(switch|move|go|change|take (this|it))\s+(over\s+)?"
    r"to\s+(a (phone |video )?call|the phone|phone)\b(?!\s*(plan|number|line|contract|tariff|bill|app))|"
    r"\b(call|phone|ring|talk to|speak to|speak with|chat with)\s+one of you\b(?!r)",
    # someone brought in, a call preferred: "Can you loop in a specialist?", "a call would be easier"
    rf"\b(loop|bring|pull|call)\s+in\s+({_SOMEONE}|{_ART}\s+({_ADJ}\s+)*{_PERSON})\b{_NOT_A_PERSON}|\bget\s+({_SOMEONE}|"
    rf"{_ART}\s+({_ADJ}\s+)*{_PERSON})\s+involved\b|\ba\s+(phone\s+|quick\s+)?call\s+(would be|is)\s+((much|so|a lot|far)\s+)?"
    r"(better|easier|simpler|quicker|faster|appreciated|ideal|great|nicer)\b",
    # ... or only bots: "Is anyone there, or is it all bots?", "Il y a quelqu'un, ou c'est que des robots ?"
    r"\b(or|ou|o|oder)\s+(is it|are (you|they|there)|it'?s|c'est|ce sont|son|es|sind (das|es)|ist das)\s+((only|just|all|"
    r"que|juste|seulement|todo|todos|puros|solo|nur|alles)\s+)+(des\s+)?(robots?|bots?|machines?|maquinas?|maschinen|"
    r"automat\w*)\b",
    # tired of typing, just call me: "just call me.", "so please ring me on my mobile" ("just call me Sam" is a name)
    r"(?<!what )(?<!how )\b(just|please|pls|plz|so|then)\s+(call|ring|phone)\s+me\b(?=\s*(back|later|today|tomorrow|"
    r"tonight|now|asap|soon|please|pls|at \d|on (my|\d|\+)|when|as soon|urgently|right away|instead|[?.!,]|$))",
)
# Refusing the bot, in every language; never dropped by the "no need" guard.
_BOT_EN = r"(bot|robot|machine|ai|chatbot|automated (replies|answers|responses)|virtual assistant)s?"
_BOT_DE = r"(bot|roboter|chatbot|maschine|ki|computer|automaten?|sprachassistent\w*|automatische\w* antwort\w*)"
_BOT_ES = r"(bot|robot|maquina|chatbot|ia|contestador(a)?|asistente (virtual|automatico)|sistema|" \
          r"respuestas automaticas)s?"
_BOT_FR = r"(robot|bot|machine|ia|chatbot|repondeur|ordinateur|automate|assistant virtuel|reponses automatiques)s?"
NO_BOT = (
    # must I go on with the machine: "Soll ich etwa ewig mit einer Maschine reden?", "Do I have to keep talking to a bot?"
    rf"\b(do|must|should)\s+i\s+(have to\s+|really\s+)?(keep|go on|continue)\s+(talking|chatting|speaking|typing)\s+(to|with)"
    rf"\s+(a|an|the|this)\s+{_BOT_EN}\b|\b(soll|muss)\s+ich\s+((etwa|wirklich|noch|jetzt|denn|ewig|immer|weiter|"
    rf"langer|den ganzen tag)\s+)+mit\s+(einer|einem|dem|der|diesem|dieser)\s+{_BOT_DE}\s+(\w+\s+)?(reden|sprechen|"
    rf"chatten|schreiben)\b|\b(tengo|debo)\s+que\s+seguir\s+(hablando|chateando|escribiendo)\s+con\s+(un|una|el|la|"
    rf"este|esta)\s+{_BOT_ES}\b|\b(dois|faut)[- ](je|il)\s+((vraiment|encore|toujours|continuer a)\s+)+(parler|discuter|"
    rf"ecrire)\s+(a|avec)\s+(un|une|ce|cette|le|la)\s+{_BOT_FR}\b",
    r"\b(no more|(?<!am )(?<!i'm )not|stop|don'?t (want|wanna)|do not want|sick of|tired of|fed up with|hate|"
    r"done with|enough of|enough with)\s+((to\s+)?(talk|chat|speak|deal)(ing)?\s+(to|with)\s+)?(a |an |the |this |"
    rf"your |some )?((stupid|dumb|useless) )?{_BOT_EN}\b(?!\W?(integration|learning|translation|api|token|setting|"
    r"user|account|app|configuration|from|to reply|in))",
    r"\b(from|by)\s+(a|an)\s+(real\s+|live\s+|actual\s+)?(agent|human|person)\s*,?\s*not\s+(a|an)\s+(ai|bot|machine)\b",
    rf"\b(will|mo(e)?chte|wollte|brauche|mag)\s+(\w+\s+){{0,3}}?(kein\w*|nicht)\s+(\w+\s+){{0,3}}?{_BOT_DE}\b(?![-\w])",
    rf"\b(keine lust|kein bock|satt|genug)\b[^.!?\n]{{0,30}}?\b{_BOT_DE}\b|\bkein(e|en)?\s+{_BOT_DE}\s*[,!]?\s*"
    r"(bitte|mehr)\b|\bno\s+(more\s+)?(bot|robot|machine|ai|chatbot)s?\s*,?\s*(please|pls|plz)\b",
    rf"\bno\s+(quiero|deseo|me sirve|me interesa|voy a)\s+(seguir\s+)?((hablar|chatear|conversar|hablando|chateando|"
    rf"escribir|escribiendo)\s+)?((con|a)\s+)?((un|una|el|la|este|esta|otro|otra|mas)\s+)?{_BOT_ES}\b",
    rf"\b(hart[oa]s?|cansad[oa]s?|basta)\s+(de|del|con)\s+(\w+\s+){{0,3}}?{_BOT_ES}\b|\b(paren|para|quiten|quita|"
    rf"apaguen|apaga|desactiven|saquen|saca)\s+(el|este|al|ese|su)\s+{_BOT_ES}\b",
    r"\bno\s+(de\s+|con\s+)?(un|una|el|la)\s+(bot|robot|maquina|sistema automatico|contestador|chatbot)\b",
    rf"(?<!suis )(?<!es )(?<!est )\b(pas|plus|jamais)\s+(de\s+|d'|a\s+|avec\s+)?((un|une|le|la|ce|cette|des)\s+)?"
    rf"{_BOT_FR}\b(?=\s*([,.!?]|$|s'il|svp|merci|je |mais))|\b(arretez|arrete|stoppez|coupez|desactivez|enlevez|virez)\s+"
    rf"(le|ce|votre|ton|les|vos)\s+{_BOT_FR}\b",
    rf"\b(veux|souhaite|voudrais)\s+(pas|plus)\s+(parler|discuter|echanger|chatter|continuer)\s+(a|avec)\s+"
    rf"((un|une|le|la|ce|cette|votre)\s+)?{_BOT_FR}\b",
    rf"\b(marre|assez|fatiguee?|tannee?|ras[- ]le[- ]bol)\b[^.!?\n]{{0,30}}?\b{_BOT_FR}\b",
)

# Messages (or their last sentence) that are nothing but a person: "operator", "Bot ist nutzlos. Mitarbeiter!"
ALONE = (
    r"(^|[.!?]\s+)\W*(please\s+|bitte\s+|por favor\s+|svp\s+)?(with |con |avec |mit )?(a |an |einen? |eine |einem |"
    r"einer |un |una |une |el |la |le )?"
    r"(real |live |human |echte[nr]? |vraie? )?((operator|agent|human)(\W+(operator|agent|human))*|representative|rep|"
    r"person|customer service|"
    r"support agent|supervisor|manager|someone|anyone|anybody|somebody|people|mensch(en)?|mitarbeiter(in)?|"
    r"(kunden)?berater(in)?|kundendienst|kundenservice|ansprechpartner(in)?|sachbearbeiter(in)?|persona|humano|"
    r"agente( humano)?|advisor|adviser|specialist|"
    r"asesor(a)?|operador(a)?|representante|ejecutivo|humain|conseill(er|ere)|operat(eur|rice)|personne|"
    r"quelqu'?\s?un|service client|hotline|support)(\s+(please|pls|plz|bitte|por favor|porfa|s'il vous plait|"
    r"s'il te plait|svp|stp|now|jetzt|sofort|ya|ahora|maintenant))?\W*$",
)

# --- German (matched on folded text: "zurück" -> "zuruck", "möchte"/"moechte" -> "mochte") ------------
_DE_PERSON = (r"(mensch(en)?|(kunden|service|support|fach|telefon)?(mitarbeiter|berater|betreuer)(in|innen|n)?|(\w+-)?team|"
              r"kundendienst|kundenservice|kundensupport|kundenbetreuung|kundencenter|support(-?team)?|hotline|"
              r"callcenter|service(-?team|center)?|ansprechpartner(in|innen)?|ansprechperson|sachbearbeiter(in)?|"
              r"person|agent(en|in)?|kolleg(e|en|in)|vorgesetzt(e|en|er|em)|chef(in)?|teamleit(er|erin|ung)|"
              r"techniker(in)?|operator|telefonist(in|en)?|zustandig(e|en|er|em)|\w*abteilung|technik|leute(n)?|"
              r"fuhrungskraft|geschafts(fuhrung|leitung|fuhrer(in)?)|dame|(abteilungs|filial|bereichs)?leit(er|erin|ung)|"
              r"(herrn?|frau|fr\.|hr\.)\s+(dr\.?\s+)?(?!und\b)[a-z]\w+|"
              r"verantwortlich(e|en|er|em)|buchhaltung|vertrieb|beschwerdestelle|spezialist(en|in)?|expert(e|en|in)|"
              r"fachmann|fachleute(n)?|(irgend)?jemand(en|em)?)")
# "mit meinem Chef sprechen" is the writer's own boss: no request.
_DE_DET = (r"((?!(mein|unser)\w* (chef|vorgesetzt|kolleg|team|mitarbeiter|buchhaltung|abteilung|frau|leute))(einem|einer|einen|"
           r"eine|ein|nem|ner|nen|ne|dem|der|den|die|das|ihrem|ihrer|ihren|ihre|eurem|eurer|euren|eure|deinem|"
           r"deiner|meinem|meiner|meinen)\s+)")
_DE_ADJ = r"((?!unser|mein|dein)\w+(e|en|er|em|es)\s+){0,2}"
_DE_NP = rf"{_DE_DET}?{_DE_ADJ}{_DE_PERSON}\b(?![-\w])"
_DE_REACH = (r"(sprechen|spreche|reden|rede|telefonieren|chatten|schreiben|kontaktieren|kontaktiere|erreichen|"
             r"erreiche|erreichbar|anrufen|zuruckrufen|besprechen|unterhalten|verbinden|verbinde|verbindet|"
             r"durchstellen|weiterleiten|weiterverbinden|ubergeben|wenden|beschweren|kontakt aufnehmen|"
             r"in kontakt (treten|kommen)|(verbunden|durchgestellt|weitergeleitet|weiterverbunden) (zu )?werden|"
             r"weiterreden|weitersprechen|weiterchatten|weitermachen|weiterfuhren|fortfahren|fortsetzen|telefoniere|zusammensetzen|"
             r"nochmal (sprechen|reden)|klaren|eskalieren|durchgehen|abstimmen|"
             r"(am|per|ans) telefon|telefonisch)")
_DE_ADMIN = (r"(anlegen|hinzufugen|hinzu|einladen|erstellen|loschen|entfernen|sperren|zuweisen|zuordnen|einrichten|"
             r"freischalten|registrieren|eintragen|andern|bearbeiten|zugang|konto|lizenz|account|rechte|berechtigung|"
             r"export|sehen|anzeigen|verwalten)")
_DE_FILL = r"((bitte|sofort|jetzt|dringend|endlich|gerne?|mal|nur|lieber|direkt|einfach|doch|schon|wirklich|auch|umgehend|schnell)\s+)*"
GERMAN = (
    rf"\b(mit|zu|an|bei)\s+{_DE_NP}[^.!?\n]{{0,60}}?\b{_DE_REACH}\b",
    rf"\b{_DE_REACH}\b[^.!?\n]{{0,40}}?\b(mit|zu|an|bei)\s+{_DE_NP}",
    r"\b(mochte|will|wurde gerne?|hatte gerne?|kann ich)\s+((gerne?|direkt|bitte|mal|personlich|lieber)\s+)*mit\s+(ihm|"
    r"ihr|ihnen|jemandem)\s+(\w+\s+)?(sprechen|reden|telefonieren)\b",
    rf"(\b(einen|eine|ein|nen|ne|ihren|ihre|euren|eure|den|die|meinen)\s+|^\W*){_DE_ADJ}{_DE_PERSON}\b(?![-\w])\s+"
    r"(\w+\s+){0,3}(zu\s+)?(sprechen|erreichen|kontaktieren|anrufen|(am|ans) telefon|an den apparat)\b",
    r"\b(irgend)?jemand(en|em)?\b[^.!?\n]{0,40}?\b(sprechen|reden|telefonieren|anrufen|zuruckrufen|erreichen|"
    r"kontaktieren|verbinden|meld(en|et|ete)|ansehen|anschauen|helfen|schreiben|(am|ans) telefon)\b",
    r"\b(erreiche|erreichen|sprechen|reden|kontaktieren|anrufen|brauche?|brauchte|brauchen|benotige|benotigen|suche|"
    r"will|mochte|hatte gerne?|wurde gerne?|"
    r"gib mir|geben sie mir)\b((?!\bnicht\b)[^.!?\n]){0,25}?\b(irgend)?jemand(en|em)?\b(?!\s+(anders|andere))|"
    r"\bbitte\s+((mal|einen|nur|schnell)\s+)*(irgend)?jemand(en)?\s+(vom|von|aus|der|mit|am|zum|ans)\b|"
    r"\bmit wem\b[^.!?\n]{0,30}\b(reden|sprechen|telefonieren|chatten|quatschen)\b",
    rf"\b(mochte|will|wollen|wurde gerne?|hatte gerne?|brauche?|benotige|wunsche|verlange|fordere|suche|gib mir|"
    rf"geben sie mir|gebt mir|holen sie( mir)?|holt mir|hole? mir|schick mir|schickt mir|"
    # dialect "an" is "einen" ("i brauch an Menschen"), but not before a noun English shares ("Will an agent reply?")
    rf"schicken sie mir)\s+{_DE_FILL}((einen|eine|ein|nen|ne|an(?!\s+(agent|operator|person|team|support|service|"
    rf"expert)\b)|ihren|ihre|euren|eure|deinen|deine|den|denselben|dieselbe|meinen|mit einem|mit einer|mit dem|"
    rf"mit der)\s+{_DE_ADJ}{_DE_PERSON}|(irgend)?jemand(en)?|menschen)\b(?![-\w])(?![^.!?\n]{{0,30}}\b{_DE_ADMIN})",
    r"\b(ruckruf|zuruckrufen|zuruckzurufen|zuruckgerufen werden)\b(?![-\w])",
    rf"\bbeschwerde\w*\b[^.!?\n]{{0,30}}\b(bei|an)\s+{_DE_NP}|\b(nummer|telefonnummer|rufnummer|hotline|durchwahl)\s*,?\s*"
    r"(wo|unter der|die|bei der)\s+(ich|man|wir)\s+(\w+\s+)?(anrufen|jemanden erreichen|durchrufen)\b",
    r"\b(rufen|ruf|ruft)\s+(sie\s+|du\s+|ihr\s+)?mich\s+((?!nicht\b)\w+\s+){0,4}(an|zuruck)\b|\b(kontaktieren sie|"
    r"kontaktiert|kontaktier)\s+mich\b|\b(melden sie sich|meldet euch|melde dich|(meldet|melden|melde) sich)\b"
    r"[^.!?\n]{0,40}\bbei (mir|uns)\b|\bsich\b[^.!?\n]{0,40}?\bbei (mir|uns)\s+(\w+\s+)?(meldet|melden|melde)\b",
    rf"\b(mochte|will|hatte gerne?|wunsche|brauche|brauchte|bitte um|vereinbaren|buchen|ansetzen|kann ich|konnte ich|"
    rf"konnen wir|konnten wir|lasst sich|lasst uns)\b[^.!?\n]{{0,30}}\b(video|online|zoom|teams)?(termin|telefonat|"
    rf"gesprach|ruckruf|call|videocall|meeting|beratungsgesprach|beratungstermin|telefontermin|video-?call)\b[^.!?\n]{{0,20}}?\bmit\s+{_DE_NP}",
    r"\b(kann|konnte|konnen|konnten|konnt|kannst|konntest|wurde|wurden|soll|sollte|mochte|bitte|darf)\s+"
    r"((du|sie|ihr)\s+)?mich\b[^.!?\n]{0,40}?\b(an|zuruck)rufen\b|\b(mochte|will|wurde gerne?)\s+(\w+\s+){0,3}"
    r"angerufen werden\b",
    r"\b(mochte|will|wurde|kann ich)\s+((sie|euch|bei ihnen|bei euch|gerne?|mal|direkt|lieber|telefonisch|dort|da|dann|"
    r"jetzt|sofort|bitte|heute|morgen|einfach|selbst)\s+){0,3}"
    r"(anrufen|telefonieren)\b",
    r"\b(echte|richtige|lebende|reale|menschliche)[nrms]?\s+(mensch(en)?|person(en)?|mitarbeiter(in)?|berater(in)?|leute(n)?|"
    r"ansprechpartner(in)?|kolleg(e|en|in)|hilfe|unterstutzung|support|beratung|stimme)\b|\baus fleisch und blut\b",
    r"\b(personlich|telefonisch)\w*\s+(helfen|weiterhelfen|hilfe|beraten|beratung|gesprach|ansprechpartner(in)?|"
    r"kontakt|sprechen|telefonat|betreuung|besprechen)\b",
    r"\b(mensch|mitarbeiter(in)?|(kunden)?berater(in)?|ansprechpartner(in)?|kundendienst|kundenservice|hotline|"
    r"sachbearbeiter(in)?|spezialist(in)?|techniker(in)?|teamleiter(in)?|kolleg(e|in)|"
    r"support|vorgesetzte[nr]?|chef|agent)\s*[,!]?\s*(bitte|sofort|jetzt)\b",
    rf"\b(ist|sind)\s+((gerade|jetzt|da|hier|heute|noch|auch|schon|denn|bei (ihnen|euch))\s+)*((ein|eine|einer|der|die)\s+{_DE_ADJ}"
    rf"{_DE_PERSON}|(irgend)?jemand(\s+(vom|von|aus)\s+(der\s+|dem\s+)?\w+)?)\s+((gerade|jetzt|noch|heute|im live-chat|"
    rf"im chat|am telefon)\s+)*"
    r"(verfugbar|erreichbar|da|hier|frei|online|"
    r"zu sprechen)\b",
    r"\b(kundendienst|kundenservice|support|hotline|service|berater\w*|ansprechpartner\w*)\s+((?!nicht\b)\w+\s+)"
    r"{0,2}(erreichbar|zu erreichen)\b",
    r"\bgibt(\s+e|')?s\s+((hier|da|bei ihnen|bei euch|auch|uberhaupt|noch|denn|vielleicht|irgendwo|(in|bei)\s+"
    r"(dieser|diesem|der|dem|eurer|ihrer|eurem|ihrem)\s+\w+)\s+)*"
    r"((irgend)?jemand(en)?|((einen|eine|ein)\s+)?(echte\w*\s+|menschliche\w*\s+)?menschen|"
    r"(einen|eine|ein)\s+(echte\w*\s+|menschliche\w*\s+)?(mitarbeiter(in)?|berater(in)?|ansprechpartner(in)?|"
    r"person|kontakt))\b(?![-\w])",
    rf"\b(gibt es|habt ihr|haben sie)\b[^.!?\n]{{0,30}}?\b(einen|eine|keinen|keine)\s+{_DE_ADJ}{_DE_PERSON}\s*,?\s*"
    r"(der|die|den|mit dem|mit der|bei dem|an den)\b",
    rf"\b{_DE_PERSON}\b[^.!?\n]{{0,30}}?,?\s*(mit dem|mit der|mit denen|den|die)\s+ich\s+(\w+\s+){{0,3}}{_DE_REACH}\b",
    r"\b(ist|sind)\s+(da|hier|dort)\s+((irgend)?jemand|ein mensch|menschen)\b|\bjemand\s+(da|hier)\s*\?",
    r"\b(kann|konnte|darf|durfte)\s+ich\s+[^.!?\n]{0,40}?\bvorbei ?(kommen|schauen)\b|\b(zeit|minuten|"
    r"moment|augenblick)\s+fur\s+(ein|einen|eine)\s+(\w+\s+)?(telefonat|gesprach|anruf|call|telefongesprach)\b|"
    r"\b(den|die|ihn|diese[nr]?)\s+(will|mochte|muss|wurde)\s+ich\s+(gerne?\s+|jetzt\s+|sofort\s+)?(sprechen|"
    r"erreichen)\b|(^|[.!?]\s+)\W*(herrn?|frau)\s+\w+\s*,?\s*bitte\b|\b(schicken sie|schickt|schick)\s+(mir\s+)?"
    r"(einen|jemanden)\s+(techniker|monteur|vorbei)\b|\barbeitet\s+((heute|gerade|jetzt|uberhaupt|noch|denn|da|dort|"
    r"hier|bei (euch|ihnen)|eigentlich|wirklich|am \w+)\s+)*"
    r"(irgend)?jemand\b|\bwer\s+ist\s+bei\s+(euch|ihnen)\s+(\w+\s+){0,3}(zustandig|verantwortlich)\b|\b(ist|sind)\s+"
    r"(herrn?|frau)\s+\w+\s+((heute|gerade|jetzt|noch)\s+)*(im haus|im buro|da|erreichbar|zu sprechen|verfugbar)\b",
    r"\b(welche|wie lautet|gibt es|haben sie|habt ihr|brauche|suche|geben sie mir|gib mir|wo finde ich|was ist|"
    r"(konnen|konnten|wurden) sie mir|(kannst|konntest) du mir)\s+"
    r"(\w+\s+){0,2}(telefonnummer|rufnummer|servicenummer|hotline|nummer|"
    r"durchwahl)\b(?!-)[^.!?\n]{0,40}\b(kundendienst|kundenservice|support|service|hotline|anrufen|erreiche|"
    r"erreichen|sprechen|ihnen|euch|\w*abteilung|zustandig\w*|berater\w*|mitarbeiter\w*|vertrieb\w*|\w*team|ihres|"
    r"ihrer|eures)\b",
    r"\b(telefonnummer|rufnummer|nummer|hotline|durchwahl)\s+(von|vom|des|der|fur den|fur die|zum|zur)\s+(ihnen|"
    r"euch|kundendienst\w*|kundenservice|support\w*|service\w*|hotline|beratung|buchhaltung|\w*abteilung)\b|"
    r"\bunter welcher (telefon)?nummer\b",
    r"\b(wen|wem)\s+(kann|konnte|soll|sollte|muss|darf)\s+ich\b[^.!?\n]{0,40}?\b(anrufen|sprechen|reden|"
    r"kontaktieren|erreichen|wenden|schreiben|fragen)\b",
    r"\b(verbinde|verbindet|verbinden sie)\s+mich\b|\b(stellen sie|stell|stellt)\s+mich\b[^.!?\n]{0,40}\bdurch\b|"
    r"\b(leiten sie|leite|leitet)\s+mich\b[^.!?\n]{0,40}\bweiter\b",
    r"\b(kannst|konnen|konnten|konnt|konntest|wurden|wurdest)\s+(du|sie|ihr|'?s)?\s*mich\b[^.!?\n]{0,50}?"
    r"\b(verbinden|durchstellen|weiterleiten|weiterverbinden|ubergeben|weitergeben|weiterreichen)\b",
    r"\bbitte\s+((an|zu)\s+\w+\s+)?(durchstellen|weiterleiten|weiterverbinden)\b",
    rf"\b(hilfe|unterstutzung|kontaktaufnahme|ruckruf|beratung)\s+(von|durch|vom)\s+{_DE_NP}|\bbitte um\b"
    rf"[^.!?\n]{{0,30}}\b(durch|von|vom|mit)\s+{_DE_NP}",
    rf"\b(erreiche|erreichen|kontaktiere|kontaktieren|rufe|spreche)\s+(ich|man|wir)\s+(\w+\s+){{0,4}}?{_DE_NP}",
    # "ich hätte gerne mit einer Dame vom Kundendienst gesprochen" (folded "hätte" reads "hatte")
    r"\b(hatte|wurde)\s+(ich\s+)?(gerne?|lieber)\s+mit\b[^.!?\n]{0,60}?\b(gesprochen|telefoniert)\b",
    r"\bjemand(en)?\s+(echtes|echten|reales|menschliches|lebendiges)\b|\b(irgend)?jemand(en|em)?\b[^.!?\n]{0,30}?"
    r"\b(per|uber|via|im|am)\s+(videocall|video-?call|video|telefon|zoom|teams|anruf)\b",
    rf"\b(leiten|leite|leitet|geben|gebt|gib|reichen)\b[^.!?\n]{{0,40}}?\b(an|zu)\s+{_DE_NP}\s+weiter\b|"
    rf"\b(schalten sie|schalte|schaltet)\b[^.!?\n]{{0,20}}?{_DE_NP}\s+(ein|dazu|zu)\b",
    rf"\b(kann|konnte|konnen|konnten|wurde)\s+(mir|uns)\s+((bitte|mal|endlich|vielleicht)\s+)*((ein|eine|einer|ihr|"
    rf"ihre)\s+{_DE_ADJ}{_DE_PERSON}|(irgend)?jemand)\b[^.!?\n]{{0,30}}\bhelfen\b",
    r"\b(bitte um|wunsche|erbitte)\s+(\w+\s+){0,2}?(kontaktaufnahme|telefonat|personliches gesprach|gesprach)\b",
    # "(ich hätte gern,) dass mich ein Mitarbeiter zurückruft" (Swiss "dass mich en Mitarbeiter zrugglüütet")
    rf"\b(mich|uns)\s+((en|e|a)\s+)?({_DE_NP}|(irgend)?jemand)\s+((bitte|mal|kurz|heute|morgen|bald|gleich|"
    r"telefonisch|zeitnah)\s+)*(an|zuruck)ruft\b|\b(irgend)?jemand\s+mich\s+(\w+\s+){0,2}(an|zuruck)ruft\b",
    # nobody there who can help: "Ist da niemand, der mir wirklich helfen kann?", "Ist da niemand Zuständiges, mit
    # dem ich reden kann?", "Ist denn keiner da, der sich mein Konto ansehen kann?"
    r"\b(ist|gibt(\s+e|')?s)\s+((da|hier|denn|bei (euch|ihnen)|wirklich|eigentlich)\s+)*(niemand(en)?|keiner|keinen|"
    r"kein mensch|keinen menschen|keine person)(\s+(da|hier|dort|\w+es))?\s*,?\s*(der|die|den|mit dem|mit der|bei dem|"
    r"an den)\s+((mir|uns|ich|sich)\s+)?(\w+\s+){0,3}(helfen|weiterhelfen|antworten|zuhoren|verstehen|reden|sprechen|"
    r"ansehen|anschauen|ansieht|anschaut|kummert|kummern|prufen|pruft|auskennt|versteht)\b",
    # nobody answers, a call preferred: "Antwortet mir hier niemand?", "ein Anruf wäre einfacher"
    r"\b(antwortet|hilft|antworten|helfen)\s+((mir|uns|hier|denn|da|uberhaupt|eigentlich|heute|mal|jetzt)\s+)*(niemand|"
    r"keiner)\b|\bniemand\s+((mir|uns|hier|denn|da|uberhaupt)\s+)*(antwortet|hilft)\b|\b(ein|ein kurzer)\s+(anruf|"
    r"telefonat|ruckruf)\s+(ware|ist)\s+((viel|deutlich|echt)\s+)?(besser|einfacher|leichter|schneller|lieber|schon|toll)\b",
    # someone who knows, and a person to handle it: "bei jemandem, der sich auskennt", "von einem Menschen geprüft werden"
    r"\b(irgend)?jemand(en|em)?\s*,?\s*(der|die)\s+(sich\s+)?((damit|da|wirklich|richtig|auch|mit \w+)\s+)*(auskennt|"
    rf"versteht|durchblickt)\b|\b(von|durch)\s+{_DE_DET}{_DE_ADJ}{_DE_PERSON}\s+((\w+\s+){{0,2}})?(bearbeitet|gepruft|"
    r"angesehen|angeschaut|betreut|ubernommen)\s+(werden|wird)\b|\barbeitet\s+((bei (euch|ihnen)|da|dort|hier|"
    r"uberhaupt|eigentlich)\s+)*(niemand|keiner)\b",
    # the same one again, by name: "Kann ich nochmal mit Julien sprechen?"; a living soul; a specialist to look at it
    r"\b(nochmal|noch einmal|wieder|erneut)\s+mit\s+(?!(mir|uns|ihnen|euch|dir|ihm|ihr|meinem|meiner|meinen|dem|der|den|"
    r"diesem|dieser|einem|einer)\b)\w+\s+(\w+\s+)?(sprechen|reden|telefonieren|chatten)\b|\b(eine|keine)\s+"
    rf"(lebende|lebendige)\s+seele\b|\b(kann|konnte|konnen|wurde)\s+sich\s+((bitte|mal|vielleicht)\s+)*({_DE_DET}"
    rf"{_DE_ADJ}{_DE_PERSON}|(irgend)?jemand)\b[^.!?\n]{{0,30}}\b(ansehen|anschauen|kummern|annehmen)\b",
    # how often must I ask until a person answers: "Wie oft muss ich noch fragen, bis mir ein Mensch antwortet?"
    rf"\bbis\s+((mir|mich|uns|sich)\s+)?((endlich|mal|einmal|uberhaupt|wieder)\s+)*({_DE_DET}{_DE_ADJ}{_DE_PERSON}|"
    r"(irgend)?jemand)\s+((mir|mich|uns|sich|endlich|mal|zuruck)\s+)*(antwortet|hilft|anruft|zuruckruft|meldet|reagiert|"
    r"zuhort|drangeht|abnimmt)\b",
    # someone from you to call me or my mother: "Könnte eine Person von Ihnen sie bitte direkt auf dem Festnetz anrufen?"
    rf"\b(kann|konnte|konnen|konnten|wurde|wurden|soll|sollte)\s+({_DE_DET}{_DE_ADJ}{_DE_PERSON}|(irgend)?jemand)\s+"
    r"((von|vom|aus|bei)\s+(ihnen|euch|\w+)\s+)?(mich|uns|sie|ihn|meine[nmr]?\s+\w+)\b[^.!?\n]{0,40}?\b(an|zuruck)rufen\b",
)

# --- Spanish (folded: "atención" -> "atencion", "pásame" -> "pasame") ----------------------------------
_ES_HUMAN = (r"(persona|humano|ser humano|agente|asesor(a)?|operador(a)?|representante|ejecutiv[oa]|encargad[oa]|"
             r"supervisor(a)?|responsable|gerente|alguien|especialista|tecnico|interlocutor(a)?|gestor(a)?|jef[ea]|superior|"
             r"director(a)?|coordinador(a)?|companer[oa]|delegad[oa]|consultor(a)?|vendedor(a)?|ejecutiv[oa] de cuenta)")
_ES_PERSON = (r"(personas?|seres? humanos?|humanos?|agentes?|asesor(a|es|as)?|operador(a|es|as)?|ejecutiv[oa]s?|"
              r"representantes?|encargad[oa]s?|supervisor(a|es)?|gerente|responsables?|jefe|tecnicos?|especialistas?|"
              r"companer[oa]s?|colegas?|"
              r"alguien|(servicio|atencion) (al|a|de) (cliente|clientes|usuario)|ustedes|usted|vosotros|soporte|"
              r"soporte tecnico|servicio tecnico|personal|(su|vuestro) equipo|call ?center|mesa de ayuda|"
              r"equipo (de|del) \w+|(area|departamento) (de|del) \w+|(area|departamento) (tecnic[oa]|comercial|juridic[oa]|"
              r"financier[oa]|contable)|interlocutor(a|es)?|delegad[oa]s?|consultor(a|es)?|"
              r"gestor(a|es)?|jefa|director(a)?|superior(es)?|(algun|un)[oa]s? de (ustedes|vosotros|su equipo|sus \w+)|"
              r"(senor|senora|senorita|sr|sra|srta|don|dona)\.?\s+\w+|quien(es)? (\w+\s+)?(este|esten|sea|tenga|lleve|pueda|sepa|"
              r"mande|corresponda|competa|maneje|se encargue|se ocupe|vea|resuelva|decida|atienda|conozca))")
_ES_DET = (r"((?!mi (jefe|supervisor|gerente|equipo|encargad|contador|companer|colega))(un|una|el|la|los|las|al|su|sus|tu|mi|algun|"
           r"alguna|otro|otra|ese|esa)\s+)")
_ES_NOT = r"(?!\s+(de\s+(viajes|seguros|bienes|contacto)|legal(es)?|inmobiliari[oa]|asignad[oa]s?))"
_ES_NP = rf"({_ES_DET}(\w+\s+)?)?{_ES_PERSON}\b{_ES_NOT}"
# Verbs of reaching and being put through, in the forms a request takes: infinitive, present (tú, vosotros,
# ustedes), subjunctive, imperfect subjunctive, conditional and imperative, with "me/nos/le" attached
# ("transfiriera", "pasáis", "derívenme", "comunicaríamos"). Past forms ("hablé", "habló") are left out:
# folded they read like requests ("hable", "hablo").
_ES_CLITIC = r"(me|nos|le|les|lo|la|se)?"
_ES_AR = r"(ar|as|a|ais|an|es|eis|en|ara|aras|aran|ase|asen|aria|arias|arian|ariamos|ariais|ad|ando)"
_ES_ER = r"(er|ir|es|e|eis|is|en|a|as|an|ais|iera|ieras|ieran|iese|iesen|eria|erian|iria|irian|ed|id|iendo)"
_ES_REACH = (r"(hablar|conversar|chatear|charlar|comunico|hablo|contacto|ponerme en contacto|llamar|"
             rf"(comunic|comuniqu|contact|pas|deriv|conect|escal|redireccion|canaliz|canalic|llev){_ES_AR}{_ES_CLITIC}|"
             rf"(transfer|transfier|transfir|atiend|atend|redirig|redirij|remit|pon|pong){_ES_ER}{_ES_CLITIC}|"
             r"(comuniqu|contact|pas|deriv|conect|escal)en?(me|nos|lo|la|le)|(?<=que me )(comuniqu|pas|conect|deriv)en?|"
             r"poner(me|nos)?|pusier(a|an)(me|nos)?|pasadme|"
             r"pasenme|pon(me|nos)|ser atendid[oa]|escribir(le|les)?|seguir (hablando|con))")
_ES_WANT = (r"(quiero|queremos|quisiera|quisieramos|querria|querriamos|necesito|necesitamos|necesitaria|"
            r"necesitariamos|ocupo|ocupamos|ocupaba|ocuparia|deseo|deseamos|desearia|exijo|exigimos|prefiero|"
            r"preferimos|preferiria|solicito|solicitamos|solicitaria|pido|pedimos|pediria|requiero|requerimos|"
            r"requeriria|(me|nos) gustaria|(te|le|les) agradeceria|agradeceria|agradeceriamos|busco|buscamos|dame|deme|"
            r"denme|dadme|consigueme|consiganme|me urge|urge|me hace falta|hace falta|me haria falta)")
_ES_FILL = (r"((hablar|conversar|chatear|ser|atendid[oa]|por|con|que|me|atienda|contactar|tener|conseguir|ahora|ya|"
            r"favor|directamente|realmente)\s+)")
SPANISH = (
    rf"\b{_ES_REACH}\b(\s+[^\s.!?]+){{0,3}}?\s+(con|a|al|hacia|por|ante)\s+{_ES_NP}",
    rf"\b(reclamacion|queja|reclamo|denuncia)\b[^.!?\n]{{0,20}}\b(ante|con|a)\s+{_ES_NP}",
    # a call, a meeting or "comunicación" with someone: "solicito comunicación con un asesor comercial"
    rf"\b({_ES_WANT}|pedir|solicitar|agendar|agendo|programar|reservar|hacer|tener|concertar|coordinar|se puede|puedo|"
    rf"podria|podemos)\b[^.!?\n]{{0,20}}\b(cita|reunion|llamada|videollamada|entrevista|videoconferencia|turno|"
    rf"comunicacion|contacto|conversacion|charla|sesion|asesoria|atencion)\s+((telefonica|directa?|personal|"
    rf"presencial|virtual|por (telefono|whatsapp|video))\s+)?(con|de|por parte de)\s+{_ES_NP}",
    r"\b(puedo|podria|se puede|quiero|quisiera|me gustaria)\s+(ir|pasar|acudir|presentarme|visitar(los|les)?)\b"
    r"[^.!?\n]{0,30}\b(oficinas?|sucursal|tienda|local|sede|en persona|personalmente)\b|\balguien\s+((realmente|de "
    r"verdad|acaso)\s+)?(trabaja|atiende|contesta|responde|lee)\s+(ahi|alli|aqui|en (esta|esa) (empresa|compania))\b|"
    rf"\b(sentarme|sentarnos|reunirme|reunirnos|verme|vernos|juntarme)\s+con\s+{_ES_NP}|\balguien\s+(de|del|en)\s+"
    r"(\w+\s+){1,2}?(trabaja|trabajando|disponible|conectado|en linea|atendiendo|de guardia)\b|\balguien\s+(ahi|alli|"
    rf"aqui|disponible|conectado|en linea|despierto|de guardia|atendiendo)\b|\b(mand|envi)(ar|en|e|a|ad)(me|nos)?\s+"
    rf"(a\s+)?(alguien|(un|una|algun|alguna)\s+{_ES_HUMAN})\b|\bcon\s+\w+\s*,?\s*(por favor|porfa)?\s*,?\s*"
    r"(el|la|quien)\s+(que\s+)?me\s+(ayudo|atendio|llamo|escribio|contesto|asesoro)\b",
    rf"\b(directamente|personalmente|en persona|en vivo)\s+con\s+{_ES_NP}|\b(revisar|ver|mirar|atender)\b[^.!?\n]{{0,20}}"
    r"\buno de (ustedes|vosotros)\b|\b(hablar|comunicarme|conversar|contactar)\s+con\s+(el|ella|ellos|ellas)\s*"
    r"([.!?,]|$|hoy|ahora|ya|manana|directamente|personalmente|por (telefono|whatsapp)|cuanto antes|lo antes|urgente)|"
    r"\b(chat|chatear|hablar)\s+en\s+(vivo|directo)\s+con\s+(personas|gente|humanos|alguien|un|una)\b|\bdisponibles?\s+"
    r"(algun|alguna|alguien)\b|\bo quien sea\b|\bpero (una persona|un humano|alguien)\b",
    # "me pasa a menudo" is no request: after "a" a person must follow
    rf"(?<!\bno )\bme\s+((comunic|pas|conect|deriv){_ES_AR}|(transfier|transfir|pon){_ES_ER}|((puede|pueden|podria|podrian|"
    rf"podes|podrias|puedes|podeis|podriais)\s+(pasar|comunicar|transferir|conectar|poner|derivar)))\s+(con\b(?!\s+nadie)|al\b|"
    rf"a\s+{_ES_NP})",
    rf"\b{_ES_WANT}\s+{_ES_FILL}{{0,3}}((con|a)\s+)?({_ES_DET}(\w+\s+)?)?{_ES_HUMAN}\b{_ES_NOT}",
    r"\b(llamenme|llameme|llamame|llamarme|marquenme|marqueme|marcame|marcarme|contactenme|contacteme|contactame|"
    r"contactarme|(devolver|devuelv(a|an|e|en|as|es))"
    r"(me|nos)? la llamada|devuelvanme la llamada)\b",
    r"\bme\s+(pueden|puede|podrian|podria|podes|podrias|puedes|pueda|puedan)\s+((alguien|ustedes|usted|por favor|hoy|"
    r"manana)\s+)*(llamar|contactar|atender|marcar|telefonear|devolver la llamada|escribir)\b",
    r"\bque\s+me\s+(llamen|llame|llamara|llamaran|contacten|contacte|contactara|contactaran|contactase|atienda|"
    r"atiendan|atendiera|atendieran|atendiese|devuelvan|devuelva|marque|marquen|marcara|marcaran|telefoneen)\b"
    r"(?!\s+como\b)",
    # "que un responsable se ponga en contacto conmigo", "¿podría alguien comunicarse conmigo?"
    r"\b(ponga|pongan|ponerse|pongase|pusiera|pusieran|pusiese|comunique|comuniquen|comunicarse|comunicara|"
    r"comunicaran|contacte|contacten|contactarse|contactara|contactaran|hable|hablen|hablara|hablaran|llame|llamen)\s+"
    r"(en contacto\s+)?conmigo\b",
    rf"\b(alguien|{_ES_DET}(\w+\s+)?{_ES_HUMAN})\b[^.!?\n]{{0,25}}?\b(me|lo|la|le|les|nos)\s+(contacte|contacten|"
    r"contactara|llame|llamen|llamara|atienda|devuelva|marque|escriba|escriban|escribiera|(puede|podria|pueden|podrian)\s+"
    r"(ayudar|atender|llamar|contactar|devolver|echar una mano))\b",
    # the subject after the verb, for me or someone I help: "¿podría un asesor llamarla directamente?"
    rf"\b(puede|podria|podra|pueda|pueden|podrian)\s+(alguien|{_ES_DET}(\w+\s+)?{_ES_HUMAN})\s+((de|del)\s+\w+\s+)?"
    r"(llamar|contactar|atender|ayudar|marcar|escribir|devolver la llamada)(me|nos|la|lo|le|les)\b",
    rf"\b(atenderme|atendernos|llamarme|contactarme|ayudarme)\s+(\w+\s+)?({_ES_DET}(\w+\s+)?)?{_ES_HUMAN}\b{_ES_NOT}",
    rf"\b(algun|alguna|hay|un|una)\s+{_ES_HUMAN}(e?s)?\s+disponibles?\b",
    r"\b(persona|humano|agente|asesor|ser humano|alguien|gente)\s+(real|reales|de verdad|humano|humana|"
    r"de carne y hueso|fisica)\b|\bcarne y hueso\b|\b(un|una|con un|con una)\s+(ser\s+humano|humano|persona real)\b",
    rf"\b(hay|habra|existe|tienen|tendran|tenes|tienes)\s+(\w+\s+)?(alguien|alguna persona|algun (\w+\s+)?"
    rf"{_ES_HUMAN}|{_ES_HUMAN}e?s? disponibles?)\b{_ES_NOT}",
    r"\b(puede|podria|podra|pueda)\s+alguien\s+(ayudarme|atenderme|llamarme|contactarme|revisar|ver|mirar|"
    r"explicarme|responderme|ayudar)\b|\balguien\s+(me\s+)?(puede|podria)\s+(ayudar|atender|revisar|explicar)",
    r"\b(con quien|a quien(es)?)\s+(\w+\s+)?(puedo|podria|pueda|debo|tengo que|hay que|se puede)\s+(\w+\s+)?(hablar|"
    r"comunicarme|comunicar|contactar|llamar|escribir|dirigirme|acudir)\b|\b(con quien|a quien(es)?)\s+((le|les|me)\s+)?"
    r"(hablo|escribo|llamo|contacto|acudo|me dirijo|me comunico|recurro|reclamo)\b",
    r"\b(cual|que|tienen|hay|dame|deme|necesito|busco|donde|me (da|das|pasa|pasas|puede dar)|existe)\b[^.!?\n]{0,25}"
    r"\b(numero|telefono|linea|whatsapp)\b[^.!?\n]{0,30}?\b(atencion al cliente|servicio al cliente|soporte|"
    r"servicio tecnico|atencion a clientes|call ?center|mesa de ayuda|para (llamar|hablar|comunicarme|contactar)|"
    r"a (que|cual) (numero )?(llamo|llamar)|(donde|en (el|la) que|por (el|la) que|para que)\s+(me\s+)?(atienda|"
    r"atiendan|contesten|conteste|responda|respondan|pueda hablar|pueda comunicarme|hable con))\b|"
    r"\ba que numero\s+(\w+\s+){0,2}(llamo|llamar|marco|marcar)\b|\b(linea|numero|telefono) direct[oa]\b|"
    rf"\b(contacto|numero|telefono|whatsapp|correo|datos de contacto)\s+(directo\s+|personal\s+)?(de|del)\s+{_ES_NP}",
    rf"(?<!horario de )(?<!horarios de )\b(ayuda|atencion|asistencia|apoyo|soporte)\s+(personalizad[oa]|humana|"
    rf"telefonic[oa]|por telefono|presencial|de (un|una|alguien|algun|alguna)\b\s*(\w+\s+)?"
    rf"({_ES_HUMAN}|ser humano)|por parte de)\b",
    r"\b(asesor(a)?|operador(a)?|agente|humano|representante|persona|ejecutivo|supervisor|encargado)\s*,?\s*"
    r"(por favor|porfa|porfavor|plis|ya\W*$|ahora\W*$|urgente)",
    # the one assigned to me: "hablar con el ejecutivo asignado" (``_ES_NOT`` keeps "el agente asignado al ticket" out)
    rf"\b{_ES_REACH}\b(\s+[^\s.!?]+){{0,3}}?\s+con\s+{_ES_DET}(\w+\s+)?{_ES_HUMAN}\s+asignad[oa]\b",
    # wanting to settle the matter with a person: "preferiría tratar este asunto con una persona del área..."
    rf"\b{_ES_WANT}\s+(tratar|ver|resolver|discutir|revisar|arreglar|solucionar|platicar|consultar|aclarar|"
    rf"hablar)(lo|la|los|las)?\s+([^\s.!?]+\s+){{0,3}}?con\s+(?!(los|las|mis|sus|nuestr[oa]s)\s){_ES_NP}",
    # a person, not the machine: "esto lo tiene que ver alguien, no un programa" ("el técnico no programa la visita"
    # has no article after "no")
    rf"\b(alguien|{_ES_HUMAN}|ser humano|gente)\b[^.!?\n]{{0,15}}?\s*,?\s*(y\s+)?no\s+(con\s+|por\s+)?(un|una|el|la|"
    rf"este|esta|ese|esa|otro|otra)\s+({_BOT_ES}|programa|software|aplicacion|app)\b",
    rf"\b(tiene|tendria|debe|deberia|necesita|tendra)\s+(que\s+)?(ver|revisar|mirar|atender|leer|resolver)(lo|la)?\s+"
    rf"(alguien|{_ES_DET}(\w+\s+)?{_ES_HUMAN})\b{_ES_NOT}",
    # nobody who could: "¿no tenés a nadie que pueda revisar mi caso?", "¿no hay nadie que me atienda?"
    # ... or nobody to talk to, is any human left: "¿No hay ningún responsable con quien hablar?", "¿Queda algún ser
    # humano en esta empresa?", "¿hay un alma viva ahí?"
    rf"\b(nadie|alguien|ningun(a)?\s+(\w+\s+)?{_ES_HUMAN})\s+(con|a)\s+quien(es)?\s+(\w+\s+)?(hablar|dirigirme|acudir|"
    r"comunicarme|llamar|reclamar|contarle|explicarle)\b|\b(queda|quedan|hay|existe|existen)\s+((todavia|aun|realmente|"
    r"de verdad)\s+)?(algun|alguna|algunos|algunas)\s+(ser(es)? humanos?|humanos?|personas?)\s+(de verdad\s+|reales?\s+)?"
    r"(en|ahi|alli|aqui|trabajando)\b|\balma\s+(viva|viviente|humana)\b|"
    # ... a call asked in two words or preferred: "Ya me cansé de escribir, ¿me llaman?", "una llamada sería mejor"
    r"¿\s*(me|nos)\s+(llaman|llamas|llama|llamarian|llamaria|marcan|marcas|contactan|contactas)\b|\buna\s+(llamada|"
    r"videollamada)\s+(seria|es|sera)\s+(mucho\s+)?(mejor|mas (facil|rapido|comodo|sencillo|practico)|ideal|preferible)\b|"
    # ... the chat moved to another channel with a person: "quiero pasar esta conversación a WhatsApp con un agente"
    r"\b(pasar|seguir|continuar|mover|llevar|cambiar)\s+((esta|la) (conversacion|charla)|esto|este chat|el chat)?\s*(a|por|"
    rf"en|al)\s+(whatsapp|whats|telefono|el telefono|una llamada|llamada|videollamada|correo|zoom)\s+con\s+{_ES_NP}|"
    # ... the same one again: "¿Puedo volver a hablar con Julián?"
    rf"\b(volver\s+a\s+(hablar|comunicarme|conversar|contactar)|(hablar|comunicarme|conversar)\s+(otra vez|de nuevo|"
    rf"nuevamente))\s+con\s+(?!((el|la|un|una|este|esta|ese|esa)\s+)?"
    rf"{_BOT_ES}\b)\w+",
    rf"\b(no\s+)?(hay|tienen|tenes|tienes|tiene|habra|teneis)\s+(a\s+)?(nadie|(un solo|ni un|ni una|ningun|ninguna)\s+"
    rf"(\w+\s+)?{_ES_HUMAN})\s+(mas\s+)?(que|quien)\s+(me\s+|nos\s+)?(pueda|puede|podria|sepa|quiera|atienda|lea|revise|"
    r"entienda|conteste|ayude|responda)\b|\bno\s+hay\s+nadie\s*(\?|!|ahi|alli|aqui|del otro lado|al otro lado|"
    r"atendiendo|trabajando|en (esta|esa) empresa)|\bnadie\s+(trabaja|atiende|contesta)\s+(ahi|alli|aqui|en (esta|esa) "
    r"(empresa|compania))\b",
    # a person to handle it: "quiero que mi caso sea revisado por una persona"
    rf"\b(sea|fuera|ser|sean)\s+(atendid|revisad|vist|tratad|gestionad|resuelt|analizad|leid)[oa]s?\s+por\s+{_ES_NP}",
    # will anybody answer, and a call given as a present: "¿alguien me va a responder?", "¿me regala una llamada?"
    r"\b(alguien|nadie|una persona|un humano|un asesor|un agente)\s+(me\s+)?va\s+a\s+(responder|contestar|atender|ayudar|"
    r"llamar|leer)\b|\bme\s+(regala|regalas|regalan|regalaria|regalarian|da|das|dan|daria|darian|hace|hacen|haria|"
    r"harian|(puede|pueden|podria|podrian|puedes|podrias)\s+(hacer|dar|regalar))\s+(un|una)\s+(llamada|llamado|"
    r"callback|call back|rellamada)\b",
)

# --- French (folded: "conseillère" -> "conseillere", "à" -> "a") ------------------------------------
_FR_PERSON = (r"(humain(e|s)?|etre humain|personnes?( physique| reelle| humaine)?|conseill(er|ere|e)s?|agents?|"
              r"operat(eur|rice)s?|interlocut(eur|rice)s?|responsables?|technicien(ne)?s?|representant(e)?s?|"
              r"collaborat(eur|rice)s?|employe(e)?s?|superviseur|superieur( hierarchique)?|chef|manager|directeur|"
              r"directrice|gerant(e)?|prepose(e)?s?|service( (client(ele)?|technique|apres-vente|reclamations?|facturation|"
              r"commercial|comptabilite|abonnements?|concerne|competent|juridique|resiliation))?|"
              r"support( technique)?|sav|assistance|equipe|hotline|standard|patron|direction|hierarchie|gestionnaire|"
              r"encadrant|charge(e)? de clientele|membres? (de|d')\s*(votre |vos |l'|la )?(equipe|service|personnel))")
_FR_SOMEONE = r"(quelqu'?\s?un|(l'une?|une?)\s+(de|d'entre)\s+(vous|vos \w+)|(du|au|le) vrai monde|une? vraie? (personne|humain))"
# "en parler à mon chef" is the writer's own boss: no request.
_FR_DET = (r"((?!(mon|ma|mes) (chef|manager|equipe|directeur|directrice|superieur|collaborat|patron))(un|une|le|la|"
           r"les|votre|vos|ton|ta|tes|mon|ma|mes|au|aux|du|des|ce|cet|cette)\s+|l')")
_FR_NP = (rf"({_FR_DET}(\w+\s+)?{_FR_PERSON}\b|{_FR_SOMEONE}|"
          r"(mme|madame|monsieur|mlle|mademoiselle|m\.)\s+(?!(madame|monsieur)\b)\w+)")
_FR_HUMAN = (r"(humain|personne|conseill\w*|agent|operat\w*|interlocut\w*|representant\w*|responsable|superviseur|"
             r"prepose\w*|specialiste|expert|"
             r"superieur|technicien\w*)")
_FR_REACH = (r"(parl(er|e|ez)|discuter|echanger|chatter|converser|jaser|causer(?=\s+(avec|a)\b)|avoir affaire|entretenir|joindre|contacter|recontacter|"
             r"appeler|(me |m')passer|passe[zr]?[- ]moi|transfer(er|ez|e)|transfere[zr]?[- ]moi|mettez[- ]moi|"
             r"mets[- ]moi|(mettre|mis|mise|etre mise?)\s+en (relation|contact|communication|lien|ligne(?=\s+avec))|rediriger|"
             r"redirigez[- ]moi|orient(er|ez)([- ]moi)?|connect(er|ez)([- ]moi)?|transmettre|transmettez|transmets|"
             r"faire (rappeler|appeler|contacter|intervenir|venir)|ecrire|continuer|(faire\s+)?remonter|remontez|"
             r"escalader|escaladez|(m'|s')adresser|regler \w+ (directement|personnellement))")
_FR_FILL = (r"((parler|discuter|echanger|avoir|etre|mis|mise|en|relation|contact|avec|a|de|d'|que|qu'|joindre|contacter|"
            r"vraiment|juste|seulement|plutot|directement|maintenant|tout de suite)\s*)")
FRENCH = (
    rf"\b{_FR_REACH}\b(\s+[^\s.!?]+){{0,3}}?\s+((a|avec|par|vers)\s+|aupres\s+(de\s+|d'|du\s+|des\s+))?{_FR_NP}",
    rf"\bavoir\s+({_FR_SOMEONE}|{_FR_NP}\s+(au (telephone|bout du fil|tel)|en ligne|humain))",
    # ... me, or someone I help ("est-ce qu'une personne de chez vous peut l'appeler directement ?")
    rf"\b({_FR_NP}|quelqu'?\s?un)\b[^.!?\n]{{0,25}}?\b(peut|pourrait|pourra|puisse|pourriez|pouvez|doit|va|devrait)"
    r"(-t)?(-il|-elle|-on)?\s+(me\s+|m'|nous\s+|l'|le\s+|la\s+|les\s+|lui\s+)(contacter|rappeler|appeler|joindre|repondre|aider|telephoner|"
    r"recontacter|ecrire|prendre en charge)\b",
    rf"\b{_FR_NP}\s+(peut|pourrait|pourra|puisse)(-t)?(-il|-elle)?\s+(prendre le relais|prendre (mon|ma|le|la) "
    r"(dossier|demande|cas|relais|main)|s'occuper de (moi|mon|ma))\b",
    rf"\b(veux|voudrais|souhaite|souhaiterais|aimerais|aimerai|prefere|prefererais|exige|demande|desire|reclame|"
    rf"sollicite|(il )?me faut|(il )?nous faut|besoin d'|besoin de)\s*{_FR_FILL}{{0,3}}(({_FR_DET})(vraie?\s+)?{_FR_HUMAN}|quelqu'?\s?un)\b"
    r"(?!\s+(de voyage|immobilier|d'assurance))",
    r"\b(rappelez[- ]moi|rappelle[- ]moi|rappelez[- ]nous|recontactez[- ]moi|appelez[- ]moi|contactez[- ]moi|"
    r"me\s+(re)?contacter|m'appeler|me\s+telephoner|me joindre(?!\s+(a|au|aux)\b)|(etre|soit|sois)\s+(re)?(rappele|"
    r"contacte|appele)e?s?|qu'(on|il|elle|un \w+|une \w+|quelqu'?\s?un) (me |m')(rappelle|recontacte|contacte|appelle|joigne)|"
    r"me\s+rappeler|me\s+rappelle)\b(?!\s+(mon|ma|mes|votre|vos|comment|quel|"
    r"quelle|quels|quelles|ce que|de |d'|que |qu'|pourquoi|la procedure|les etapes|le mot|le code|le lien|le nom|"
    r"l'adresse|le montant|la date))",
    r"\b(me faire|faites[- ]moi) (rappeler|contacter)\b|\b(rendez-vous|rdv|entretien|visio(conference)?|appel video|"
    r"appel|echange|conversation|discussion)\s+(telephonique\s+)?avec\s+(un|une|quelqu'?\s?un|le|la|votre)\b|\b(un|le)\s+rappel\s+(telephonique|"
    r"par telephone)|\b(demande|souhaite|voudrais|veux|aimerais|besoin d')\s+un\s+rappel\b(?!\s+(de|d'|du|des|"
    r"pour le|automatique))",
    r"\b(me|m'|moi|nous)\b[^.!?\n]{0,25}\ben (relation|contact|communication|lien|ligne) avec\b|\b(etre|soit)\s+(mise?s?\s+)?en "
    r"(relation|contact|communication)\b|\bentrer en (contact|relation) avec\b",
    r"\b(une?\s+vraie?\s+(personne|humain|service client|conseill\w*|interlocut\w*|support|agent|equipe)|un\s+etre\s+humain|"
    r"(de|des)\s+vrai(e)?s\s+(gens|personnes|humains|conseill\w*)|chat en direct avec|personne\s+(reelle|physique|humaine)|en chair et en os|"
    r"(du|au|le|avec du)\s+vrai monde|(conseill(er|ere)|agent|interlocuteur|operateur)\s+humaine?)\b",
    r"\b(y a[- ]t[- ]il|il y a|y'a|y a|ya|est-ce qu'il y a)\s+(\w+\s+)?(quelqu'?\s?un|(un|une)\s+(\w+\s+)?(humain|"
    r"conseill(er|ere)|agent|interlocut(eur|rice)|operat(eur|rice)|personne|responsable|technicien))"
    r"(?=\s*\?|\s+((chez vous\s+)?qui (peut|puisse|pourrait|pourra|sait|comprend|connait|s'y connait)|de (disponible|dispo|reel|chez vous|humain)|"
    r"pour (m'aider|me repondre|me rappeler)|au (bout|telephone)|en ligne|avec qui|a qui|que je (peux|puisse|"
    r"pourrais)|disponible)|\W*$|\s*,\s*(la-bas|la|ici)?\s*,?\s*ou\b)",
    r"\b(quel|c'est quoi|avez-vous|vous avez|y a-t-il|il y a|donnez-moi|besoin|cherche|ou trouver|existe)\b"
    r"[^.!?\n]{0,25}\b(numero|telephone|coordonnees|tel)\b[^.!?\n]{0,30}?\b(hotline|service client(ele)?|"
    r"support|sav|service (technique|apres-vente)|assistance|standard|(pour|afin de) ((vous|les|te) )?(joindre|"
    r"appeler|contacter|parler)|un conseiller|vos conseillers|quelqu'?\s?un|un responsable|service \w+)\b|"
    r"\bligne directe\b",
    rf"\b({_FR_NP}|quelqu'?\s?un)\b[^.!?\n]{{0,25}}?\b(peut|pourrait|pourra|puisse|pourriez|pouvez)(-t)?(-il|-elle|-on)?"
    r"\s+(regarder|examiner|verifier|traiter|voir|jeter|s'occuper|prendre en charge|se pencher|etudier|consulter|"
    r"reprendre|lire)\b|\bquelqu'?\s?un\s+((de|du|d')\s*\w+\s+)?(est\s+|serait\s+)?(la\s*\?|dispo(nible)?|en ligne|"
    r"present|joignable|derriere (l'ecran|le clavier)|bosse|travaille|de (garde|permanence))|\brappel\s+(souhaite|"
    r"demande|svp|urgent)\b|\b(directement|personnellement|en direct|de vive voix)\s+(avec|a)\s+"
    rf"{_FR_NP}|\b(reclamation|plainte|recours)\b[^.!?\n]{{0,25}}?\b(aupres d'?|a|avec)\s*{_FR_NP}",
    rf"\b{_FR_NP}\s+(est|serait|sont)\s+(dispo(nible)?s?|joignable|en ligne|la)\s*(\?|maintenant|en ce moment|"
    r"actuellement|aujourd'hui|tout de suite)",
    r"\b(je peux|puis-je|est-ce que je peux|pourrais-je|je pourrais)\s+(vous|te)\s+(appeler|telephoner|joindre|rendre "
    r"visite)\b|\b(venir|passer|me deplacer|me rendre|aller)\b[^.!?\n]{0,30}\b(en personne|a (votre|vos) (bureaux?|"
    r"agence|boutique|magasin|guichet|siege)|dans (votre|vos) (bureaux?|agence|boutique|magasin)|en (agence|boutique|"
    r"magasin)|au guichet)\b|\b(envoy\w*|faire "
    r"venir|faites venir)\s+(moi\s+)?(un technicien|un intervenant|quelqu'?\s?un|un expert)\b",
    r"\b(a qui|qui)\s+(puis-je|je peux|dois-je|je dois|peut-on|faut-il)\s+(\w+\s+)?(parler|m'adresser|contacter|"
    r"appeler|joindre|ecrire)\b|\bqui (contacter|appeler|joindre)\b",
    r"\b(conseill(er|ere)|agent|humain|operat(eur|rice)|service client|responsable|superviseur|quelqu'?\s?un|"
    r"technicien)\s*,?\s*(s'il vous plait|s'il te plait|svp|stp|maintenant|vite|rapidement)",
    # "J'aimerais lui parler", "Pourriez-vous l'appeler ?", "un rappel dans la journée serait apprécié"
    r"\b(aimerais|voudrais|veux|souhaite|souhaiterais|puis-je|peux|pourrais|pourrais-je|dois|faut)\s+(lui|leur)\s+"
    r"(parler|telephoner|ecrire|expliquer)\b|\b(pouvez|pourriez|peux|pourrais)[- ](vous|tu)\s+(l'|le\s+|la\s+|les\s+)"
    r"(appeler|rappeler|contacter|joindre|recontacter)\b|\b(pouvez|pourriez|peux|pourrais)[- ](vous|tu)\s+lui\s+"
    r"telephoner\b|\b(un|le|votre)\s+rappel\b(?!\s+(de|d'|du|des|automatique))[^.!?\n]{0,40}\b(serait|svp|apprecie|"
    r"souhaite|demande|merci|possible|bienvenu)",
    rf"\b(veux|voudrais|souhaite|souhaiterais|aimerais|besoin|faut|sollicite|demande|requiers|cherche|exige)\b"
    rf"[^.!?\n]{{0,20}}\b(aide|assistance|soutien|intervention|accompagnement|avis|conseils?)\s+(d'|de|du|des)\s*"
    rf"(un\s+|une\s+|vos\s+|votre\s+|l')?(vrai\w*\s+)?({_FR_HUMAN}|specialiste|expert)",
    # nobody there, said as a question or in anger: "Il n'y a donc aucun responsable à qui parler ?", "C'est pas
    # possible qu'il n'y ait aucun humain dans cette boîte !", "Y a vraiment personne chez vous qui peut regarder ?"
    rf"\b(n'?\s?y\s+(a|ait|aurait|avait)|y\s+a|y'a|ya|il y a)\s+((donc|vraiment|meme|plus|jamais|t-il)\s+)*"
    rf"(aucun(e)?\s+(vrai(e)?\s+)?(\w+\s+)?{_FR_HUMAN}\w*|personne)\b(?=\s*[?!]|\s+((chez vous|ici|la|dans (cette|"
    r"votre) \w+)\s+)?((qui|que je|a qui|avec qui)\s+(\w+\s+)?(peut|puisse|pourrait|sait|veut|va|comprend|parler|"
    r"m'aider|me repondre|joindre)|pour (m'aider|me repondre|me rappeler|parler)|de (disponible|dispo|competent))\b|"
    r"\s+(chez vous|ici|la|dans (cette|votre) \w+)\s*[?!])",
    # how often must I ask to get one: "Combien de fois faut-il demander pour avoir un conseiller ?"
    rf"\b(combien de fois|jusqu'a quand)\b[^.!?\n]{{0,50}}?\b(avoir|obtenir|parler (a|avec)|joindre)\s*"
    rf"({_FR_DET}(\w+\s+)?{_FR_HUMAN}|quelqu'?\s?un)\b",
    # the same one again: "Je peux reparler à Julien ?" ("reparler de ça" is about a topic), "la même conseillère"
    r"\b(reparler|rediscuter)\s+(a|au|avec)\s+(?!(ce|ca|cela|propos|nouveau)\b)\w+|\b(veux|voudrais|aimerais|souhaite|"
    rf"souhaiterais|avoir|retomber sur)\s+(\w+\s+)?(le|la)\s+meme\s+{_FR_HUMAN}",
    # the chat moved to the phone with a person: "Est-ce qu'on peut passer au téléphone avec quelqu'un ?"
    r"\b(passer|continuer|poursuivre|basculer)\s+((ca|cela|la conversation|l'echange)\s+)?(au|par|sur|en)\s+(telephone|"
    rf"tel|whatsapp|visio|appel)\s+avec\s+({_FR_NP}|quelqu'?\s?un)",
    # ... still humans here, a living soul, nobody to answer: "Y a-t-il encore des humains dans cette entreprise ?",
    # "Il y a une âme qui vive ?", "Personne pour me répondre ?"
    r"\b(y a[- ]t[- ]il|il y a|y'a|y a|est-ce qu'il y a)\s+((encore|vraiment|seulement)\s+)*des\s+(vrai(e)?s\s+)?(humains|"
    r"etres humains|gens|personnes|conseillers)\s+(dans|chez|ici|la|derriere|au bout)\b|\bame\s+(qui vive|vivante)\b|"
    r"(?<!la )(?<!une )(?<!cette )\bpersonne\s+pour\s+(me\s+|m'|nous\s+)(repondre|aider|rappeler|renseigner|ecouter)\b|"
    # ... nobody will answer, a call preferred: "Personne ne va me répondre ?", "un appel serait mieux"
    r"\bpersonne\s+ne\s+(va|peut|veut|pourrait|pourra|compte)\s+(me\s+|m'|nous\s+)(repondre|aider|rappeler|appeler|"
    r"contacter|lire)\b|\bpersonne\s+ne\s+(travaille|bosse|repond)\s+(chez vous|ici|la|dans (cette|votre) \w+)\b|"
    # ... a person to handle it, on the line, a "coup de fil": "Je veux que mon cas soit traité par un humain", "un
    # conseiller au bout du fil ce serait mieux", "qu'un de vos agents me passe un coup de fil"
    rf"\b(soit|soient|etre|sera|serait)\s+(\w+\s+)?(traite|examine|vu|gere|pris en charge|lu|regarde|etudie|verifie|"
    rf"suivi|repris)e?s?\s+par\s+({_FR_NP}|quelqu'?\s?un)|({_FR_NP}|quelqu'?\s?un)\s+(au bout du fil|au telephone)\s*,?\s*"
    r"(ce serait|ca serait|serait|c'est|svp|s'il vous plait|stp|merci|\?|!|$)|\b(me|m')\s*(passe|passer|passiez|"
    r"passerait|passeriez)\s+un\s+(petit\s+|rapide\s+)?coup de fil\b|\bpassez[- ]moi un (petit )?coup de fil\b|"
    r"(?<=un |le )(appel|coup de fil|rappel)( telephonique)?\s+(serait|ce serait|c'est)\s+(bien\s+|"
    r"beaucoup\s+|plus\s+)*(mieux|simple|pratique|preferable|apprecie|ideal|facile|rapide)\b|"
    # ... how often before a person answers: "Combien de fois dois-je demander avant qu'un humain me réponde ?"
    rf"\b(avant|jusqu'a ce)\s+qu'\s*(une?\s+(vrai\w*\s+)?{_FR_HUMAN}\w*|quelqu'?\s?un)\s+(me\s+|m'|nous\s+)(reponde|"
    r"rappelle|appelle|contacte|aide|ecrive|lise|prenne)\b",
)
