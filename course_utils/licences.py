"""Licence families and a first answer to "may I use this for X?".

The catalog records three sets of terms for each model: the weights' (``licence``), the code's that
runs them (``code_licence``) and the training data's (``data_licence``). This module reads such a
licence string (an SPDX-like id such as ``Apache-2.0``, or a hub id such as ``openrail``, or free text
such as ``"ImageNet-1k: non-commercial research terms"``), puts it into a *family* and answers five
typical questions about a use::

    >>> from course_utils.licences import may_i
    >>> may_i("AGPL-3.0", "SaaS").verdict
    'yes, with conditions'
    >>> may_i("CC-BY-NC-4.0", "commercial product").verdict
    'no'

**Its limits.** It informs, a lawyer decides. It knows families, not the full text of every licence;
it cannot see a model card's extra clauses, a dataset's scraping terms, export rules, or a contract
you signed. Whether the terms of training data bind the trained weights is unsettled law, so it
answers "ask a lawyer" there rather than guess. A string it does not recognise is "unknown", never
guessed: no stated licence means no permission was granted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

#: The uses the course asks about.
USES = ("commercial product", "internal tool", "SaaS", "redistribution", "fine-tune and publish")
USE_HELP = {
    "commercial product": "ship the model inside a product you sell (an app, a device, an installer)",
    "internal tool": "run it inside your organisation, for your own staff, nothing handed out",
    "SaaS": "offer it to outside users over a network (an API, a web app) without handing out the files",
    "redistribution": "give the unchanged weights (or code) to others: a download, a container, a package",
    "fine-tune and publish": "train it further and publish the derived weights",
}

# Verdicts, from best to worst; combining answers keeps the worst.
YES = "yes"
CONDITIONS = "yes, with conditions"
ASK = "ask a lawyer"
NO = "no"
VERDICTS = (YES, CONDITIONS, ASK, NO)

#: Families, in the order the notebook draws them.
FAMILIES = (
    "public domain",
    "permissive",
    "weak copyleft",
    "copyleft",
    "network copyleft",
    "non-commercial",
    "responsible AI (RAIL)",
    "bespoke terms",
    "unknown",
)


@dataclass(frozen=True)
class Licence:
    """A recognised licence: its normalised id, a readable name and its family."""

    id: str
    name: str
    family: str
    text: str = ""  # the string it was read from
    exact: bool = True  # False when the id was only found inside prose ("LibriSpeech (CC BY 4.0, audiobooks)")

    @property
    def known(self) -> bool:
        return self.family != "unknown"


# normalised id -> (readable name, family). Ids are lower case, spaces and underscores as dashes.
_KNOWN: dict[str, tuple[str, str]] = {
    "cc0-1.0": ("Creative Commons Zero 1.0", "public domain"),
    "public-domain": ("public domain", "public domain"),
    "unlicense": ("The Unlicense", "public domain"),
    "mit": ("MIT", "permissive"),
    "expat": ("MIT (Expat)", "permissive"),
    "apache-2.0": ("Apache 2.0", "permissive"),
    "bsd-2-clause": ("BSD 2-clause", "permissive"),
    "bsd-3-clause": ("BSD 3-clause", "permissive"),
    "bsd": ("BSD", "permissive"),
    "isc": ("ISC", "permissive"),
    "zlib": ("zlib", "permissive"),
    "bsl-1.0": ("Boost 1.0", "permissive"),
    "psf-2.0": ("Python Software Foundation", "permissive"),
    "cc-by-2.0": ("Creative Commons Attribution 2.0", "permissive"),
    "cc-by-2.5": ("Creative Commons Attribution 2.5", "permissive"),
    "cc-by-3.0": ("Creative Commons Attribution 3.0", "permissive"),
    "cc-by-4.0": ("Creative Commons Attribution 4.0", "permissive"),
    "odc-by": ("Open Data Commons Attribution", "permissive"),
    "cdla-permissive-2.0": ("Community Data License Agreement, permissive 2.0", "permissive"),
    "lgpl-2.1": ("GNU LGPL 2.1", "weak copyleft"),
    "lgpl-3.0": ("GNU LGPL 3.0", "weak copyleft"),
    "lgpl": ("GNU LGPL", "weak copyleft"),
    "mpl-2.0": ("Mozilla Public License 2.0", "weak copyleft"),
    "epl-2.0": ("Eclipse Public License 2.0", "weak copyleft"),
    "gpl-2.0": ("GNU GPL 2.0", "copyleft"),
    "gpl-3.0": ("GNU GPL 3.0", "copyleft"),
    "gpl": ("GNU GPL", "copyleft"),
    "cc-by-sa-2.0": ("Creative Commons Attribution-ShareAlike 2.0", "copyleft"),
    "cc-by-sa-3.0": ("Creative Commons Attribution-ShareAlike 3.0", "copyleft"),
    "cc-by-sa-4.0": ("Creative Commons Attribution-ShareAlike 4.0", "copyleft"),
    "odbl": ("Open Database License", "copyleft"),
    "agpl-3.0": ("GNU Affero GPL 3.0", "network copyleft"),
    "cc-by-nc-4.0": ("Creative Commons Attribution-NonCommercial 4.0", "non-commercial"),
    "cc-by-nc-3.0": ("Creative Commons Attribution-NonCommercial 3.0", "non-commercial"),
    "cc-by-nc-sa-4.0": ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0", "non-commercial"),
    "cc-by-nc-sa-3.0": ("Creative Commons Attribution-NonCommercial-ShareAlike 3.0", "non-commercial"),
    "cc-by-nc-nd-4.0": ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0", "non-commercial"),
    "non-commercial": ("non-commercial terms (free text)", "non-commercial"),
    "openrail": ("Open RAIL", "responsible AI (RAIL)"),
    "openrail++": ("Open RAIL++-M", "responsible AI (RAIL)"),
    "creativeml-openrail-m": ("CreativeML Open RAIL-M", "responsible AI (RAIL)"),
    "bigscience-openrail-m": ("BigScience Open RAIL-M", "responsible AI (RAIL)"),
    "bigscience-bloom-rail-1.0": ("BigScience BLOOM RAIL 1.0", "responsible AI (RAIL)"),
    "bigcode-openrail-m": ("BigCode Open RAIL-M", "responsible AI (RAIL)"),
    "prior-labs": ("Prior Labs License (Apache 2.0 plus an attribution clause)", "permissive"),
    "gemma": ("Gemma Terms of Use", "bespoke terms"),
    "llama2": ("Llama 2 Community License", "bespoke terms"),
    "llama3": ("Llama 3 Community License", "bespoke terms"),
    "llama3.1": ("Llama 3.1 Community License", "bespoke terms"),
    "llama3.2": ("Llama 3.2 Community License", "bespoke terms"),
    "llama3.3": ("Llama 3.3 Community License", "bespoke terms"),
    "llama4": ("Llama 4 Community License", "bespoke terms"),
}
_ALIASES = {
    "prior-labs-license": "prior-labs",
    "apache-2": "apache-2.0",
    "apache": "apache-2.0",
    "apache-license-2.0": "apache-2.0",
    "apache-2.0-license": "apache-2.0",
    "mit-license": "mit",
    "cc0": "cc0-1.0",
    "public-domain-dedication": "public-domain",
    "agpl-3.0-only": "agpl-3.0",
    "agpl-3.0-or-later": "agpl-3.0",
    "agpl-3": "agpl-3.0",
    "gpl-3.0-only": "gpl-3.0",
    "gpl-3.0-or-later": "gpl-3.0",
    "gpl-3+": "gpl-3.0",
    "gpl-2.0-only": "gpl-2.0",
    "gpl-2.0-or-later": "gpl-2.0",
    "lgpl-3+": "lgpl-3.0",
    "lgpl-2.1-or-later": "lgpl-2.1",
    "lgpl-3.0-or-later": "lgpl-3.0",
    "gemma-terms-of-use": "gemma",
    "llama-2": "llama2",
    "llama-3": "llama3",
}
# Text that says plainly that no licence is known.
_NONE = re.compile(
    r"^\s*(|none|none stated|not stated|no licen[cs]e.*|unknown|not recorded|other|n/?a)\s*(\(|;|,|$)", re.I
)
# Free-text hints, looked for only when the leading id is not recognised.
_NC_WORDS = re.compile(r"non[- ]?commercial|research[- ]only|research purposes only|\bNC\b", re.I)
# Words that, after a licence id, may change its terms ("MIT, except military use"): the id alone no longer decides.
_CLAUSE = re.compile(r"\b(except|excluding|but|not|no|prohibit\w*|only|without|non[- ]?commercial|research)\b", re.I)
# Training data recorded as none at all but synthetic ("none: pre-trained only on synthetic tables ...").
_SYNTHETIC_ONLY = re.compile(r"^\s*none\b[^.;]*\bsynthetic\b", re.I)
# Bare words too vague to count when they appear inside prose (they still count as the whole leading id).
_VAGUE = {"bsd", "gpl", "lgpl", "apache", "other", "cc0", "gemma"}


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def _lookup(token: str) -> str | None:
    token = _norm(token)
    token = _ALIASES.get(token, token)
    return token if token in _KNOWN else None


def identify(text: str | None) -> Licence:
    """Read a licence string and return what it is; anything not recognised is family "unknown".

    The leading id decides (``"AGPL-3.0 (shipped in the wheel)"`` is AGPL-3.0). Text that starts by saying no
    licence is stated stays unknown even when it names another licence later (``"none stated; base model is MIT"``).
    Otherwise ids and the words "non-commercial" / "research only" are looked for anywhere in the text.
    """
    raw = "" if text is None else str(text)
    if _NONE.match(raw):
        return Licence("unknown", "no licence stated" if raw.strip() else "not recorded", "unknown", raw)
    lead = re.split(r"[(;:,]| - | \u2014 ", raw, maxsplit=1)[0]
    # "CC BY-NC-SA 4.0" and "Creative Commons BY 4.0" spellings
    candidates = [lead, lead.replace("creative commons", "cc").replace("Creative Commons", "cc")]
    if re.fullmatch(r"\s*public domain.*", lead, re.I):
        return Licence("public-domain", _KNOWN["public-domain"][0], "public domain", raw)
    for cand in candidates:
        found = _lookup(cand)
        if found and not _CLAUSE.search(raw[len(lead) :]):
            return Licence(found, *_KNOWN[found], text=raw)
    # ids written inside free text ("LAION-2B: CC-BY-4.0 metadata"); with several, the most restrictive counts
    spaced = _norm(raw).replace("creative-commons", "cc")
    found_ids = [
        known
        for known in _KNOWN
        if known not in _VAGUE and re.search(rf"(?<![a-z0-9]){re.escape(known)}(?![a-z0-9+])", spaced)
    ]
    found_ids += [
        alias_to
        for alias, alias_to in _ALIASES.items()
        if alias not in _VAGUE
        and alias_to not in found_ids
        and re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9+])", spaced)
    ]
    if _NC_WORDS.search(raw):
        found_ids.append("non-commercial")
    if found_ids:
        pick = max(found_ids, key=lambda i: FAMILIES.index(_KNOWN[i][1]))
        return Licence(pick, *_KNOWN[pick], text=raw, exact=False)
    return Licence("unknown", "not recognised", "unknown", raw)


def family(text: str | None) -> str:
    """The family of a licence string ("permissive", "non-commercial", ..., or "unknown")."""
    return identify(text).family


@dataclass(frozen=True)
class Answer:
    """A verdict with the reasons behind it (one line each)."""

    use: str
    verdict: str
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.use}: {self.verdict}. " + " ".join(self.reasons)


def worst(verdicts: Iterable[str]) -> str:
    """The most restrictive of several verdicts (``yes`` < ``yes, with conditions`` < ``ask a lawyer`` < ``no``)."""
    ranks = [VERDICTS.index(v) for v in verdicts]
    return VERDICTS[max(ranks)] if ranks else ASK


def _read_it_yourself(lic: Licence) -> str:
    shown = " ".join(lic.text.split())
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    if lic.family == "unknown":
        return (
            f"read it yourself: {shown!r} is not a licence identifier the course knows, so nothing can be "
            "granted on its word; read the terms whole, or ask the authors for a standard (SPDX) identifier."
        )
    return (
        f"read it yourself: {shown!r} is free text, not a licence identifier. It names {lic.name}, but the "
        "words around a name can add conditions or take rights away (an attribution clause, a field-of-use ban); "
        "read the whole text, or ask the authors for a plain identifier such as 'Apache-2.0'."
    )


def _family_answer(lic: Licence, use: str) -> tuple[str, str]:
    """(verdict, reason) for one licence and one use; text that is not an identifier is never "yes"."""
    verdict, reason = _family_rule(lic, use)
    if not lic.exact and verdict in (YES, CONDITIONS):
        return ASK, _read_it_yourself(lic)
    if lic.name == "not recognised":
        return ASK, _read_it_yourself(lic)
    if not lic.exact:
        return verdict, reason + " (Read from free text: " + _read_it_yourself(lic).split(": ", 1)[1] + ")"
    return verdict, reason


def _family_rule(lic: Licence, use: str) -> tuple[str, str]:
    """(verdict, reason) for one licence and one use, from its family."""
    fam, name = lic.family, lic.name
    if fam == "public domain":
        return YES, f"{name}: no conditions."
    if lic.id == "prior-labs":
        return CONDITIONS, (
            f"{name}: as Apache 2.0, plus an attribution clause (model card) that may reach products and "
            "services too: read what it asks for this use and give that credit."
        )
    if fam == "permissive":
        notice = "keep the copyright and licence notice"
        if lic.id == "apache-2.0":
            notice = (
                "keep the licence, the NOTICE file and a note of what you changed (it also grants a patent licence)"
            )
        elif lic.id.startswith("cc-by") or lic.id == "odc-by":
            notice = "credit the authors and link the licence"
        if use in ("internal tool", "SaaS"):
            return YES, f"{name} is permissive: running it, even for paying users, needs nothing more."
        return CONDITIONS, f"{name} is permissive: allowed; {notice} in what you hand out."
    if fam == "weak copyleft":
        if use in ("internal tool", "SaaS"):
            return YES, f"{name}: obligations start when you distribute; running it does not."
        return CONDITIONS, (
            f"{name}: allowed; changes to the covered files stay under {name} with their source, "
            "and users must be able to replace that part; the rest of your product may keep its own terms."
        )
    if fam == "copyleft":
        if use == "internal tool":
            return YES, f"{name}: private use inside one organisation is not distribution."
        if use == "SaaS":
            return YES, f"{name}: serving over a network is not distribution under the GPL, so no source is owed."
        return CONDITIONS, (
            f"{name}: allowed only if the whole derived work is handed out under {name}, with its source; "
            "this usually rules out a closed product."
        )
    if fam == "network copyleft":
        if use == "internal tool":
            return CONDITIONS, (
                f"{name}: unmodified internal use is fine; if you modify it, every user who reaches it over a "
                "network (staff included) must be offered the modified source."
            )
        if use == "SaaS":
            return CONDITIONS, (
                f"{name} section 13: users who interact with it over a network must be offered the complete "
                "source of your version, under AGPL; or buy a commercial licence where the owner sells one."
            )
        return CONDITIONS, (
            f"{name}: the whole combined work goes out under AGPL with its source (or buy a commercial licence "
            "where the owner sells one); a closed product is not possible under AGPL itself."
        )
    if fam == "non-commercial":
        if use in ("commercial product", "SaaS"):
            return NO, f"{name}: commercial use is excluded."
        if use == "internal tool":
            return NO, (
                f"{name}: inside a company the use is usually 'directed towards commercial advantage', which the "
                "licence excludes; a university or hobby project may qualify."
            )
        if "nd" in lic.id.split("-") and use == "fine-tune and publish":
            return NO, f"{name}: no derivatives may be shared."
        share = " under the same licence" if "sa" in lic.id.split("-") else ""
        return CONDITIONS, f"{name}: only non-commercially, with credit{share}."
    if fam == "responsible AI (RAIL)":
        base = (
            f"{name}: commercial use is allowed, but its use restrictions (harms the licence lists) bind you and "
            "must be passed on"
        )
        if use == "internal tool":
            return CONDITIONS, base + " to anyone in your organisation who uses it."
        if use == "SaaS":
            return CONDITIONS, base + " to your users, in your terms of service."
        if use == "fine-tune and publish":
            return CONDITIONS, base + " with the derived weights, which must carry the same restrictions."
        return CONDITIONS, base + " with a copy of the licence."
    if fam == "bespoke terms":
        extra = {
            "gemma": "Google's prohibited-use policy applies and must be passed on; Google may restrict use that breaks it",
            "llama2": "products with over 700 million monthly users need Meta's permission; an acceptable-use policy applies",
        }.get(lic.id, "an acceptable-use policy applies; derived models must credit the maker and keep its terms")
        return ASK, f"{name} is not an open-source licence: read it whole; {extra}."
    return ASK, (
        "no licence recognised: without a licence nothing is granted (all rights stay with the authors); "
        "find the terms or ask the authors."
    )


def may_i(licence: str | None, use: str) -> Answer:
    """Answer "may I use something under ``licence`` for ``use``?" with a verdict and its reason.

    ``use`` is one of :data:`USES`. This reads a single licence; :func:`may_i_use` combines the weights', code's
    and data's terms of a catalog entry.
    """
    if use not in USES:
        raise ValueError(f"use {use!r} is not one of {USES}")
    verdict, reason = _family_answer(identify(licence), use)
    return Answer(use, verdict, (reason,))


def _data_answer(lic: Licence, use: str) -> tuple[str, str]:
    """Training data's terms: whether they reach the weights is unsettled, so restrictive terms mean 'ask'."""
    if _SYNTHETIC_ONLY.match(lic.text):
        return YES, "no third-party training data: pre-trained on synthetic data only."
    if lic.family in ("public domain", "permissive") and lic.exact:
        return YES, f"training data under {lic.name}: no restriction reaches the model."
    if lic.family in ("public domain", "permissive"):
        return ASK, (
            f"training data described in prose (it names {lic.name}, perhaps for one part only): read the terms of "
            "every part before relying on it."
        )
    if lic.family == "unknown":
        return ASK, "training data terms not recorded: unknown, ask before relying on it."
    verdict, reason = _family_answer(lic, use)
    if verdict in (YES, CONDITIONS) and use in ("internal tool", "SaaS"):
        return verdict, f"training data under {lic.name}: {reason}"
    if verdict == YES:
        return YES, f"training data under {lic.name}."
    return ASK, (
        f"trained on data under {lic.name}; whether those terms bind the trained weights is unsettled: ask a lawyer."
    )


