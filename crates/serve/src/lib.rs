//! `fieldnotes serve`: a local web workbench for reading and coding a study in the browser.
//!
//! It binds 127.0.0.1 only and answers only requests that carry its random token (in the URL it
//! prints, then in a cookie set from it) and name the loopback host, so that neither another
//! user of the machine nor a web page elsewhere can read or code the notes. Every page is
//! rendered on the server from the same library the command line uses ([`fieldnotes_study`]),
//! and every write goes through the same code and locks: the command line and the browser can
//! work on one project at once. Every asset is in the binary; nothing is fetched from elsewhere.

mod pages;

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fieldnotes_coding::ledger::{Coding, Event, Ledger, Status};
use fieldnotes_corpus::Project;
use fieldnotes_study::Tell;
use serde::Deserialize;

/// How to serve.
#[derive(Clone, Debug)]
pub struct Options {
    /// The port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Who codes from the page.
    pub coder: String,
}

/// The cookie that carries the token after the first request, named with the port: browsers
/// keep cookies by host, not by port, and two workbenches (two projects) may be open at once.
fn cookie_name(port: u16) -> String {
    format!("fieldnotes_token_{port}")
}

/// What every request handler shares.
struct App {
    project: Project,
    coder: String,
    token: String,
    /// The port bound, for checking the `Host` header.
    port: u16,
    /// The coding actions made from the pages, last last, each with the page it was made on
    /// (its path): what `u` on that page undoes.
    undo: Mutex<Vec<(String, Undo)>>,
    /// Held by each action while it reads and writes the codings: two at once (a double click)
    /// both found the coding missing and both wrote it.
    acting: Mutex<()>,
}

/// A coding action that can be undone.
#[derive(Clone, Debug)]
enum Undo {
    /// A coding was added (its id).
    Added(String),
    /// Codings were removed: added again as they were.
    Removed(Vec<Coding>),
    /// A suggestion was accepted or rejected: suggested again.
    Decided(Box<Coding>),
    /// A memo was written on a coding (its id, and the memo it had).
    Memo(String, String),
}

/// Serves `project` until interrupted (Ctrl-C or SIGTERM). `ready` gets the URL with the token,
/// once the port is bound and before the first request is taken.
pub fn run(project: Project, opts: Options, ready: impl FnOnce(&str) -> Result<()>) -> Result<()> {
    fieldnotes_coding::ledger::validate_coder(&opts.coder)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await.with_context(|| {
            format!("cannot listen on 127.0.0.1:{}; is the port in use? `--port 0` takes any free one", opts.port)
        })?;
        let port = listener.local_addr()?.port();
        let token = new_token()?;
        let url = format!("http://127.0.0.1:{port}/?token={token}");
        let app = Arc::new(App {
            project,
            coder: opts.coder,
            token,
            port,
            undo: Mutex::new(Vec::new()),
            acting: Mutex::new(()),
        });
        ready(&url)?;
        axum::serve(listener, router(app)).with_graceful_shutdown(interrupted()).await?;
        Ok(())
    })
}

/// 32 random hex digits.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot make a random token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn interrupted() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/notes/{*path}", get(note))
        .route("/review", get(review))
        .route("/search", get(search))
        .route("/codebook", get(codebook))
        .route("/themes", get(themes))
        .route("/assets/app.js", get(|| asset("text/javascript; charset=utf-8", pages::APP_JS)))
        .route("/assets/app.css", get(|| asset("text/css; charset=utf-8", pages::APP_CSS)))
        .route("/api/code", post(api_code))
        .route("/api/remove", post(api_remove))
        .route("/api/review", post(api_review))
        .route("/api/memo", post(api_memo))
        .route("/api/undo", post(api_undo))
        .route("/api/codes", post(api_new_code))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

async fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// Lets through only requests to the loopback host that carry the token: in the query (the
/// cookie is then set and the token taken out of the address) or in the cookie.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let host_ok = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == format!("127.0.0.1:{}", app.port) || h == format!("localhost:{}", app.port));
    if !host_ok {
        return (StatusCode::FORBIDDEN, "fieldnotes serve answers only at 127.0.0.1\n").into_response();
    }
    let query = req.uri().query().unwrap_or("");
    let given = query.split('&').find_map(|kv| kv.strip_prefix("token="));
    if let Some(given) = given {
        if !same(given, &app.token) {
            return refused();
        }
        // Set the cookie, and go to the same page without the token in its address.
        let rest: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("token=")).collect();
        let mut to = req.uri().path().to_string();
        if !rest.is_empty() {
            to = format!("{to}?{}", rest.join("&"));
        }
        let mut resp = Redirect::to(&to).into_response();
        let cookie = format!("{}={}; Path=/; HttpOnly; SameSite=Strict", cookie_name(app.port), app.token);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        return resp;
    }
    if cookie(req.headers(), &cookie_name(app.port)).is_some_and(|c| same(c, &app.token)) {
        return next.run(req).await;
    }
    refused()
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "401: this workbench needs its token; open the address `fieldnotes serve` printed (with ?token=...)\n",
    )
        .into_response()
}

/// The value of cookie `name`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

/// Equal strings, compared in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the library says while serving a request: printed on stderr as the command line does,
/// and kept to show on the page.
#[derive(Default)]
pub(crate) struct Log {
    said: Mutex<Vec<String>>,
}

impl Log {
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.said.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Tell for Log {
    #[allow(clippy::print_stderr)]
    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
        self.said.lock().unwrap_or_else(|e| e.into_inner()).push(message.to_string());
    }
    #[allow(clippy::print_stderr)]
    fn info(&self, message: &str) {
        eprintln!("{message}");
    }
    fn progress(&self, _: u64, _: &str) -> indicatif::ProgressBar {
        indicatif::ProgressBar::hidden()
    }
}

/// Runs a page's work off the async threads (it reads files), and lays the page out with what
/// the library warned about; an error is a page that says it.
async fn page(
    app: Arc<App>,
    title: String,
    work: impl FnOnce(&App, &Log) -> Result<maud::Markup> + Send + 'static,
) -> Response {
    let done = tokio::task::spawn_blocking(move || {
        let log = Log::default();
        let body = work(&app, &log);
        (body, log.taken(), app.coder.clone())
    })
    .await;
    match done {
        Ok((Ok(body), warnings, coder)) => {
            Html(pages::layout(&title, &coder, &warnings, body).into_string()).into_response()
        }
        Ok((Err(e), warnings, coder)) => {
            let body = pages::error(&e);
            (StatusCode::BAD_REQUEST, Html(pages::layout(&title, &coder, &warnings, body).into_string()))
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("the page failed: {e}")).into_response(),
    }
}

/// Runs an action off the async threads; answers JSON: its result, or `{"error": ...}` (400).
async fn action<T: serde::Serialize + Send + 'static>(
    app: Arc<App>,
    work: impl FnOnce(&App, &Log) -> Result<T> + Send + 'static,
) -> Response {
    let done = tokio::task::spawn_blocking(move || {
        let log = Log::default();
        let _one_at_a_time = app.acting.lock().unwrap_or_else(|e| e.into_inner());
        work(&app, &log)
    })
    .await;
    match done {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => {
            (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({ "error": format!("{e:#}") }))).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({ "error": e.to_string() })))
            .into_response(),
    }
}

async fn index(State(app): State<Arc<App>>) -> Response {
    page(app, "Notes".into(), |app, log| pages::index(&app.project, log)).await
}

async fn note(State(app): State<Arc<App>>, Path(path): Path<String>) -> Response {
    page(app, path.clone(), move |app, log| pages::note(&app.project, &note_path(&app.project, &path), log)).await
}

/// The note a `/notes/...` address names: `notes/` and the rest, or the rest as it is (a
/// project whose notes are in another folder).
fn note_path(project: &Project, rest: &str) -> String {
    let under = format!("notes/{rest}");
    if project.note_file(&under).is_some() || project.note_file(rest).is_none() { under } else { rest.to_string() }
}

/// Which suggestions `/review` shows, and which of them.
#[derive(Debug, Default, Deserialize)]
struct ReviewQuery {
    code: Option<String>,
    site: Option<String>,
    from: Option<String>,
    /// How many to pass over (skipped).
    #[serde(default)]
    skip: usize,
}

