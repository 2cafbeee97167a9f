"""Hypothesis strategies: text shaped like what people paste, built from real fragments."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.corpus import load


def _fragments() -> list[str]:
    words: set[str] = set()
    for record in load("*_dev.jsonl"):
        tokens = record["text"].split()
        words.update(tokens)
        words.update(" ".join(tokens[i : i + 4]) for i in range(0, len(tokens), 3))
    return sorted(words)


FRAGMENTS = _fragments()

#: Mixtures of real error and chat fragments, punctuation and arbitrary unicode.
pastes = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.sampled_from(["{", "}", "[", "]", '"', "'", ":", ",", "\\", "\n", "`", "```", "&lt;", "&gt;", "<", ">",
                         "“", "”", "’", "\\\"", "\\n", "***", "403", "401", "429", "488", "ß", "İ", "K"]),
        st.text(max_size=12),
    ),
    max_size=40,
).map(" ".join)