def may_i_use(weights: str | None, use: str, code: str | None = None, data: str | None = None) -> Answer:
    """Combine the three parts: the weights' licence, the code's and the training data's terms (worst wins).

    A part given as ``None`` or ``""`` is "not recorded" and makes the answer at best "ask a lawyer" for the
    weights; for code and data it adds a reason and the same caution.
    """
    if use not in USES:
        raise ValueError(f"use {use!r} is not one of {USES}")
    parts = []
    w_verdict, w_reason = _family_answer(identify(weights), use)
    parts.append((w_verdict, "weights: " + w_reason))
    c_lic = identify(code)
    if c_lic.known:
        c_verdict, c_reason = _family_answer(c_lic, use)
        parts.append((c_verdict, "code: " + c_reason))
    else:
        parts.append((ASK, "code: licence not recorded: unknown."))
    d_verdict, d_reason = _data_answer(identify(data), use)
    parts.append((d_verdict, "data: " + d_reason))
    return Answer(use, worst(v for v, _ in parts), tuple(r for _, r in parts))


@dataclass(frozen=True)
class AuditRow:
    """One thing the course uses, with its three sets of terms read as families."""

    kind: str  # "model", "image" or "data set"
    key: str
    name: str
    weights: str  # the licence strings as recorded; "unknown" where none is
    code: str
    data: str
    notebooks: tuple[str, ...]

    def families(self) -> dict[str, str]:
        return {
            "weights": "not applicable" if self.weights == "-" else family(self.weights),
            "code": "not applicable" if self.code == "-" else family(self.code),
            "data": family(self.data),
        }

    def answer(self, use: str) -> Answer:
        """The combined verdict for ``use``; for an image or data set only the data's terms count."""
        if self.kind == "model":
            return may_i_use(self.weights, use, self.code, self.data)
        verdict, reason = _family_answer(identify(self.data), use)
        return Answer(use, verdict, ("data: " + reason,))


