"""Summarises one benchmark run (JSON lines from crates/bench/run.sh) as a Markdown table."""
import json
import statistics
import sys
from collections import defaultdict


def main(path: str, mb: str) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    procs = defaultdict(list)
    other = {}
    for r in rows:
        if r.get("op") == "process":
            procs[r["tool"]].append(r)
        else:
            other[(r["tool"], r.get("op", "query"))] = r

    def proc(name):
        runs = procs.get(name, [])
        if not runs:
            return None, None
        return statistics.median(x["seconds"] for x in runs), max(x["peak_rss_mb"] for x in runs)

    out = [f"Corpus: {mb} MB of generated notes.", "", "| measure | fieldnotes | peer | ratio |", "| --- | ---: | ---: | ---: |"]
    fn_index, fn_rss = proc("fieldnotes-index")
    for peer, label in [(("sqlite-fts5", "index"), "SQLite FTS5 (porter)"), (("tantivy-py", "index"), "tantivy-py (en_stem)")]:
        p = other.get(peer)
        if p and fn_index:
            out.append(f"| index build, s (vs {label}) | {fn_index:.2f} | {p['index_s']:.2f} | {p['index_s'] / fn_index:.2f}x faster |")
    q = other.get(("fieldnotes", "query"))
    for peer, label in [(("sqlite-fts5", "query"), "FTS5"), (("tantivy-py", "query"), "tantivy-py")]:
        p = other.get(peer)
        if q and p:
            out.append(f"| query p50, ms (vs {label}) | {q['p50_ms']:.3f} | {p['p50_ms']:.3f} | {p['p50_ms'] / q['p50_ms']:.1f}x |")
            out.append(f"| query p99, ms (vs {label}) | {q['p99_ms']:.3f} | {p['p99_ms']:.3f} | {p['p99_ms'] / q['p99_ms']:.1f}x |")
    if q and "with_snippets_p50_ms" in q:
        out.append(f"| query with highlighted snippets, p50 / p99 ms | {q['with_snippets_p50_ms']:.3f} / {q['with_snippets_p99_ms']:.3f} | | |")
    rg, _ = proc("rg-word")
    if q and rg:
        out.append(f"| one word: in-process p50 vs `rg -w -i` per word, ms | {q['p50_ms']:.3f} | {rg * 1000:.0f} | {rg * 1000 / q['p50_ms']:.0f}x |")
    s, s_rss = proc("fieldnotes-search-process")
    if s is not None:
        out.append(f"| `fieldnotes search` as a process (warm index), ms | {s * 1000:.0f} | | |")
    for name, label in [("fieldnotes-reindex-unchanged", "re-index, nothing changed, s"), ("fieldnotes-reindex-one-note", "re-index after one note changed, s")]:
        t, _ = proc(name)
        if t is not None:
            out.append(f"| {label} | {t:.2f} | | |")
    c = other.get(("fieldnotes", "code"))
    for peer, label in [(("python-re", "code"), "Python re loop"), (("pyahocorasick", "code"), "pyahocorasick")]:
        p = other.get(peer)
        if c and p:
            out.append(f"| auto-coding, MB/s (vs {label}) | {c['mb_per_s']:.1f} | {p['mb_per_s']:.2f} | {c['mb_per_s'] / p['mb_per_s']:.1f}x |")
    ca, ca_rss = proc("fieldnotes-code-auto")
    if ca is not None:
        out.append(f"| `fieldnotes code auto` whole command (read, code, write ledger), s | {ca:.2f} | | |")
        aho = other.get(("pyahocorasick", "code"))
        if aho:
            both = aho["load_s"] + aho["code_s"]
            out.append(f"| `code auto` whole command vs pyahocorasick reading the notes into the same passages and matching, s | {ca:.2f} | {both:.2f} | {both / ca:.1f}x |")
            if "lean_read_match_s" in aho:
                lean = aho["lean_read_match_s"]
                out.append(f"| `code auto` whole command vs pyahocorasick reading the notes the leanest way (cut at blank lines) and matching, s | {ca:.2f} | {lean:.2f} | {lean / ca:.1f}x |")
            out.append(f"| `code auto` whole command vs pyahocorasick matching alone (its reading not counted), s | {ca:.2f} | {aho['code_s']:.2f} | {aho['code_s'] / ca:.1f}x |")
    sq, sq_rss = proc("sqlite-point-update")
    sq_in = [r["insert_s"] for r in rows if r.get("op") == "point-update"]
    for name, label, goal in [
        ("fieldnotes-code-add", "`code add ID CODE`", 0.05),
        ("fieldnotes-show", "`show ID`", 0.05),
        ("fieldnotes-code-rm", "`code rm ID CODE`", 0.05),
        ("fieldnotes-code-list-one-coder", "`code list --coder hb`", 0.1),
        ("fieldnotes-themes-after-coding", "`report themes` right after a coding", 0.5),
        ("fieldnotes-agree", "`agree --coders rules,hb --include-suggested`", 1.0),
        ("fieldnotes-search-code-after-coding", "`search code:time` right after a coding", None),
        ("fieldnotes-long-code-add", "one 8 MB note: `code add`", 0.1),
        ("fieldnotes-long-show", "one 8 MB note: `show`", 0.1),
        ("fieldnotes-long-code-rm", "one 8 MB note: `code rm`", 0.1),
    ]:
        t, rss = proc(name)
        if t is None:
            continue
        peer = ""
        if name == "fieldnotes-code-add" and sq is not None:
            peer = f"SQLite INSERT + commit: {sq * 1000:.0f} as a Python process, {statistics.median(sq_in) * 1000:.1f} in it"
        goal_text = f" (goal {goal * 1000:.0f})" if goal else ""
        out.append(f"| {label}, ms{goal_text}, peak RSS {rss} MB | {t * 1000:.0f} | {peer} | |")
    for name, label in [
        ("fieldnotes-code-check", "`code check`"),
        ("fieldnotes-code-list-code", "`code list --code time --status accepted`"),
        ("fieldnotes-report-stats", "`report stats --by site`"),
        ("fieldnotes-agree-reviewer", "`agree --coders rules,rv --include-suggested --bootstrap 0` (rv reviewed two codes' suggestions)"),
        ("fieldnotes-eval-reviewer", "`code eval --against rv`"),
    ]:
        t, rss = proc(name)
        if t is not None:
            out.append(f"| whole study: {label}, s, peak RSS {rss} MB | {t:.2f} | | |")
    lo, lo_rss = proc("fieldnotes-long-code-auto")
    sp, _ = proc("fieldnotes-split-code-auto")
    if lo is not None and sp is not None:
        out.append(f"| `code auto` on one 8 MB note vs the same notes apart, s (goal: within 2x), peak RSS {lo_rss} MB | {lo:.2f} | {sp:.2f} | {lo / sp:.2f}x |")
    kf, kf_rss = proc("fieldnotes-keyness")
    kp, kp_rss = proc("python-keyness")
    if kf is not None and kp is not None:
        out.append(f"| `report keyness --by site` whole command vs Python (read, count, G2 and Log Ratio), s, peak RSS {kf_rss} / {kp_rss} MB | {kf:.2f} | {kp:.2f} | {kp / kf:.1f}x |")
    # The learned coder: records with op "learn", one per tool and split.
    learned = [r for r in rows if r.get("op") == "learn"]
    for every in sorted({r["every"] for r in learned}):
        fnr = next((r for r in learned if r["tool"] == "fieldnotes" and r["every"] == every), None)
        skr = next((r for r in learned if r["tool"] == "scikit-learn" and r["every"] == every), None)
        if not fnr or not skr:
            continue
        share = f"{100 // every}%"
        m, mr, ru = fnr["variants"]["model"], fnr["variants"]["model+rules"], fnr["variants"]["rules"]
        for name, v in skr["variants"].items():
            out.append(f"| learned coder, train on {share} of notes: macro F1 (vs scikit-learn TF-IDF + LR, {name}) | {m['macro_f1']:.3f} | {v['macro_f1']:.3f} | |")
        bal = skr["variants"]["balanced"]
        out.append(f"| learned coder, {share}: train (with 5-fold CV) + predict, s (vs scikit-learn, balanced) | {m['train_s'] + m['predict_s']:.2f} | {bal['train_s'] + bal['predict_s']:.2f} | {(bal['train_s'] + bal['predict_s']) / (m['train_s'] + m['predict_s']):.1f}x |")
        out.append(f"| learned coder, {share}: macro F1 of the rules alone / the model with the rules as features | {ru['macro_f1']:.3f} / {mr['macro_f1']:.3f} | | |")
    th, th_rss = proc("fieldnotes-themes-from-store")
    first, first_rss = proc("fieldnotes-themes-building-store")
    ct = other.get(("fieldnotes", "crosstab"))
    if th is not None and ct:
        n = f"{ct['codings']:,}"
        out.append(f"| theme table over {n} codings, s: `report themes` from the store (first run, building it: {first:.1f}) | {th:.2f} | | |")
        for peer, label in [(("pandas", "crosstab"), "pandas from CSV"), (("polars", "crosstab"), "Python polars from CSV")]:
            p = other.get(peer)
            if p:
                out.append(f"| theme table, s (vs {label}) | {th:.2f} | {p['crosstab_s']:.2f} | {p['crosstab_s'] / th:.1f}x |")
    out.append("")
    out.append("| peak RSS, MB | value |")
    out.append("| --- | ---: |")
    if fn_rss:
        out.append(f"| fieldnotes index | {fn_rss} |")
    if ca_rss:
        out.append(f"| fieldnotes code auto | {ca_rss} |")
    if th_rss:
        out.append(f"| fieldnotes report themes, from the store / building it | {th_rss} / {first_rss} |")
    for key, label in [(("sqlite-fts5", "index"), "SQLite FTS5 index"), (("tantivy-py", "index"), "tantivy-py index"), (("pyahocorasick", "code"), "pyahocorasick"), (("python-re", "code"), "Python re")]:
        if key in other and "peak_rss_mb" in other[key]:
            out.append(f"| {label} | {other[key]['peak_rss_mb']:.0f} |")
    if c and "scores" in c:
        out.append("")
        out.append("| auto-coder against the generator's truth | precision | recall | F1 |")
        out.append("| --- | ---: | ---: | ---: |")
        for code, v in list(c["scores"]["per_code"].items()) + [("(micro)", c["scores"]["micro"])]:
            out.append(f"| {code} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} |")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
