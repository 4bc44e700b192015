#!/usr/bin/env python3
"""The "peers" side of the fieldnotes benchmark: what a researcher would otherwise use.

Each subcommand prints ONE JSON object on stdout; progress and warnings go to stderr.

    peers.py fts5-index      CORPUS DB
    peers.py fts5-query      DB QUERIES
    peers.py tantivy-index   CORPUS DIR
    peers.py tantivy-query   DIR QUERIES
    peers.py code-re         CORPUS CODEBOOK [--max-mb N] [--csv OUT]
    peers.py code-aho        CORPUS CODEBOOK [--max-mb N] [--csv OUT]
    peers.py crosstab-pandas CSV
    peers.py crosstab-polars CSV

CORPUS is a generated project: CORPUS/notes/<site>/<name>.md, each with `---` front matter
(site, date, kind, author). Passages are cut as fieldnotes cuts them (crates/corpus, document.rs):
blank lines, `# heading` lines and horizontal rules end a passage; in transcripts (front matter
`kind` interview, transcript or focus-group, or `transcript: true`) a line that starts with a
speaker label (`Name: `) starts a passage whose text is what follows the label. A passage id is
`<path relative to CORPUS>#<1-based ordinal>`, e.g. `notes/fife/000012.md#3` (fieldnotes prints
keys, and takes this form as input; the truth files use it too).

MB means 10^6 bytes throughout (as the corpus generator counts). Peak RSS is
getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux) / 1024. Percentiles over per-query medians use
the same nearest-rank rule as `fieldnotes-bench query`: sorted[round((n - 1) * p)].

Needs Python >= 3.11 (tomllib) and, per subcommand, the packages in requirements.txt beside this
file (sqlite3 with FTS5 comes with Python).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterator

MB = 1_000_000
TRANSCRIPT_KINDS = ("interview", "transcript", "focus-group")
TOP_K = 20
REPEATS = 5


def log(*args: object) -> None:
    print("peers:", *args, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def emit(result: dict) -> None:
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# Corpus: walking notes and cutting passages


def _is_fence(line: str) -> bool:
    return line.rstrip() == "---"


def _is_heading(line: str) -> bool:
    t = line.rstrip()
    n = len(t) - len(t.lstrip("#"))
    return 1 <= n <= 6 and (len(t) == n or t[n] in " \t")


def _is_rule(line: str) -> bool:
    t = line.strip()
    return len(t) >= 3 and (set(t) == {"-"} or set(t) == {"*"} or set(t) == {"_"})


def speaker_label_len(line: str) -> int | None:
    """Length of a `Name: ` label at the start of `line` (colon and following blanks included).

    As fieldnotes: the label is what precedes the first colon, the colon is followed by a blank
    or the end of the line, the label starts with a letter, is at most 100 characters and has at
    most eight words outside brackets.
    """
    colon = line.find(":")
    if colon <= 0:
        return None
    label, after = line[:colon], line[colon + 1 :]
    if after and after[0] not in " \t\r\n":
        return None
    trimmed = label.strip()
    if not trimmed or len(trimmed) > 100 or len(trimmed) != len(label.rstrip()):
        return None
    if not trimmed[0].isalpha():
        return None
    depth = words = 0
    in_word = False
    for c in trimmed:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        w = not c.isspace()
        if w and not in_word and depth == 0:
            words += 1
        in_word = w
    if depth != 0 or words > 8:
        return None
    return colon + 1 + (len(after) - len(after.lstrip(" \t")))


def parse_front_matter(lines: list[str]) -> tuple[dict[str, str], int] | None:
    """(attributes, index of the first body line); None when the front matter is never closed."""
    if not lines or not _is_fence(lines[0]):
        return {}, 0
    attrs: dict[str, str] = {}
    for i in range(1, len(lines)):
        line = lines[i]
        if _is_fence(line):
            return attrs, i + 1
        s = line.strip()
        if not s or s.startswith("#") or ":" not in s:
            continue
        key, _, value = s.partition(":")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        attrs[key.strip()] = value
    return None


def split_passages(body: list[str], turns: bool) -> list[str]:
    """Cuts body lines (without their `\\n`) into passage texts."""
    out: list[str] = []
    cur: list[str] = []

    def close() -> None:
        if cur:
            t = "\n".join(cur).strip()
            if t:
                out.append(t)
            cur.clear()

    for raw in body:
        content = raw.rstrip("\r")
        if not content.strip() or _is_rule(content):
            close()
            continue
        if _is_heading(content):
            close()
            continue
        if turns:
            n = speaker_label_len(content)
            if n is not None:
                close()
                cur.append(raw[n:])
                continue
        cur.append(raw)
    close()
    return out


def note_files(corpus: Path) -> list[Path]:
    notes = corpus / "notes"
    if not notes.is_dir():
        sys.exit(f"peers: no notes folder in `{corpus}`")
    files = [
        p
        for p in notes.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus).parts)
    ]
    # Component-wise, as Rust sorts paths.
    files.sort(key=lambda p: p.relative_to(corpus).parts)
    return files


class Corpus:
    """Walks CORPUS/notes/**/*.md in order and yields (passage_id, site, text).

    Counts files, bytes (UTF-8 bytes of the note files read, front matter included), passages
    and passage bytes (UTF-8 bytes of the passage texts) as it goes.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.files = 0
        self.bytes = 0
        self.passages = 0
        self.passage_bytes = 0
        self.skipped = 0

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        return self.passages_iter()

    def passages_iter(self, max_bytes: int | None = None) -> Iterator[tuple[str, str, str]]:
        """Yields passages; with max_bytes, stops once that many bytes of passage text were given."""
        for path in note_files(self.root):
            data = path.read_bytes()
            self.files += 1
            self.bytes += len(data)
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            rel = "/".join(path.relative_to(self.root).parts)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                log(f"skipping {rel}: not UTF-8 ({e})")
                self.skipped += 1
                continue
            lines = text.split("\n")
            fm = parse_front_matter(lines)
            if fm is None:
                log(f"skipping {rel}: front matter is never closed")
                self.skipped += 1
                continue
            attrs, body_start = fm
            site = attrs.get("site") or path.parent.name
            kind = attrs.get("kind", "").lower()
            turns = kind in TRANSCRIPT_KINDS or attrs.get("transcript", "").lower() == "true"
            for ordinal, ptext in enumerate(split_passages(lines[body_start:], turns), start=1):
                self.passages += 1
                self.passage_bytes += len(ptext.encode("utf-8"))
                yield f"{rel}#{ordinal}", site, ptext
                if max_bytes is not None and self.passage_bytes >= max_bytes:
                    return

    def stats(self) -> dict:
        d = {"files": self.files, "passages": self.passages, "bytes": self.bytes, "passage_bytes": self.passage_bytes}
        if self.skipped:
            d["skipped_files"] = self.skipped
        return d


