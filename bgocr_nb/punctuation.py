"""Chinese punctuation in Tesseract's output.

Tesseract's Chinese models read the full-width marks of Chinese text (： ； ， ！ ？
（ ）) as their ASCII forms, and the blank half of the wide glyph as a space:
``合同标的: 甲方`` for ``合同标的：甲方``. A mark next to a Han character belongs to
Chinese text, which writes it full width (GB/T 15834), so :func:`full_width` puts
it back and drops that space; marks in Latin or numeric text (``9:00``,
``125,000.00``, ``(beta)``) stay as they are.
"""

from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs and their extensions
_WIDE = str.maketrans(":;,!?()", "：；，！？（）")
# a mark after a Han character (Tesseract may put a space between), and the space after it
_AFTER_HAN = re.compile(rf"(?<=[{HAN}]) ?([:;,!?()]) ?")
# an opening parenthesis before a Han character, and the space before it
_OPENS_HAN = re.compile(rf" ?\( ?(?=[{HAN}])")


def full_width(text: str) -> str:
    """``text`` with the ASCII marks next to Han characters in their full-width forms.

    Examples
    --------
    >>> full_width("第一条 合同标的: 甲方同意 (见附件一) ，自2024年6月30日起; 9:00")
    '第一条 合同标的：甲方同意（见附件一），自2024年6月30日起；9:00'
    >>> full_width("Version 2.0 (beta): 1,000 pages")
    'Version 2.0 (beta): 1,000 pages'
    """
    text = _AFTER_HAN.sub(lambda m: m.group(1).translate(_WIDE), text)
    return _OPENS_HAN.sub("（", text)


def is_chinese(lang: str) -> bool:
    """Whether a Tesseract language list (``"eng+chi_sim"``) reads Chinese."""
    return any(part.startswith(("chi_sim", "chi_tra")) for part in lang.split("+"))
