"""The one rule every image of a class shares: one version per stem.

What an operation asks of an image (installed packages stay, requested
packages get installed, exclusions) is per image: resolver.encode.assume.
Preferences (newest, least change) are in resolver.objective.
"""

from __future__ import annotations

from resolver.encode.context import ClassEncoding
from resolver.reasons import Rule


def encode_one_version_per_stem(enc: ClassEncoding) -> None:
    """At most one version of each stem: pairwise ¬Tᵢ ∨ ¬Tⱼ (a counter for many)."""
    for stem in sorted(enc.shared.candidates):
        versions = enc.shared.candidates[stem]
        if len(versions) > 1:
            origin = enc.origin(Rule.ONE_VERSION, stems=(stem,))
            enc.formula.at_most_one([enc.x(p) for p in versions], origin)