# --------------------------------------------------------------------------------------------
# Query timing shared by the two search engines


def read_queries(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        qs = [line.strip() for line in f]
    qs = [q for q in qs if q]
    if not qs:
        sys.exit(f"peers: no queries in `{path}`")
    return qs


def pct(sorted_values: list[float], p: float) -> float:
    """Nearest rank, as fieldnotes-bench: sorted[round((n - 1) * p)]."""
    return sorted_values[int(round((len(sorted_values) - 1) * p))]


def time_queries(queries: list[str], run, repeats: int) -> tuple[list[float], float]:
    """Warm up once over all queries, then time each `repeats` times; per-query medians in ms."""
    t0 = time.perf_counter()
    for q in queries:
        run(q)
    warmup_s = time.perf_counter() - t0
    medians = []
    for q in queries:
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            run(q)
            times.append((time.perf_counter() - t) * 1000.0)
        medians.append(statistics.median(times))
    return medians, warmup_s


def query_summary(queries: list[str], medians: list[float], hits: list[int], warmup_s: float, repeats: int, per_query: bool) -> dict:
    s = sorted(medians)
    d = {
        "queries": len(queries),
        "repeats": repeats,
        "top_k": TOP_K,
        "p50_ms": round(pct(s, 0.50), 4),
        "p99_ms": round(pct(s, 0.99), 4),
        "mean_ms": round(statistics.fmean(s), 4),
        "max_ms": round(s[-1], 4),
        "warmup_s": round(warmup_s, 4),
        "hits_total": sum(hits),
    }
    if per_query:
        d["per_query"] = [{"q": q, "median_ms": round(m, 4), "hits": h} for q, m, h in zip(queries, medians, hits)]
    return d


# --------------------------------------------------------------------------------------------
# 1, 2. SQLite FTS5


def fts5_match(q: str) -> str:
    """The FTS5 form of a query line: a quoted phrase as is, a bare word quoted (so that words
    such as `near`, `and` or ones with hyphens are not read as FTS5 syntax)."""
    if len(q) >= 2 and q[0] == '"' and q[-1] == '"':
        return q
    return '"' + q.replace('"', '""') + '"'


def cmd_fts5_index(a: argparse.Namespace) -> None:
    db = Path(a.db)
    for suffix in ("", "-journal", "-wal", "-shm"):
        p = Path(str(db) + suffix)
        if p.exists():
            p.unlink()
    corpus = Corpus(a.corpus)
    log(f"fts5-index: {a.corpus} -> {db}")
    t0 = time.perf_counter()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, site UNINDEXED, text, tokenize='porter unicode61')")
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(id, site, text) VALUES (?, ?, ?)", corpus)
    con.execute("COMMIT")
    index_s = time.perf_counter() - t0
    con.close()
    emit(
        {
            "tool": "sqlite-fts5",
            "op": "index",
            "index_s": round(index_s, 4),
            **corpus.stats(),
            "mb_per_s": round(corpus.bytes / MB / index_s, 3) if index_s > 0 else None,
            "index_bytes": db.stat().st_size,
            "sqlite_version": sqlite3.sqlite_version,
        }
    )


