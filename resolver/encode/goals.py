"""What the operation asks, as clauses: one version per stem, installed
packages stay installed, requested packages get installed (ips-semantics 7.2
step 12). Preferences (newest, least change) are not here: resolver.objective.
"""

from __future__ import annotations

from resolver.encode.context import ImageEncoding


def encode_one_version_per_stem(enc: ImageEncoding) -> None:
    """At most one version of each stem: pairwise ¬Tᵢ ∨ ¬Tⱼ (a counter for many)."""
    for stem in sorted(enc.problem.candidates):
        versions = enc.problem.candidates[stem]
        if len(versions) > 1:
            origin = enc.origin("one-version", f"only one version of {stem} can be installed")
            enc.formula.at_most_one([enc.x(p) for p in versions], origin)


def encode_installed_stay(enc: ImageEncoding) -> None:
    """Every installed stem not being removed stays: T₁ ∨ … ∨ Tₙ (obsolete
    versions included: moving to one removes the package). Requested stems
    are covered by the request clause instead."""
    problem = enc.problem
    for stem, pkg in sorted(problem.installed.items()):
        if stem in problem.removals or stem in problem.request.proposed:
            continue
        lits = [enc.x(p) for p in problem.candidates.get(stem, ())]
        text = f"{pkg.fmri.short()} is installed and must stay installed (at this or another version)"
        enc.add(lits, enc.origin("installed", text, pkg, stems=(stem,)))


def encode_request(enc: ImageEncoding) -> None:
    """Every requested stem gets one of the requested versions: R₁ ∨ … ∨ Rₙ."""
    problem = enc.problem
    for stem in sorted(problem.request.proposed):
        lits = [enc.x(p) for p in problem.candidates.get(stem, ())]
        pattern = problem.request.proposed_by.get(stem, stem)
        text = f"the request: {problem.request.kind} '{pattern}' in image {enc.name}"
        enc.add(lits, enc.origin("request", text, stems=(stem,)))


def encode_goals(enc: ImageEncoding) -> None:
    encode_one_version_per_stem(enc)
    encode_installed_stay(enc)
    encode_request(enc)
