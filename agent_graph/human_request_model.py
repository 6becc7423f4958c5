"""A character n-gram model as the second signal of the person-request detector, scored without sklearn.

The patterns of :mod:`agent_graph.human_request` miss phrasings nobody wrote down yet ("Lleven mi caso a
alguien con autoridad", "Je souhaiterais un échange téléphonique avec un conseiller"). Left out of training
one table at a time, a logistic regression over TF-IDF of character 2-5-grams caught +23/210, +44/240 and
+8/225 of the requests the rules of the time missed. It only runs after the rules found nothing, and its
threshold is chosen on out-of-fold probabilities so that none of the look-alikes in our tables ("How do I
add an agent seat?", "I spoke to your colleague yesterday") and at most 0.5 % of Bitext's other intents and
of CLINC150 fire (``bench/train_human_request_model.py``, which writes ``data/human_request_ngram.json``).

The scorer reproduces sklearn's ``TfidfVectorizer(analyzer="char_wb", lowercase=True,
strip_accents="unicode", sublinear_tf=True)`` and ``LogisticRegression.predict_proba`` in plain Python:
lower case, NFKD without combining marks, each whitespace-separated word padded with a space on both sides
and cut into n-grams (a word shorter than n counted once, as sklearn's ``_char_wb_ngrams`` does), tf ->
1 + log(tf), times idf, L2 norm, logistic. No pickle: the JSON is read once, on first use.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_PATH = Path(__file__).resolve().parent / "data" / "human_request_ngram.json"


def _strip_accents(s: str) -> str:
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """sklearn's ``_char_wb_ngrams``: n-grams inside each space-padded word, short words counted once."""
    grams: list[str] = []
    for word in text.split():
        w = f" {word} "
        w_len = len(w)
        for n in range(min_n, max_n + 1):
            if w_len <= n:  # sklearn appends w[:n] once and stops growing n for this word
                grams.append(w)
                break
            grams.extend(w[i:i + n] for i in range(w_len - n + 1))
    return grams


class NgramModel:
    """TF-IDF over char_wb n-grams and a logistic regression, from the exported parameters."""

    def __init__(self, params: dict[str, Any]) -> None:
        pre = params["preprocessing"]
        if pre["analyzer"] != "char_wb" or not pre["sublinear_tf"] or pre["norm"] != "l2":
            raise ValueError(f"unsupported preprocessing {pre}")
        self.min_n, self.max_n = pre["ngram_range"]
        self.lowercase: bool = pre["lowercase"]
        self.strip_accents: bool = pre["strip_accents"] == "unicode"
        self.vocabulary: dict[str, int] = params["vocabulary"]
        self.idf: list[float] = params["idf"]
        self.coef: list[float] = params["coef"]
        self.intercept: float = params["intercept"]
        self.threshold: float = params["threshold"]

    def probability(self, text: str) -> float:
        if self.lowercase:
            text = text.lower()
        if self.strip_accents:
            text = _strip_accents(text)
        vocab = self.vocabulary
        counts = Counter(i for g in char_wb_ngrams(text, self.min_n, self.max_n) if (i := vocab.get(g)) is not None)
        norm2 = dot = 0.0
        for i, tf in counts.items():
            w = (1.0 + math.log(tf)) * self.idf[i]
            norm2 += w * w
            dot += w * self.coef[i]
        z = self.intercept + (dot / math.sqrt(norm2) if norm2 > 0 else 0.0)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> NgramModel:
    with open(path, encoding="utf-8") as f:
        return NgramModel(json.load(f))


def person_request_probability(text: str) -> float:
    """The model's probability that ``text`` asks for a person."""
    return load_model().probability(text)


def model_fires(text: str) -> str | None:
    """``"model:0.9934"`` when the probability reaches the exported threshold, else None."""
    model = load_model()
    p = model.probability(text)
    return f"model:{p:.4f}" if p >= model.threshold else None