def cmd_fts5_query(a: argparse.Namespace) -> None:
    if not Path(a.db).is_file():
        sys.exit(f"peers: no database `{a.db}`; run fts5-index first")
    queries = read_queries(a.queries)
    con = sqlite3.connect(f"file:{Path(a.db).resolve()}?mode=ro", uri=True)
    passages = con.execute("SELECT count(*) FROM t").fetchone()[0]
    search_sql = f"SELECT id, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT {TOP_K}"
    count_sql = "SELECT count(*) FROM t WHERE t MATCH ?"
    match = {q: fts5_match(q) for q in queries}

    def run(q: str) -> list:
        return con.execute(search_sql, (match[q],)).fetchall()

    hits = [con.execute(count_sql, (match[q],)).fetchone()[0] for q in queries]
    log(f"fts5-query: {len(queries)} queries x {a.repeat}")
    medians, warmup_s = time_queries(queries, run, a.repeat)
    con.close()
    emit(
        {
            "tool": "sqlite-fts5",
            "op": "query",
            **query_summary(queries, medians, hits, warmup_s, a.repeat, a.per_query),
            "passages": passages,
            "bytes": Path(a.db).stat().st_size,
            "sqlite_version": sqlite3.sqlite_version,
        }
    )


# --------------------------------------------------------------------------------------------
# 3. tantivy (Python bindings)


def _tantivy():
    try:
        import tantivy
    except ImportError:
        sys.exit("peers: the `tantivy` package is missing: pip install -r requirements.txt")
    return tantivy


def tantivy_schema(tantivy):
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("site", tokenizer_name="raw")
    sb.add_text_field("text", stored=True, tokenizer_name="en_stem", index_option="position")
    return sb.build()


