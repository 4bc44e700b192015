// fieldnotes workbench: selection offsets, keys, and the calls that code. No library, nothing
// fetched from elsewhere. Offsets are code points from the passage's start, as the ledger's.
"use strict";
(() => {
  const $ = (s, r = document) => r.querySelector(s);
  const $$ = (s, r = document) => Array.from(r.querySelectorAll(s));
  const say = (msg, bad) => {
    const s = $("#status");
    if (!s) return;
    s.textContent = msg;
    s.className = bad ? "bad" : "good";
  };
  const cp = (s) => Array.from(s).length;

  // Every action says the page it was made on: `u` undoes this page's last action only.
  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(Object.assign({ page: location.pathname }, body || {})),
      credentials: "same-origin",
    });
    const j = await r.json().catch(() => ({ error: r.status + " " + r.statusText }));
    if (!r.ok) throw new Error(j.error || r.statusText);
    return j;
  }

  // Reload where the reader was, saying what was done once the page is back.
  function reload() {
    sessionStorage.setItem("fieldnotes-scroll", String(window.scrollY));
    const s = $("#status");
    if (s && s.textContent) sessionStorage.setItem("fieldnotes-said", s.textContent);
    location.reload();
  }
  const kept = sessionStorage.getItem("fieldnotes-scroll");
  if (kept !== null) {
    sessionStorage.removeItem("fieldnotes-scroll");
    window.scrollTo(0, Number(kept));
  }
  const said = sessionStorage.getItem("fieldnotes-said");
  if (said !== null) {
    sessionStorage.removeItem("fieldnotes-said");
    say(said);
    setTimeout(() => say(""), 4000);
  }

  // The selection as a span of one passage: {passage, start, end, text}, trimmed of white space
  // at its ends; null when nothing is selected; {error} when it is not within one passage.
  function selected() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    const el = (n) => (n.nodeType === Node.ELEMENT_NODE ? n : n.parentElement);
    const a = el(r.startContainer).closest(".ptext");
    const b = el(r.endContainer).closest(".ptext");
    if (!a || a !== b) return { error: "select words within one passage" };
    const before = document.createRange();
    before.selectNodeContents(a);
    before.setEnd(r.startContainer, r.startOffset);
    let start = cp(before.toString());
    const text = r.toString();
    let end = start + cp(text);
    start += cp(text) - cp(text.trimStart());
    end -= cp(text) - cp(text.trimEnd());
    if (end <= start) return null;
    return { passage: a.dataset.passage, start, end, text: text.trim() };
  }

  // The codes in the list that the filter leaves, numbered 1-9.
  function visibleCodes() {
    return $$("#codes li").filter((li) => !li.hidden);
  }
  function number() {
    $$("#codes li .key").forEach((k) => (k.textContent = ""));
    visibleCodes()
      .slice(0, 9)
      .forEach((li, i) => ($(".key", li).textContent = String(i + 1)));
  }

  // Posts an action; once done says what was done (`said`: text, or made from the answer) and
  // reloads, or says why it failed.
  // One at a time: a second click (a double click) while one is on its way is not sent.
  let acting = false;
  async function act(url, body, said) {
    if (acting) return;
    acting = true;
    try {
      const r = await post(url, body);
      say(typeof said === "function" ? said(r) : said);
      reload();
    } catch (e) {
      acting = false;
      say(e.message, true);
    }
  }

  async function code(codeId) {
    const s = selected();
    if (!s) return say("select words in a passage first", true);
    if (s.error) return say(s.error, true);
    const memo = $("#memo") ? $("#memo").value : "";
    await act("/api/code", { passage: s.passage, code: codeId, start: s.start, end: s.end, text: s.text, memo }, (r) => {
      if ($("#memo")) $("#memo").value = "";
      return (r.new ? "coded " : "already coded ") + "\u201c" + s.text + "\u201d as " + codeId;
    });
  }

  const undo = () => act("/api/undo", {}, (r) => "undone: " + r.undone);

  // A click on a highlight: who coded it, the memo, the evidence; a button to remove it.
  const marks = $("#marks-data") ? JSON.parse($("#marks-data").textContent) : {};
  function details(ids) {
    const box = $("#details");
    if (!box) return;
    box.replaceChildren();
    const h = document.createElement("h2");
    h.textContent = "Codings here";
    box.append(h);
    for (const id of ids) {
      const m = marks[id];
      if (!m) continue;
      const d = document.createElement("div");
      d.className = "coding";
      d.dataset.id = id;
      d.dataset.coder = m.coder;
      const t = document.createElement("p");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = m.colour;
      const b = document.createElement("b");
      b.textContent = m.name;
      t.append(sw, b, " (" + m.code + ") by " + m.coder + ", " + m.status + (m.reviewer ? " (reviewed by " + m.reviewer + ")" : ""));
      const when = document.createElement("span");
      when.className = "meta";
      when.textContent = " " + m.time.replace("T", " ").replace("Z", " UTC");
      t.append(when);
      d.append(t);
      const q = document.createElement("blockquote");
      q.textContent = m.text;
      d.append(q);
      const memo = document.createElement("textarea");
      memo.className = "memo-edit";
      memo.rows = 2;
      memo.placeholder = "a memo on this coding";
      memo.value = m.memo || "";
      const save = document.createElement("button");
      save.type = "button";
      save.className = "save-memo";
      save.textContent = "Save memo";
      save.addEventListener("click", () =>
        act("/api/memo", { id, memo: memo.value }, memo.value.trim() ? "memo saved" : "memo taken off"),
      );
      d.append(memo, save);
      for (const ev of m.evidence) {
        const p = document.createElement("p");
        p.className = "meta";
        p.textContent = "evidence: " + ev;
        d.append(p);
      }
      if (m.moved) {
        const p = document.createElement("p");
        p.className = "meta";
        p.textContent = "its words moved since it was coded";
        d.append(p);
      }
      const rm = document.createElement("button");
      rm.type = "button";
      rm.className = "remove";
      rm.textContent = "Remove";
      rm.addEventListener("click", () => act("/api/remove", { id }, "removed"));
      d.append(rm);
      box.append(d);
    }
  }

  const filter = $("#code-filter");
  if (filter) {
    filter.addEventListener("input", () => {
      const f = filter.value.toLowerCase();
      $$("#codes li").forEach((li) => (li.hidden = f !== "" && !li.textContent.toLowerCase().includes(f)));
      number();
    });
    filter.addEventListener("keydown", (e) => {
      if (e.key === "Escape" || e.key === "Enter") filter.blur();
    });
    number();
  }
  $$("#codes li").forEach((li) => {
    // Keep the selection: a click on the list must not clear it.
    li.addEventListener("mousedown", (e) => e.preventDefault());
    li.addEventListener("click", () => code(li.dataset.code));
  });
  $$("mark[data-ids]").forEach((m) => m.addEventListener("click", () => details(m.dataset.ids.split(" "))));

  const newCode = $("#new-code");
  if (newCode) {
    newCode.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = new FormData(newCode);
      act("/api/codes", { id: f.get("id"), name: f.get("name"), description: f.get("description") }, "");
    });
  }

  // Review: a, r, s, u.
  const sugg = $("#suggestion");
  async function decide(accept) {
    try {
      await post("/api/review", { id: sugg.dataset.id, accept });
      sessionStorage.setItem("fieldnotes-said", accept ? "accepted" : "rejected");
      location.href = sugg.dataset.here;
    } catch (e) {
      say(e.message, true);
    }
  }
  if (sugg) {
    $("#accept").addEventListener("click", () => decide(true));
    $("#reject").addEventListener("click", () => decide(false));
  }
  const undoButton = $("#undo");
  if (undoButton) undoButton.addEventListener("click", undo);

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (e.key === "u") {
      e.preventDefault();
      return undo();
    }
    if (sugg) {
      if (e.key === "a") return decide(true);
      if (e.key === "r") return decide(false);
      if (e.key === "s") return void (location.href = sugg.dataset.next);
    }
    if (filter && e.key === "/") {
      e.preventDefault();
      return filter.focus();
    }
    if (/^[1-9]$/.test(e.key) && $("#codes")) {
      const li = visibleCodes()[Number(e.key) - 1];
      if (li) {
        e.preventDefault();
        code(li.dataset.code);
      }
    }
  });
  document.body.dataset.ready = "1";
})();