def _recorded(text: str) -> str:
    return text.strip() if text and text.strip() else "unknown"


# Python packages that run a hub library's models (the catalog's ``library`` -> its distribution on PyPI).
_LIBRARY_DIST = {
    "transformers": "transformers",
    "sentence-transformers": "sentence-transformers",
    "timm": "timm",
    "open_clip": "open_clip_torch",
    "torchvision": "torchvision",
    "ultralytics": "ultralytics",
}
_CLASSIFIERS = {
    "MIT License": "MIT",
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD",
    "GNU Affero General Public License v3": "AGPL-3.0",
    "GNU General Public License v3": "GPL-3.0",
    "GNU General Public License v2": "GPL-2.0",
    "GNU Lesser General Public License v3": "LGPL-3.0",
    "Mozilla Public License 2.0": "MPL-2.0",
}


def package_licence(distribution: str) -> str:
    """The licence an installed Python package declares in its metadata ("" when not installed or not declared)."""
    import importlib.metadata as md

    try:
        meta = md.metadata(distribution)
    except md.PackageNotFoundError:
        return ""
    text = (meta["License-Expression"] or "").strip()  # a missing field reads as None
    if not text:
        first_line = (meta["License"] or "").strip().splitlines()
        text = first_line[0].strip() if first_line and len(first_line[0]) <= 60 else ""
    if not text or not identify(text).known:
        for classifier in meta.get_all("Classifier") or []:
            for words, spdx in _CLASSIFIERS.items():
                if classifier.startswith("License ::") and words in classifier:
                    return spdx
    return text


