"""Offline language detection for customer messages.

``lingua`` ships its models inside the wheel (no download at run time) and is accurate on short
texts, which is what support messages are. Only the languages we localise notices for, plus a few
neighbours, are loaded: fewer candidates means fewer confusions and less memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("ENGLISH", "GERMAN", "FRENCH", "SPANISH", "ITALIAN", "PORTUGUESE", "DUTCH")
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch"}  # for prompts and the reasons agents read
MIN_CONFIDENCE = 0.5  # below this a short message says too little; the tenant's default wins


@dataclass(frozen=True, slots=True)
class DetectedLanguage:
    code: str  # ISO 639-1, lower case
    confidence: float


_detector: Any = None
_lock = threading.Lock()


def _get_detector() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import Language, LanguageDetectorBuilder

                _detector = LanguageDetectorBuilder.from_languages(
                    *(getattr(Language, name) for name in LANGUAGES)
                ).build()
    return _detector


def detect(text: str, default: str = "en") -> DetectedLanguage:
    """The message's language, or ``default`` with a low confidence when the text is too short to tell."""
    cleaned = " ".join(text.split())[:1000]
    if len(cleaned) < 3:
        return DetectedLanguage(default, 0.0)
    values = _get_detector().compute_language_confidence_values(cleaned)
    if not values:
        return DetectedLanguage(default, 0.0)
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    confidence = float(best.value)
    if confidence < MIN_CONFIDENCE:
        return DetectedLanguage(default, round(confidence, 3))
    return DetectedLanguage(code, round(confidence, 3))
