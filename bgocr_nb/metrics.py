"""OCR quality: character error rate against ground truth."""

from __future__ import annotations

import unicodedata


def normalize_text(text: str) -> str:
    """NFKC, one space between words, no line structure; spaces between CJK dropped."""
    text = unicodedata.normalize("NFKC", text)
    words = text.split()
    out = []
    for w in words:
        if out and (_is_cjk(out[-1][-1]) or _is_cjk(w[0])):
            out[-1] += w
        else:
            out.append(w)
    return " ".join(out)


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef" \
        or "\u3000" <= ch <= "\u303f"


def cer(hypothesis: str, reference: str, *, normalize: bool = True) -> float:
    """Character error rate: edit distance / reference length (0 is perfect).

    Examples
    --------
    >>> cer("helo world", "hello world")
    0.09090909090909091
    """
    from rapidfuzz.distance import Levenshtein

    if normalize:
        hypothesis, reference = normalize_text(hypothesis), normalize_text(reference)
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return Levenshtein.distance(hypothesis, reference) / len(reference)