def code_licence_of(entry) -> str:  # type: ignore[no-untyped-def]
    """The code's licence for a catalog model: the catalog's ``code_licence``, else the running package's metadata.

    A value read from metadata says so ("Apache-2.0 (package metadata: timm)"); "" when neither is known.
    """
    if entry.code_licence:
        return entry.code_licence
    dist = _LIBRARY_DIST.get(entry.library, "")
    if not dist and entry.installed is not None and entry.installed.python:
        import importlib.metadata as md

        top = entry.installed.python.split(".")[0]
        dist = (md.packages_distributions().get(top) or [""])[0]
    found = package_licence(dist) if dist else ""
    return f"{found} (package metadata: {dist})" if found else ""


def audit() -> list[AuditRow]:
    """Every model, test image and data set in the course catalog (fragments included), terms kept apart.

    Reads the catalog at call time, so entries added later are audited too. A model's code licence comes from the
    catalog, else from the metadata of the installed package that runs it (marked so); a part that is recorded
    nowhere shows as "unknown", never a guess.
    """
    from .catalog import load_catalog, load_datasets, load_images

    rows = [
        AuditRow(
            "model",
            e.key,
            e.id,
            _recorded(e.licence),
            _recorded(code_licence_of(e)),
            _recorded(e.data_licence),
            e.notebooks,
        )
        for e in load_catalog().values()
    ]
    rows += [
        AuditRow("image", k, im.description, "-", "-", _recorded(im.licence), im.notebooks)
        for k, im in load_images().items()
    ]
    rows += [
        AuditRow("data set", k, d.name, "-", "-", _recorded(d.licence), d.notebooks) for k, d in load_datasets().items()
    ]
    return rows
