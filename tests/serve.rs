//! `fieldnotes serve` as a process, driven from outside: over plain HTTP for the token and for
//! coders writing at once, and in a real browser (Debian's chromium through its chromedriver,
//! over WebDriver) for selecting words, keys and review. Without chromedriver the browser tests
//! step aside with a SKIPPED line, which CI (FIELDNOTES_REQUIRE_ALL) turns into a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

use crate::util::TestProject;

/// A `fieldnotes serve` process, killed when dropped.
struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
    token: String,
}

impl Served {
    fn start(p: &TestProject, coder: &str) -> Served {
        let mut child = p
            .cmd(&["serve", "--port", "0", "--coder", coder])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let url = first.trim();
        let (base, token) = url.split_once("/?token=").unwrap_or_else(|| panic!("first line is not the URL: {url:?}"));
        assert!(base.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(token.len(), 32, "{url}");
        Served { child, base: base.to_string(), token: token.to_string() }
    }

    fn url(&self) -> String {
        format!("{}/?token={}", self.base, self.token)
    }

    /// The cookie the token is kept in, as a request sends it.
    fn cookie(&self) -> String {
        format!("fieldnotes_token_{}={}", self.addr().rsplit(':').next().unwrap(), self.token)
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: the status, the headers, the body.
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The ledger events of `coder`, as JSON values.
fn ledger(p: &TestProject, coder: &str) -> Vec<Value> {
    let path = p.path().join(format!("codings/{coder}.jsonl"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad ledger line ({e}): {l}"))).collect()
}

/// What `code list --json` prints: a JSON object a line.
fn listed(p: &TestProject, args: &[&str]) -> Vec<Value> {
    p.run(args).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Waits up to 20 s for `done`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn requests_without_the_token_are_refused_and_nothing_is_written() {
    let p = TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nWe built trust slowly.\n");
    let s = Served::start(&p, "ann");
    let id = p.key_id("notes/fife/a.md#1");
    for path in ["/", "/notes/fife/a.md", "/review", "/search?q=trust", "/codebook", "/themes", "/assets/app.js"] {
        assert_eq!(http(s.addr(), "GET", path, &[], "").0, 401, "{path}");
        assert_eq!(http(s.addr(), "GET", path, &[("Cookie", "fieldnotes_token=0123")], "").0, 401, "{path}");
        let other = s.cookie().replace(&s.token, &"0".repeat(32));
        assert_eq!(http(s.addr(), "GET", path, &[("Cookie", &other)], "").0, 401, "{path}");
    }
    let wrong = format!("/?token={}", "f".repeat(32));
    assert_eq!(http(s.addr(), "GET", &wrong, &[], "").0, 401);
    let body = format!(r#"{{"passage":"{id}","code":"time","start":3,"end":14}}"#);
    let (status, _, said) = http(s.addr(), "POST", "/api/code", &[("Content-Type", "application/json")], &body);
    assert_eq!(status, 401, "{said}");
    assert!(said.contains("token"), "{said}");
    assert!(ledger(&p, "ann").is_empty());
    // The token sets the cookie (and leaves the address); the cookie then opens every page.
    let (status, head, _) = http(s.addr(), "GET", &format!("/notes/fife/a.md?token={}", s.token), &[], "");
    assert_eq!(status, 303, "{head}");
    assert!(head.to_lowercase().contains("location: /notes/fife/a.md\r\n"), "{head}");
    let cookie = s.cookie();
    assert!(head.contains(&format!("{cookie}; Path=/; HttpOnly; SameSite=Strict")), "{head}");
    let (status, _, page) = http(s.addr(), "GET", "/notes/fife/a.md", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200);
    assert!(page.contains("We built trust slowly."), "{page}");
    // Nothing a page or its script loads comes from elsewhere.
    for path in [
        "/",
        "/notes/fife/a.md",
        "/review",
        "/search?q=trust",
        "/codebook",
        "/themes",
        "/assets/app.js",
        "/assets/app.css",
    ] {
        let (status, _, text) = http(s.addr(), "GET", path, &[("Cookie", &cookie)], "");
        assert_eq!(status, 200, "{path}: {text}");
        for far in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "url(", "@import", "fetch(\"http"] {
            assert!(!text.contains(far), "{path} names `{far}`");
        }
    }
    // Another host name (a page elsewhere rebinding its name to 127.0.0.1) is refused even with it.
    let evil = [("Cookie", cookie.as_str()), ("Host", "evil.example")];
    assert_eq!(http(s.addr(), "GET", "/", &evil, "").0, 403);
    // With the cookie, the same coding is written.
    let json = [("Cookie", cookie.as_str()), ("Content-Type", "application/json")];
    let (status, _, said) = http(s.addr(), "POST", "/api/code", &json, &body);
    assert_eq!(status, 200, "{said}");
    let events = ledger(&p, "ann");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["text"], "built trust");
    // The first page counts it: the note, its one passage coded, by ann.
    let (_, _, first) = http(s.addr(), "GET", "/", &[("Cookie", &cookie)], "");
    assert!(first.contains("notes/fife/a.md") && first.contains("ann (1)"), "{first}");
    // Bad input is refused with the library's message, and writes nothing.
    let bad = format!(r#"{{"passage":"{id}","code":"nothing","start":3,"end":14}}"#);
    let (status, _, said) = http(s.addr(), "POST", "/api/code", &json, &bad);
    assert_eq!(status, 400);
    assert!(said.contains("unknown code `nothing`"), "{said}");
    let far = format!(r#"{{"passage":"{id}","code":"time","start":3,"end":400}}"#);
    let (status, _, said) = http(s.addr(), "POST", "/api/code", &json, &far);
    assert_eq!(status, 400);
    assert!(said.contains("does not fit passage"), "{said}");
    assert_eq!(ledger(&p, "ann").len(), 1);
}

/// What a walkthrough of the workbench found: a page loaded before its note was edited coded
/// other words than it showed; two requests at once (a double click) wrote one coding twice; `u`
/// on one page undid an action of another; a code `TIME` beside `time` was taken, and a coder
/// `HB` beside `hb` started a second ledger.
#[test]
fn stale_pages_double_clicks_and_undo_elsewhere_do_not_touch_other_words() {
    let p = TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nThe partner updates took almost an hour. Nobody named it.\n");
    p.write("notes/fife/b.md", "---\nsite: Fife\n---\nAnother note about trust.\n");
    let (id, other) = (p.key_id("notes/fife/a.md#1"), p.key_id("notes/fife/b.md#1"));
    p.run(&["code", "add", &other, "context", "--coder", "hb", "-q"]);
    // A note with a coding has its versions kept: an id the page holds is traced through edits.
    p.run(&["code", "add", &id, "benefits-impact", "--coder", "jm", "-q"]);
    let s = Served::start(&p, "hb");
    let cookie = s.cookie();
    let json = [("Cookie", cookie.as_str()), ("Content-Type", "application/json")];
    let post = |path: &str, body: String| http(s.addr(), "POST", path, &json, &body);
    // "Nobody named it" as the page showed it: characters 41..56.
    let shown = |start: usize, end: usize| {
        format!(
            r#"{{"passage":"{id}","code":"time","start":{start},"end":{end},"text":"Nobody named it","page":"/notes/fife/a.md"}}"#
        )
    };
    // The note edited on disk inside the passage, before those words, after the page loaded.
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nThe agency reports took nearly an hour. Nobody named it.\n");
    let (status, _, said) = post("/api/code", shown(41, 56));
    assert_eq!(status, 200, "{said}");
    let coded = ledger(&p, "hb").into_iter().filter(|e| e["code"] == "time").collect::<Vec<_>>();
    assert_eq!(coded.len(), 1);
    assert_eq!(coded[0]["text"], "Nobody named it", "the words the page showed, where they stand now");
    // Words the note no longer has are refused: reload.
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nThe agency reports took nearly an hour. All said it.\n");
    let (status, _, said) = post("/api/code", shown(41, 56).replace("time", "expertise"));
    assert_eq!(status, 400);
    assert!(said.contains("the note changed since this page was loaded"), "{said}");
    // Two requests at once: one ledger line.
    let id = p.key_id("notes/fife/a.md#1");
    let body = format!(
        r#"{{"passage":"{id}","code":"expertise","start":4,"end":10,"text":"agency","page":"/notes/fife/a.md"}}"#
    );
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| assert_eq!(post("/api/code", body.clone()).0, 200));
        }
    });
    assert_eq!(ledger(&p, "hb").iter().filter(|e| e["code"] == "expertise").count(), 1);
    // `u` on the review page does not undo the coding made on the note's page.
    let (status, _, said) = post("/api/undo", r#"{"page":"/review"}"#.into());
    assert_eq!(status, 400, "{said}");
    assert!(said.contains("nothing to undo"), "{said}");
    let (status, _, said) = post("/api/undo", r#"{"page":"/notes/fife/a.md"}"#.into());
    assert_eq!(status, 200, "{said}");
    assert!(ledger(&p, "hb").iter().any(|e| e["op"] == "remove"));
    assert_eq!(
        listed(&p, &["code", "list", "--coder", "hb", "--code", "context", "--json"]).len(),
        1,
        "b's coding stays"
    );
    // White space alone is not coded.
    let blank = format!(r#"{{"passage":"{id}","code":"time","start":10,"end":11,"page":"/notes/fife/a.md"}}"#);
    let (status, _, said) = post("/api/code", blank);
    assert_eq!(status, 400, "{said}");
    assert!(said.contains("holds only white space"), "{said}");
    // A code id that differs from one only in case, or with a `..` part, is refused.
    for bad in ["TIME", "../x"] {
        let (status, _, said) = post("/api/codes", format!(r#"{{"id":"{bad}","name":"x"}}"#));
        assert_eq!(status, 400, "{bad}: {said}");
    }
    assert!(!p.read("codebook.toml").contains("TIME"));
    // The search page: every hit a hundred at a time, and what `code:` counts, suggestions too
    // when asked.
    let many: Vec<String> = (0..105).map(|i| format!("Trust grew, round {i}.")).collect();
    p.write("notes/fife/c.md", format!("---\nsite: Fife\n---\n{}\n", many.join("\n\n")));
    let get = |path: &str| http(s.addr(), "GET", path, &[("Cookie", cookie.as_str())], "").2;
    let second = get("/search?q=grew&from=100");
    assert!(second.contains("105 passages match; showing 101–105.") && second.contains("← the 100 before"), "{second}");
    assert!(get("/search?q=grew").contains("the next 5 →"));
    let coded = get("/search?q=code:time&suggested=1");
    assert!(coded.contains("codes count accepted codings and suggestions not yet reviewed"), "{coded}");
    drop(s);
    // A coder `HB` where the ledger is `hb.jsonl` does not start a second ledger.
    let o = p.run_expect(&["code", "add", &other, "time", "--coder", "HB"], 2);
    assert!(crate::util::stderr(&o).contains("did you mean `hb`?"), "{}", crate::util::stderr(&o));
    let o = p.run_expect(&["serve", "--port", "0", "--coder", "HB"], 2);
    assert!(crate::util::stderr(&o).contains("did you mean `hb`?"), "{}", crate::util::stderr(&o));
    assert!(!p.path().join("codings/HB.jsonl").exists());
}

#[test]
fn two_coders_and_the_command_line_coding_at_once_lose_nothing() {
    let p = TestProject::new();
    let words: Vec<String> = (0..40).map(|i| format!("word{i:02}")).collect();
    p.write("notes/fife/a.md", format!("---\nsite: Fife\n---\n{}\n", words.join(" ")));
    let id = p.key_id("notes/fife/a.md#1");
    let ann = Served::start(&p, "ann");
    let bob = Served::start(&p, "bob");
    let post = |s: &Served, i: usize, code: &str| {
        let cookie = s.cookie();
        let body = format!(r#"{{"passage":"{id}","code":"{code}","start":{},"end":{}}}"#, i * 7, i * 7 + 6);
        let h = [("Cookie", cookie.as_str()), ("Content-Type", "application/json")];
        let (status, _, said) = http(s.addr(), "POST", "/api/code", &h, &body);
        assert_eq!(status, 200, "{said}");
    };
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (ann, bob, post) = (&ann, &bob, &post);
            scope.spawn(move || (t..20).step_by(2).for_each(|i| post(ann, i, "time")));
            scope.spawn(move || (t..20).step_by(2).for_each(|i| post(bob, i, "context")));
        }
        scope.spawn(|| {
            for w in &words[20..26] {
                p.run(&["code", "add", &id, "expertise", "--coder", "hb", "--quote", w]);
            }
        });
    });
    let rows = listed(&p, &["code", "list", "--json"]);
    let by = |c: &str| rows.iter().filter(|r| r["coding"]["coder"] == c).count();
    assert_eq!((by("ann"), by("bob"), by("hb")), (20, 20, 6), "{rows:#?}");
    for coder in ["ann", "bob"] {
        let mut got: Vec<&str> =
            rows.iter().filter(|r| r["coding"]["coder"] == coder).map(|r| r["text"].as_str().unwrap()).collect();
        got.sort();
        assert_eq!(got, words[..20], "{coder}");
    }
}

/// A browser session on chromedriver, both ended when dropped; `None` (with a SKIPPED line)
/// without chromedriver.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(test: &str) -> Option<Browser> {
        let driver =
            ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|d| Path::new(d).exists());
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().find(|d| Path::new(d).exists());
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            fieldnotes_testkit::skip(
                test,
                "Chromium and its WebDriver (/usr/bin/chromium, /usr/bin/chromedriver)",
                "on Debian: apt-get install chromium chromium-driver (`.ci/run` installs them)",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("chromedriver", || TcpStream::connect(("127.0.0.1", port)).is_ok());
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = rt.block_on(async {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
                .expect("a chromium session through chromedriver")
        });
        Some(Browser { rt, client: Some(client), driver, _profile: profile })
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Opens `url` and waits for the page's script to be ready.
    fn open(&self, url: &str) {
        self.rt.block_on(self.c().goto(url)).unwrap();
        self.ready();
    }

    fn ready(&self) {
        // A page a key or click was given to counts as gone: what it did may reload it.
        let script = "return !window.fieldnotesOld && !!document.body && document.body.dataset.ready === '1';";
        wait_for("the page's script", || self.js(script, vec![]) == Value::Bool(true));
    }

    fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.rt.block_on(self.c().execute(script, args)).unwrap()
    }

    /// Presses and releases `key` on the page, as a person would.
    fn press(&self, key: char) {
        let keys =
            KeyActions::new("keyboard".into()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
        self.js("window.fieldnotesOld = true;", vec![]);
        self.rt.block_on(self.c().perform_actions(keys)).unwrap();
    }

    /// Selects `words` in the `n`th passage (from 0) as a drag over them would: a range from
    /// their first character to after their last, in whatever text nodes hold them.
    fn select(&self, n: usize, words: &str) {
        let found = self.js(
            r#"
            const [n, words] = arguments;
            const el = document.querySelectorAll('.ptext')[n];
            const text = el.textContent;
            const at = text.indexOf(words);
            if (at < 0) return false;
            // The text node and offset of a UTF-16 position within the element.
            const place = (pos) => {
              const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
              let node, seen = 0;
              while ((node = w.nextNode())) {
                if (pos <= seen + node.data.length) return [node, pos - seen];
                seen += node.data.length;
              }
              return null;
            };
            const [a, ao] = place(at), [b, bo] = place(at + words.length);
            const r = document.createRange();
            r.setStart(a, ao);
            r.setEnd(b, bo);
            const s = window.getSelection();
            s.removeAllRanges();
            s.addRange(r);
            return s.toString() === words;
            "#,
            vec![Value::from(n), Value::from(words)],
        );
        assert_eq!(found, Value::Bool(true), "`{words}` is not in passage {n} as shown");
    }

    /// Waits for an element `css` finds.
    fn wait_for_css(&self, css: &str) {
        wait_for(css, || !self.text_of(css).is_empty());
    }

    /// Clicks the first element `css` finds.
    fn click(&self, css: &str) {
        self.js("window.fieldnotesOld = true;", vec![]);
        self.rt.block_on(async { self.c().find(Locator::Css(css)).await.unwrap().click().await.unwrap() });
    }

    fn text_of(&self, css: &str) -> Vec<String> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            for e in self.c().find_all(Locator::Css(css)).await.unwrap() {
                out.push(e.text().await.unwrap());
            }
            out
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The note the browser codes: an emoji, accented names, a CRLF note.
fn accented(p: &TestProject) {
    p.write(
        "notes/fife/a.md",
        "---\nsite: Fife\n---\nZoë Ḿacleod 😀 opened the meeting. We built trust slowly over the year.\n\n\
         Then 🎉🎉 the budget came, and José said the café was closing.\n",
    );
    p.write(
        "notes/fife/crlf.md",
        "---\r\nsite: Fife\r\n---\r\nFirst line of it\r\nsecond line here, with 👍 trust\r\n",
    );
}

/// The coding a reference coder makes of `words` in passage `id` from the command line.
fn reference(p: &TestProject, id: &str, code: &str, words: &str) -> Value {
    p.run(&["code", "add", id, code, "--coder", "ref", "--quote", words]);
    ledger(p, "ref").into_iter().rev().find(|e| e["text"] == words).unwrap()
}

#[test]
fn selected_words_and_a_number_key_make_a_coding_on_exactly_those_words() {
    let Some(b) = Browser::start("selected_words_and_a_number_key_make_a_coding_on_exactly_those_words") else {
        return;
    };
    let p = TestProject::new();
    accented(&p);
    let s = Served::start(&p, "ann");
    b.open(&s.url());
    let cases = [
        ("notes/fife/a.md", 0, "built trust", '1', "time"),
        ("notes/fife/a.md", 1, "the café", '2', "personalised-connections"),
        ("notes/fife/crlf.md", 0, "second line", '1', "time"),
        ("notes/fife/crlf.md", 0, "👍 trust", '3', "critical-relationships"),
    ];
    for (k, (note, n, words, key, code)) in cases.iter().enumerate() {
        b.open(&format!("{}/{note}", s.base));
        b.select(*n, words);
        b.press(*key);
        wait_for("the coding in the ledger", || ledger(&p, "ann").len() == k + 1);
        let got = ledger(&p, "ann").pop().unwrap();
        let id = p.key_id(&format!("{note}#{}", n + 1));
        let want = reference(&p, &id, code, words);
        assert_eq!(got["text"], *words, "{got}");
        assert_eq!(got["code"], *code, "{got}");
        assert_eq!(
            (&got["start"], &got["end"], &got["doc"]),
            (&want["start"], &want["end"], &want["doc"]),
            "{got}\n{want}"
        );
        // After the reload the words are marked in the code's colour.
        b.ready();
        assert!(b.text_of("mark.coded").iter().any(|t| t == words), "{:?}", b.text_of("mark"));
    }
    // A selection with white space at its ends codes the words alone; `u` takes it off again.
    b.open(&format!("{}/notes/fife/a.md", s.base));
    b.select(0, " opened the ");
    b.press('4');
    wait_for("the trimmed coding", || ledger(&p, "ann").len() == 5);
    assert_eq!(ledger(&p, "ann")[4]["text"], "opened the");
    b.ready();
    b.press('u');
    wait_for("the undo", || ledger(&p, "ann").len() == 6);
    assert_eq!(ledger(&p, "ann")[5]["op"], "remove");
    let left = listed(&p, &["code", "list", "--coder", "ann", "--json"]);
    assert_eq!(left.len(), 4, "{left:#?}");

    // A click on a highlight shows the coding; a memo is written on it, and it is removed, and
    // `u` brings it back whole, memo and all.
    b.ready();
    let events = || ledger(&p, "ann").len();
    let n = events();
    b.click("mark.coded[data-ids]");
    b.wait_for_css("#details .coding[data-coder='ann']");
    assert!(b.text_of("#details").iter().any(|t| t.contains("by ann")), "{:?}", b.text_of("#details"));
    b.rt.block_on(async {
        let memo = b.c().find(Locator::Css("#details .coding[data-coder='ann'] .memo-edit")).await.unwrap();
        memo.send_keys("trust, slowly — the year's theme").await.unwrap();
    });
    b.click("#details .coding[data-coder='ann'] .save-memo");
    wait_for("the memo", || events() == n + 1);
    let memo = ledger(&p, "ann").pop().unwrap();
    assert_eq!((memo["op"].as_str(), memo["memo"].as_str()), (Some("memo"), Some("trust, slowly — the year's theme")));
    let id = memo["id"].as_str().unwrap().to_string();
    let with_memo = listed(&p, &["code", "list", "--coder", "ann", "--json"]);
    let row = with_memo.iter().find(|r| r["coding"]["id"] == id.as_str()).unwrap();
    assert_eq!(row["coding"]["memo"], "trust, slowly — the year's theme");
    b.ready();
    b.click(&format!("mark.coded[data-ids~='{id}']"));
    b.click(&format!("#details .coding[data-id='{id}'] .remove"));
    wait_for("the removal", || events() == n + 2);
    assert_eq!(ledger(&p, "ann")[n + 1]["op"], "remove");
    b.ready();
    b.press('u');
    wait_for("the undo", || events() == n + 3);
    let back = listed(&p, &["code", "list", "--coder", "ann", "--json"]);
    let row = back.iter().find(|r| r["coding"]["id"] == id.as_str()).expect("the coding is back");
    assert_eq!(row["coding"]["memo"], "trust, slowly — the year's theme");

    // A code made on the spot joins the codebook and the list, ninth: `9` codes with it.
    b.ready();
    b.click("details.newcode summary");
    b.rt.block_on(async {
        let form = b.c().find(Locator::Css("#new-code")).await.unwrap();
        form.find(Locator::Css("input[name=id]")).await.unwrap().send_keys("ritual").await.unwrap();
        form.find(Locator::Css("input[name=name]")).await.unwrap().send_keys("Meeting ritual").await.unwrap();
        form.find(Locator::Css("button")).await.unwrap().click().await.unwrap();
    });
    wait_for("the new code", || p.read("codebook.toml").contains("id = \"ritual\""));
    b.ready();
    wait_for("the list with the new code", || b.text_of("#codes li").len() == 9);
    b.select(1, "José");
    b.press('9');
    wait_for("the coding with the new code", || ledger(&p, "ann").last().unwrap()["code"] == "ritual");
    assert_eq!(ledger(&p, "ann").last().unwrap()["text"], "José");
    p.run(&["codebook", "check"]);
}

#[test]
fn review_keys_accept_reject_skip_and_undo_and_a_cli_coding_shows_after_reload() {
    let Some(b) = Browser::start("review_keys_accept_reject_skip_and_undo_and_a_cli_coding_shows_after_reload") else {
        return;
    };
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    let s = Served::start(&p, "ann");
    b.open(&s.url());
    b.open(&format!("{}/review", s.base));
    let current = || b.js("return document.querySelector('#suggestion').dataset.id;", vec![]);
    let first = current();
    let decided = |id: &Value| {
        ledger(&p, "rules")
            .into_iter()
            .filter(|e| e["op"] == "status" && &e["id"] == id)
            .map(|e| {
                (e["status"].as_str().unwrap_or_default().to_string(), e["by"].as_str().unwrap_or_default().to_string())
            })
            .collect::<Vec<_>>()
    };
    b.press('a');
    wait_for("the acceptance", || !decided(&first).is_empty());
    assert_eq!(decided(&first), [("accepted".to_string(), "ann".to_string())]);
    b.ready();
    // The page says what was done, after it is back.
    assert_eq!(b.text_of("#status"), ["accepted"]);
    let second = current();
    assert_ne!(first, second);
    b.press('r');
    wait_for("the rejection", || !decided(&second).is_empty());
    assert_eq!(decided(&second)[0].0, "rejected");
    b.ready();
    b.press('u');
    wait_for("the undo", || decided(&second).len() == 2);
    assert_eq!(decided(&second)[1], ("suggested".to_string(), "ann".to_string()));
    b.ready();
    assert_eq!(current(), second, "the suggestion undone is shown again");
    b.press('s');
    b.ready();
    assert_ne!(current(), second, "skip shows the next");
    assert_eq!(decided(&second).len(), 2, "skip decides nothing");
    let accepted = listed(&p, &["code", "list", "--coder", "rules", "--status", "accepted", "--json"]);
    assert!(accepted.iter().any(|r| r["coding"]["id"] == first), "{accepted:#?}");

    // A coding made on the command line shows on the note page after a reload.
    let note = "notes/fife/2016-03-02-locality-planning-group-levenmouth.md";
    b.open(&format!("{}/{}", s.base, note));
    let marks = |b: &Browser| b.text_of("mark.coded");
    assert!(!marks(&b).iter().any(|t| t == "radiator that cannot be turned down"));
    p.run(&[
        "code",
        "add",
        &format!("{note}#1"),
        "context",
        "--coder",
        "hb",
        "--quote",
        "radiator that cannot be turned down",
    ]);
    b.rt.block_on(b.c().refresh()).unwrap();
    b.ready();
    assert!(marks(&b).iter().any(|t| t == "radiator that cannot be turned down"), "{:?}", marks(&b));
}

#[test]
fn the_html_report_fits_a_1280_pixel_window_and_names_codes() {
    let Some(b) = Browser::start("the_html_report_fits_a_1280_pixel_window_and_names_codes") else {
        return;
    };
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--coder", "hb", "-q"]);
    let page = p.path().join("report.html");
    p.run(&["report", "html", "-o", page.to_str().unwrap()]);
    b.rt.block_on(b.c().goto(&format!("file://{}", page.display()))).unwrap();
    let width = b.js("return window.innerWidth;", vec![]).as_f64().unwrap();
    assert!((1200.0..=1280.0).contains(&width), "the window is {width} px wide");
    let wider = b.js(
        r#"
        const w = window.innerWidth;
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          if (r.right > w + 0.5) out.push(el.tagName + ' ' + Math.round(r.right));
        }
        if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth);
        return out;
        "#,
        vec![],
    );
    assert_eq!(wider, Value::Array(vec![]), "elements wider than the window");
    // Codes by their names in the tables and the figure; keyness has its section.
    let text = b.text_of("body").join("\n");
    assert!(text.contains("Personalised connections") && text.contains("Words by site: keyness"), "{text}");
    let svg = std::fs::read_to_string(&page).unwrap();
    assert!(svg.contains("<title>Personalised connections (personalised-connections)</title>"));
}
