"""Font sizes that keep a translated word on one line of its button (no Kivy here).

Kivy wraps text only at spaces, so a long word (Синхронизировать) or a run of CJK characters
(one wide "word") overflows a narrow button. `fitted_font_size` shrinks the font until the
longest word fits, estimating a bold Latin or Cyrillic letter at ~0.56 em and a CJK one at 1 em.
"""

from __future__ import annotations

import unicodedata

#: Average advance of a letter of a bold Latin/Cyrillic face, in em.
NARROW_EM = 0.56


def word_em(word: str) -> float:
    """About how wide `word` is, in em."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else NARROW_EM for c in word)


def fitted_font_size(text: str, width: float, size: float) -> float:
    """`size`, or smaller so the longest word of `text` fits in `width` pixels."""
    longest = max((word_em(word) for word in text.split()), default=0.0)
    return size if longest == 0 else min(size, width / longest)