async fn review(State(app): State<Arc<App>>, Query(q): Query<ReviewQuery>) -> Response {
    page(app, "Review".into(), move |app, log| {
        let filter = fieldnotes_study::code::Filter {
            code: q.code.clone().filter(|s| !s.is_empty()),
            site: q.site.clone().filter(|s| !s.is_empty()),
            from: q.from.clone().filter(|s| !s.is_empty()),
            min_hits: None,
        };
        pages::review(&app.project, &filter, q.skip, log)
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    /// `code:` finds suggestions not yet reviewed too (a checkbox: present when ticked).
    #[serde(default)]
    suggested: Option<String>,
    /// Hits already shown on earlier pages.
    #[serde(default)]
    from: usize,
}

async fn search(State(app): State<Arc<App>>, Query(q): Query<SearchQuery>) -> Response {
    let asked = pages::SearchAsked { query: q.q, include_suggested: q.suggested.is_some(), from: q.from };
    page(app, "Search".into(), move |app, log| pages::search(&app.project, &asked, log)).await
}

async fn codebook(State(app): State<Arc<App>>) -> Response {
    page(app, "Codebook".into(), |app, log| pages::codebook(&app.project, log)).await
}

#[derive(Debug, Default, Deserialize)]
struct ThemesQuery {
    by: Option<String>,
}

async fn themes(State(app): State<Arc<App>>, Query(q): Query<ThemesQuery>) -> Response {
    let by = q.by.filter(|s| !s.is_empty()).unwrap_or_else(|| "site".into());
    page(app, "Themes".into(), move |app, log| pages::themes(&app.project, &by, log)).await
}

/// A coding made on the page: characters `start..end` of a passage (code points from the
/// passage's start, as the ledger counts them), and the words the page showed there.
#[derive(Debug, Deserialize)]
struct CodeRequest {
    passage: String,
    code: String,
    start: usize,
    end: usize,
    /// The words selected, as the page shows them.
    #[serde(default)]
    text: Option<String>,
    memo: Option<String>,
    /// The page the action was made on (its path).
    #[serde(default)]
    page: String,
}

async fn api_code(State(app): State<Arc<App>>, axum::Json(r): axum::Json<CodeRequest>) -> Response {
    action(app, move |app, log| {
        let study = fieldnotes_study::Study::load_note(app.project.clone(), &r.passage, log)?;
        let span = shown_span(&study, &r, log)?;
        let memo = r.memo.filter(|m| !m.trim().is_empty());
        let added = study.add_coding(&r.passage, &r.code, &app.coder, &span, memo, log)?;
        if added.new {
            app.remember(&r.page, Undo::Added(added.id.clone()));
        }
        Ok(added)
    })
    .await
}

/// The span a page's coding names: its offsets where the passage has the words the page showed
/// there; where the note was edited since the page was loaded, the one place those words stand
/// in the passage now; an error (reload the page) where they stand nowhere or twice. The
/// offsets alone, counted in the old text, put the coding on other words.
fn shown_span(study: &fieldnotes_study::Study, r: &CodeRequest, log: &Log) -> Result<fieldnotes_study::code::Span> {
    use fieldnotes_study::code::Span;
    let at = Span::Chars(r.start, r.end);
    let Some(shown) = r.text.as_deref().filter(|t| !t.trim().is_empty()) else { return Ok(at) };
    let (_, doc, p) = study.passage(&r.passage, log)?;
    let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let now: String = doc.passage_text(p).chars().skip(r.start).take(r.end.saturating_sub(r.start)).collect();
    if words(&now) == words(shown) {
        return Ok(at);
    }
    let quote = Span::Quote(shown.trim().to_string());
    match fieldnotes_study::code::span_in_passage(doc, p, &r.passage, &quote) {
        Ok(_) => Ok(quote),
        Err(_) => anyhow::bail!(
            "the note changed since this page was loaded: “{}” is not where the page showed it (hint: reload the page and select the words again)",
            shown.trim()
        ),
    }
}

#[derive(Debug, Deserialize)]
struct IdRequest {
    id: String,
    #[serde(default)]
    page: String,
}

async fn api_remove(State(app): State<Arc<App>>, axum::Json(r): axum::Json<IdRequest>) -> Response {
    action(app, move |app, log| {
        let removed = fieldnotes_study::code::remove_whole_by_id(&app.project, &r.id, &app.coder, log)?;
        let n = removed.len();
        fieldnotes_study::code::reviewed(&app.project)?;
        app.remember(&r.page, Undo::Removed(removed));
        Ok(serde_json::json!({ "removed": n }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct MemoRequest {
    id: String,
    memo: String,
    #[serde(default)]
    page: String,
}

async fn api_memo(State(app): State<Arc<App>>, axum::Json(r): axum::Json<MemoRequest>) -> Response {
    action(app, move |app, log| {
        let before = fieldnotes_study::code::set_memo(&app.project, &r.id, r.memo.trim(), &app.coder, log)?;
        let had = before.first().and_then(|c| c.memo.clone()).unwrap_or_default();
        app.remember(&r.page, Undo::Memo(r.id.clone(), had));
        Ok(serde_json::json!({ "memos": before.len() }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ReviewRequest {
    id: String,
    accept: bool,
    #[serde(default)]
    page: String,
}

async fn api_review(State(app): State<Arc<App>>, axum::Json(r): axum::Json<ReviewRequest>) -> Response {
    action(app, move |app, log| {
        let table = fieldnotes_study::study::coding_table(&app.project, log)?;
        let c = table
            .with_id(&r.id)
            .find(|c| c.status == Status::Suggested)
            .with_context(|| format!("no suggestion `{}` waits for review (decided already?)", r.id))?;
        let status = if r.accept { Status::Accepted } else { Status::Rejected };
        fieldnotes_study::code::decide(&app.project, &c, status, &app.coder)?;
        fieldnotes_study::code::reviewed(&app.project)?;
        app.remember(&r.page, Undo::Decided(Box::new(c)));
        Ok(serde_json::json!({ "status": status }))
    })
    .await
}

/// Which page asks to undo: its own last action is undone, not one made on another page.
#[derive(Debug, Default, Deserialize)]
struct UndoRequest {
    #[serde(default)]
    page: String,
}

async fn api_undo(State(app): State<Arc<App>>, body: Option<axum::Json<UndoRequest>>) -> Response {
    let page = body.map(|b| b.0.page).unwrap_or_default();
    action(app, move |app, log| {
        let last = {
            let mut stack = app.undo.lock().unwrap_or_else(|e| e.into_inner());
            stack.iter().rposition(|(p, _)| *p == page).map(|i| stack.remove(i).1)
        };
        let Some(last) = last else {
            anyhow::bail!("nothing to undo: no coding action was made from this page since the workbench started")
        };
        let what = match last {
            Undo::Added(id) => {
                fieldnotes_study::code::remove_by_id(&app.project, &id, &app.coder, log)?;
                "the coding added is removed"
            }
            Undo::Removed(codings) => {
                for c in codings {
                    Ledger::new(app.project.root(), &c.coder)?.append(&[Event::Add(c)])?;
                }
                "the codings removed are back"
            }
            Undo::Memo(id, before) => {
                fieldnotes_study::code::set_memo(&app.project, &id, &before, &app.coder, log)?;
                "the memo is as it was"
            }
            Undo::Decided(c) => {
                fieldnotes_study::code::decide(&app.project, &c, Status::Suggested, &app.coder)?;
                "the suggestion waits for review again"
            }
        };
        fieldnotes_study::code::reviewed(&app.project)?;
        Ok(serde_json::json!({ "undone": what }))
    })
    .await
}

#[derive(Debug, Deserialize)]
struct NewCode {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
}

async fn api_new_code(State(app): State<Arc<App>>, axum::Json(r): axum::Json<NewCode>) -> Response {
    action(app, move |app, _| pages::new_code(&app.project, r.id.trim(), r.name.trim(), r.description.trim())).await
}

impl App {
    fn remember(&self, page: &str, u: Undo) {
        self.undo.lock().unwrap_or_else(|e| e.into_inner()).push((page.to_string(), u));
    }
}