def _dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def cmd_tantivy_index(a: argparse.Namespace) -> None:
    tantivy = _tantivy()
    out = Path(a.dir)
    if out.exists() and any(out.iterdir()):
        if not (out / "meta.json").exists():
            sys.exit(f"peers: `{out}` is not empty and holds no tantivy index; refusing to clear it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(a.corpus)
    heap = a.heap_mb << 20
    log(f"tantivy-index: {a.corpus} -> {out} (heap {a.heap_mb} MiB, {a.threads} threads)")
    t0 = time.perf_counter()
    index = tantivy.Index(tantivy_schema(tantivy), path=str(out))
    writer = index.writer(heap, a.threads)
    Document = tantivy.Document
    for pid, site, text in corpus:
        writer.add_document(Document(id=pid, site=site, text=text))
    writer.commit()
    index_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    writer.wait_merging_threads()
    merge_wait_s = time.perf_counter() - t1
    index.reload()
    emit(
        {
            "tool": "tantivy-py",
            "op": "index",
            "index_s": round(index_s, 4),
            "merge_wait_s": round(merge_wait_s, 4),
            **corpus.stats(),
            "mb_per_s": round(corpus.bytes / MB / index_s, 3) if index_s > 0 else None,
            "indexed_docs": index.searcher().num_docs,
            "index_bytes": _dir_bytes(out),
            "heap_mb": a.heap_mb,
            "threads": a.threads,
            "tantivy_py_version": getattr(tantivy, "__version__", None),
        }
    )


def cmd_tantivy_query(a: argparse.Namespace) -> None:
    tantivy = _tantivy()
    d = Path(a.dir)
    if not (d / "meta.json").exists():
        sys.exit(f"peers: no tantivy index in `{d}`; run tantivy-index first")
    queries = read_queries(a.queries)
    index = tantivy.Index.open(str(d))
    index.reload()
    searcher = index.searcher()
    parsed = {q: index.parse_query(q, ["text"]) for q in queries}

    def run(q: str) -> list:
        # Top 20 by score, no counting; fetch each hit's stored id, as the FTS5 side fetches its id
        # column (and fieldnotes returns passage ids).
        hits = searcher.search(parsed[q], TOP_K, count=False).hits
        return [(searcher.doc(addr).get_first("id"), score) for score, addr in hits]

    hits = [searcher.search(parsed[q], 1, count=True).count for q in queries]
    log(f"tantivy-query: {len(queries)} queries x {a.repeat}")
    medians, warmup_s = time_queries(queries, run, a.repeat)
    emit(
        {
            "tool": "tantivy-py",
            "op": "query",
            **query_summary(queries, medians, hits, warmup_s, a.repeat, a.per_query),
            "passages": searcher.num_docs,
            "bytes": _dir_bytes(d),
            "tantivy_py_version": getattr(tantivy, "__version__", None),
        }
    )


# --------------------------------------------------------------------------------------------
# 4, 5. Keyword coding as a researcher would script it


def load_codebook(path: str) -> list[dict]:
    with open(path, "rb") as f:
        cb = tomllib.load(f)
    codes = []
    for c in cb.get("code", []):
        rules = c.get("rules", {})
        codes.append({"id": c["id"], "keywords": list(rules.get("keywords", [])), "regex": list(rules.get("regex", []))})
    if not codes:
        sys.exit(f"peers: no [[code]] tables in `{path}`")
    return codes


def load_passages(corpus: Corpus, max_mb: float | None) -> tuple[list[tuple[str, str, str]], float]:
    max_bytes = int(max_mb * MB) if max_mb is not None else None
    t0 = time.perf_counter()
    ps = list(corpus.passages_iter(max_bytes))
    return ps, time.perf_counter() - t0


def write_csv(path: str, rows: list[tuple[str, str, str]]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["passage", "site", "code"])
        w.writerows(rows)


def coding_result(tool: str, corpus: Corpus, passages, assigned: list[set[str]], codes: list[dict], load_s: float, code_s: float, a, extra: dict) -> dict:
    counts = {c["id"]: 0 for c in codes}
    coded = 0
    for s in assigned:
        if s:
            coded += 1
            for cid in s:
                counts[cid] += 1
    n = len(passages)
    mb = corpus.passage_bytes / MB
    if a.csv:
        write_csv(a.csv, [(pid, site, cid) for (pid, site, _), s in zip(passages, assigned) for cid in sorted(s)])
    return {
        "tool": tool,
        "op": "code",
        **extra,
        "code_s": round(code_s, 4),
        "load_s": round(load_s, 4),
        "paragraphs_per_s": round(n / code_s, 1) if code_s > 0 else None,
        "mb_per_s": round(mb / code_s, 4) if code_s > 0 else None,
        "mb_per_s_with_reading": round(mb / (code_s + load_s), 4) if code_s + load_s > 0 else None,
        "mb_done": round(mb, 3),
        "max_mb": a.max_mb,
        **corpus.stats(),
        "passages_coded": coded,
        "code_counts": counts,
    }


def keyword_pattern(keywords: list[str]) -> str:
    alts = [r"\s+".join(re.escape(part) for part in kw.split()) for kw in keywords if kw.strip()]
    return r"\b(?:" + "|".join(alts) + r")\b"


def cmd_code_re(a: argparse.Namespace) -> None:
    codes = load_codebook(a.codebook)
    compiled = []
    bad = 0
    for c in codes:
        kw = re.compile(keyword_pattern(c["keywords"]), re.IGNORECASE) if c["keywords"] else None
        rx = []
        for r in c["regex"]:
            try:
                rx.append(re.compile(r, re.IGNORECASE))
            except re.error as e:
                bad += 1
                log(f"code {c['id']}: regex not valid in Python, skipped: {r!r} ({e})")
        compiled.append((c["id"], kw, rx))
    corpus = Corpus(a.corpus)
    passages, load_s = load_passages(corpus, a.max_mb)
    log(f"code-re: {len(passages)} passages, {len(codes)} codes")
    assigned: list[set[str]] = []
    t0 = time.perf_counter()
    for _pid, _site, text in passages:
        got = set()
        for cid, kw, rx in compiled:
            if kw is not None and kw.search(text):
                got.add(cid)
                continue
            for r in rx:
                if r.search(text):
                    got.add(cid)
                    break
        assigned.append(got)
    code_s = time.perf_counter() - t0
    extra = {"rules": "keywords (literal, case-insensitive, whole words) + regex; no stemming, no excludes"}
    if bad:
        extra["regex_skipped"] = bad
    emit(coding_result("python-re", corpus, passages, assigned, codes, load_s, code_s, a, extra))


def cmd_code_aho(a: argparse.Namespace) -> None:
    try:
        import ahocorasick
    except ImportError:
        sys.exit("peers: the `pyahocorasick` package is missing: pip install -r requirements.txt")
    codes = load_codebook(a.codebook)
    by_kw: dict[str, set[str]] = {}
    for c in codes:
        for kw in c["keywords"]:
            k = " ".join(kw.lower().split())
            if k:
                by_kw.setdefault(k, set()).add(c["id"])
    auto = ahocorasick.Automaton()
    for k, ids in by_kw.items():
        auto.add_word(k, (len(k), frozenset(ids)))
    auto.make_automaton()
    corpus = Corpus(a.corpus)
    passages, load_s = load_passages(corpus, a.max_mb)
    log(f"code-aho: {len(passages)} passages, {len(by_kw)} keywords")
    assigned: list[set[str]] = []
    t0 = time.perf_counter()
    for _pid, _site, text in passages:
        s = text.lower()
        if "\n" in s:  # a paragraph wrapped over lines: let "away day" match across the break
            s = s.replace("\n", " ")
        n = len(s)
        got = set()
        for end, (klen, ids) in auto.iter(s):
            start = end - klen + 1
            if (start == 0 or not s[start - 1].isalnum()) and (end + 1 == n or not s[end + 1].isalnum()):
                got |= ids
        assigned.append(got)
    code_s = time.perf_counter() - t0
    extra = {"rules": "keywords only (literal, lower-cased, whole words); no regex, no stemming, no excludes", "keywords": len(by_kw)}
    if a.max_mb is None:
        extra.update(lean_aho(auto, corpus.root))
    emit(coding_result("pyahocorasick", corpus, passages, assigned, codes, load_s, code_s, a, extra))


def lean_aho(auto, root: Path) -> dict:
    """The same automaton from the files up, read the leanest way a researcher would write it:
    each note read whole, its front matter dropped, the rest lower-cased and cut at blank lines
    only (no headings, rules or speaker turns), each piece matched. Timed from the first read to
    the last match: what `code auto` as a whole command is measured against, reading included."""
    t0 = time.perf_counter()
    pieces = coded = 0
    for path in note_files(root):
        text = path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
        if text.startswith("---\n"):
            end = text.find("\n---", 3)
            text = text[end + 4 :] if end >= 0 else text
        for piece in text.lower().split("\n\n"):
            s = piece.replace("\n", " ")
            n = len(s)
            got: set[str] = set()
            for end, (klen, ids) in auto.iter(s):
                start = end - klen + 1
                if (start == 0 or not s[start - 1].isalnum()) and (end + 1 == n or not s[end + 1].isalnum()):
                    got |= ids
            pieces += 1
            coded += bool(got)
    return {"lean_read_match_s": round(time.perf_counter() - t0, 4), "lean_pieces": pieces, "lean_pieces_coded": coded}


# --------------------------------------------------------------------------------------------
# 6. Crosstabs: distinct passages per (code, site)


def cmd_crosstab_pandas(a: argparse.Namespace) -> None:
    try:
        import pandas as pd
    except ImportError:
        sys.exit("peers: the `pandas` package is missing: pip install -r requirements.txt")
    t0 = time.perf_counter()
    df = pd.read_csv(a.csv, usecols=["passage", "site", "code"], dtype=str, keep_default_na=False)
    rows = len(df)
    d = df.drop_duplicates()
    table = pd.crosstab(d["code"], d["site"])
    crosstab_s = time.perf_counter() - t0
    cells = {f"{code}|{site}": int(n) for code, row in table.iterrows() for site, n in row.items() if n}
    emit(
        {
            "tool": "pandas",
            "op": "crosstab",
            "crosstab_s": round(crosstab_s, 4),
            "rows": rows,
            "distinct_rows": len(d),
            "codes": int(table.shape[0]),
            "sites": int(table.shape[1]),
            "bytes": os.path.getsize(a.csv),
            "cells": dict(sorted(cells.items())),
            "pandas_version": pd.__version__,
        }
    )


def cmd_crosstab_polars(a: argparse.Namespace) -> None:
    try:
        import polars as pl
    except ImportError:
        sys.exit("peers: the `polars` package is missing: pip install -r requirements.txt")
    t0 = time.perf_counter()
    lf = pl.scan_csv(a.csv, schema={"passage": pl.String, "site": pl.String, "code": pl.String})
    counts, rows = pl.collect_all(
        [
            lf.unique().group_by(["code", "site"]).agg(pl.len().alias("n")),
            lf.select(pl.len().alias("rows")),
        ]
    )
    table = counts.pivot(on="site", index="code", values="n").fill_null(0)
    crosstab_s = time.perf_counter() - t0
    sites = [c for c in table.columns if c != "code"]
    cells = {f"{r['code']}|{s}": int(r[s]) for r in table.iter_rows(named=True) for s in sites if r[s]}
    emit(
        {
            "tool": "polars",
            "op": "crosstab",
            "crosstab_s": round(crosstab_s, 4),
            "rows": int(rows["rows"][0]),
            "distinct_rows": int(counts["n"].sum()),
            "codes": table.height,
            "sites": len(sites),
            "bytes": os.path.getsize(a.csv),
            "cells": dict(sorted(cells.items())),
            "polars_version": pl.__version__,
        }
    )


# --------------------------------------------------------------------------------------------
# 7. A point update: one coding written, as a database would keep codings


def cmd_sqlite_point_update(a: argparse.Namespace) -> None:
    """One coding inserted into a SQLite table of codings (indexed by note and by code) in one
    transaction, committed (rollback journal, synchronous=FULL: the commit is on disk, as a
    ledger append is). The table is filled with --rows codings first if the database is new."""
    import sqlite3

    new = not os.path.exists(a.db)
    con = sqlite3.connect(a.db)
    if new:
        con.execute(
            "CREATE TABLE codings (id TEXT PRIMARY KEY, doc TEXT, start INTEGER, end INTEGER, code TEXT,"
            " coder TEXT, status TEXT, memo TEXT)"
        )
        con.execute("CREATE INDEX codings_doc ON codings (doc)")
        con.execute("CREATE INDEX codings_code ON codings (code)")
        con.executemany(
            "INSERT INTO codings VALUES (?, ?, ?, ?, ?, 'rules', 'suggested', NULL)",
            ((f"r{i}", f"notes/site{i % 12}/{i // 12:06}.md", i % 1000, i % 1000 + 200, f"code{i % 8}") for i in range(a.rows)),
        )
        con.commit()
    con.execute("PRAGMA synchronous = FULL")
    t0 = time.perf_counter()
    with con:
        con.execute(
            "INSERT OR REPLACE INTO codings VALUES (?, ?, ?, ?, ?, 'hb', 'accepted', ?)",
            (a.id, "notes/site1/000001.md", 10, 80, "time", "bench"),
        )
    emit({"tool": "sqlite", "op": "point-update", "insert_s": round(time.perf_counter() - t0, 6), "rows": a.rows})


# --------------------------------------------------------------------------------------------
# 8. Keyness: each site's words against the rest, as `report keyness --by site` computes it


WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def cmd_keyness(a: argparse.Namespace) -> None:
    """Reads the notes (the same passages), counts words as `report keyness` does (letter and
    digit runs in lower case, an inner apostrophe kept, a letter required, the stopwords given
    left out), and computes each site's signed four-cell G2, Log Ratio and p against the rest;
    emits the time and each site's ten words of highest G2, to compare with fieldnotes."""
    stop = set(w.strip().lower() for w in open(a.stopwords, encoding="utf-8") if w.strip()) if a.stopwords else set()
    t0 = time.perf_counter()
    corpus = Corpus(a.corpus)
    counts: dict[str, Counter] = defaultdict(Counter)
    for _, site, text in corpus:
        c = counts[site]
        for w in WORD.findall(text):
            w = w.lower().replace("\u2019", "'")
            if any(ch.isalpha() for ch in w) and w not in stop:
                c[w] += 1
    totals = {g: sum(c.values()) for g, c in counts.items()}
    n = sum(totals.values())
    every: Counter = Counter()
    for c in counts.values():
        every.update(c)
    top = {}
    for g, c in counts.items():
        cg, d = totals[g], n - totals[g]
        rows = []
        for w, ab in every.items():
            a_, b_ = c.get(w, 0), ab - c.get(w, 0)
            cells = [(a_, ab * cg / n), (b_, ab * d / n), (cg - a_, (n - ab) * cg / n), (d - b_, (n - ab) * d / n)]
            g2 = 2 * sum(o * math.log(o / e) for o, e in cells if o > 0)
            if a_ / cg < b_ / d:
                g2 = -g2
            lr = math.log2((max(a_, 0.5) / cg) / (max(b_, 0.5) / d)) if a_ or b_ else 0.0
            p = math.erfc(math.sqrt(abs(g2) / 2))
            rows.append((g2, w, lr, p))
        rows.sort(key=lambda r: (-r[0], r[1]))
        top[g] = [r[1] for r in rows[:10]]
    emit({"tool": "python", "op": "keyness", "keyness_s": round(time.perf_counter() - t0, 4), "totals": totals, "top": top, **corpus.stats()})


# --------------------------------------------------------------------------------------------
# 9. A learned coder: what a researcher would write with scikit-learn


def cmd_learn_sklearn(a: argparse.Namespace) -> None:
    """TF-IDF of words and word pairs + LogisticRegression, one per code (scikit-learn's
    defaults), trained on every K-th note in path order with the truth file's codes, tested on
    the rest: the split `fieldnotes-bench learn` makes. Macro and micro F1, and the times."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        import sklearn
    except ImportError:
        sys.exit("peers: the `scikit-learn` package is missing: pip install -r requirements.txt")
    truth: dict[str, set[str]] = {}
    for line in open(a.truth, encoding="utf-8").read().splitlines()[1:]:
        pid, _site, themes = line.rsplit(",", 2)
        truth[pid] = {t for t in themes.split(";") if t}
    codes = [c["id"] for c in load_codebook(a.codebook)]
    train_text, train_y, test_text, test_y = [], [], [], []
    note_index: dict[str, int] = {}
    for pid, _site, text in Corpus(a.corpus):
        note = pid.split("#")[0]
        i = note_index.setdefault(note, len(note_index))
        labels = truth.get(pid, set())
        if i % a.every == 0:
            train_text.append(text)
            train_y.append(labels)
        else:
            test_text.append(text)
            test_y.append(labels)
    variants = {}
    # scikit-learn's defaults, and with classes weighted by their frequency (a careful user's
    # first change, since each code is on a minority of passages).
    for name, weight in (("default", None), ("balanced", "balanced")):
        t0 = time.perf_counter()
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2)
        xtr = vec.fit_transform(train_text)
        models = {}
        for c in codes:
            y = [c in ls for ls in train_y]
            if any(y) and not all(y):
                models[c] = LogisticRegression(max_iter=1000, class_weight=weight).fit(xtr, y)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        xte = vec.transform(test_text)
        predicted = {c: m.predict(xte) for c, m in models.items()}
        predict_s = time.perf_counter() - t0
        per, tp_all, fp_all, fn_all = {}, 0, 0, 0
        for c in codes:
            pred = predicted.get(c)
            tp = fp = fn = 0
            for k, labels in enumerate(test_y):
                p = bool(pred[k]) if pred is not None else False
                if p and c in labels:
                    tp += 1
                elif p:
                    fp += 1
                elif c in labels:
                    fn += 1
            d = 2 * tp + fp + fn
            per[c] = 2 * tp / d if d else 0.0
            tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
        d = 2 * tp_all + fp_all + fn_all
        variants[name] = {
            "macro_f1": sum(per.values()) / max(len(per), 1),
            "micro_f1": 2 * tp_all / d if d else 0.0,
            "per_code": per,
            "train_s": round(train_s, 3),
            "predict_s": round(predict_s, 3),
        }
    emit(
        {
            "tool": "scikit-learn",
            "op": "learn",
            "every": a.every,
            "train_passages": len(train_text),
            "test_passages": len(test_text),
            "features": len(vec.vocabulary_),
            "variants": variants,
            "sklearn_version": sklearn.__version__,
        }
    )


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="peers.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("fts5-index", help="index passages into SQLite FTS5 (porter unicode61)")
    p.add_argument("corpus")
    p.add_argument("db")
    p.set_defaults(func=cmd_fts5_index)

    p = sub.add_parser("fts5-query", help="time top-20 bm25 queries on an FTS5 database")
    p.add_argument("db")
    p.add_argument("queries")
    p.add_argument("--repeat", type=int, default=REPEATS)
    p.add_argument("--per-query", action="store_true", help="list each query's median and hits")
    p.set_defaults(func=cmd_fts5_query)

    p = sub.add_parser("tantivy-index", help="index passages with the tantivy Python bindings")
    p.add_argument("corpus")
    p.add_argument("dir")
    p.add_argument("--heap-mb", type=int, default=256, help="writer heap, MiB (default 256)")
    p.add_argument("--threads", type=int, default=2, help="writer threads (default 2)")
    p.set_defaults(func=cmd_tantivy_index)

    p = sub.add_parser("tantivy-query", help="time top-20 queries on a tantivy index")
    p.add_argument("dir")
    p.add_argument("queries")
    p.add_argument("--repeat", type=int, default=REPEATS)
    p.add_argument("--per-query", action="store_true", help="list each query's median and hits")
    p.set_defaults(func=cmd_tantivy_query)

    for name, func, helptext in (
        ("code-re", cmd_code_re, "code passages with one Python regex per code"),
        ("code-aho", cmd_code_aho, "code passages with one Aho-Corasick automaton of all keywords"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("corpus")
        p.add_argument("codebook")
        p.add_argument("--max-mb", type=float, default=None, help="stop after N MB (10^6 bytes) of passage text")
        p.add_argument("--csv", default=None, help="also write passage,site,code rows here (untimed)")
        p.set_defaults(func=func)

    for name, func in (("crosstab-pandas", cmd_crosstab_pandas), ("crosstab-polars", cmd_crosstab_polars)):
        p = sub.add_parser(name, help="distinct passages per (code, site) from a passage,site,code CSV")
        p.add_argument("csv")
        p.set_defaults(func=func)

    p = sub.add_parser("sqlite-point-update", help="one coding inserted and committed into a SQLite table of codings")
    p.add_argument("db")
    p.add_argument("--rows", type=int, default=190_000, help="codings in the table when it is made (default 190,000)")
    p.add_argument("--id", default="hb-1", help="the coding's id")
    p.set_defaults(func=cmd_sqlite_point_update)

    p = sub.add_parser("keyness", help="each site's keyness (G2, Log Ratio, p) against the rest")
    p.add_argument("corpus")
    p.add_argument("--stopwords", default=None, help="a file of words to leave out, one a line")
    p.set_defaults(func=cmd_keyness)

    p = sub.add_parser("learn-sklearn", help="TF-IDF + LogisticRegression per code, trained on every K-th note")
    p.add_argument("corpus")
    p.add_argument("truth")
    p.add_argument("codebook")
    p.add_argument("--every", type=int, default=5, help="train on every K-th note in path order (default 5: 20%%)")
    p.set_defaults(func=cmd_learn_sklearn)

    a = ap.parse_args(argv)
    a.func(a)


if __name__ == "__main__":
    main()
