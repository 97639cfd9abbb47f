//! One flow request at a time per session. Each use case reads the session, may call
//! the provider, and writes the session back; two at once would both start from the
//! same snapshot, and the later write would undo the earlier (a try, a send). So a
//! request that changes the flow holds a lock in the state store, named after its
//! session, from before the session is read until after it is saved; others of that
//! session wait for it (a double click is served in turn), and give up with a 503
//! after a while. Held in the store, it holds across instances; with a store that
//! is this process's own (SQLite), no other instance exists, and the lock is kept
//! in memory instead, which saves two store writes per flow request.
//!
//! When a request renews its session's id (a code sent, a number verified), a
//! double submit of the same call with the old id, for a few seconds, follows the
//! session to its new id (the note [`renewed_key`], left as the lock is freed);
//! nothing else does.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use super::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
use crate::server::embed::SESSION_HEADER;
use crate::server::store::{
    AfterAnswer, SQLITE_MEMORY_ONLY_UNDER, Sessions, StateStore, StoreError, Write,
};
use crate::server::{hardening, request};
use crate::verify::VerifyError;

/// The use cases that write the session; the number check and the state read do not
/// wait.
const FLOW_CALLS: [&str; 4] = [
    "/api/verify/start",
    "/api/verify/check",
    "/api/verify/resend",
    "/api/verify/restart",
];

/// How long a request waits for its turn before it is refused.
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);
/// A lock left by a process that died is free after this; above the request
/// timeout, so a live request never loses its lock.
const HELD_AT_MOST: Duration = Duration::from_secs(35);

/// Where the flow locks are kept: in the store when instances share it, else in
/// this process.
pub struct FlowLocks {
    store: Arc<dyn StateStore>,
    local: Option<Arc<LocalLocks>>,
    /// Where each lock's release runs, with what its request left for after its
    /// answer: shutdown waits for them (`serve`).
    after_answers: TaskTracker,
}

impl FlowLocks {
    pub fn new(store: Arc<dyn StateStore>, after_answers: TaskTracker) -> Self {
        let local = (!store.is_shared()).then(Arc::default);
        Self {
            store,
            local,
            after_answers,
        }
    }
}

/// The sessions whose flow request is running, in this process.
#[derive(Default)]
struct LocalLocks {
    held: std::sync::Mutex<HashSet<String>>,
    freed: Notify,
}

impl LocalLocks {
    /// Takes `key`, waiting for it until `deadline`; `false` when that passed.
    async fn take(&self, key: &str, deadline: Instant) -> bool {
        loop {
            // Listening before looking, so that a release in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.lock().insert(key.to_owned()) {
                return true;
            }
            let deadline = tokio::time::Instant::from_std(deadline);
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return false;
            }
        }
    }

    fn release(&self, key: &str) {
        self.lock().remove(key);
        self.freed.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of names, always whole: a panic elsewhere cannot tear it.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub async fn one_at_a_time(
    State(locks): State<Arc<FlowLocks>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(mut session) = session_of(&request) else {
        return next.run(request).await;
    };
    let call = request.uri().path().to_owned();
    // A session renewed by the same call a moment ago is followed, once or twice.
    for _ in 0..3 {
        let mut turn = match take_turn(&locks, &session).await {
            Ok(turn) => turn,
            Err(refusal) => return refusal,
        };
        let Session::Cookie { name, id } = &session else {
            return turn.held.later.scope(next.run(request)).await;
        };
        let followed = turn
            .note
            .as_deref()
            .and_then(|note| renewed_by(note, &call));
        let Some(renewed) = followed else {
            let record = turn.record.take();
            let response = turn
                .held
                .later
                .scope(async move {
                    match record {
                        Some(record) => {
                            Sessions::with_read_ahead(id.clone(), record, next.run(request)).await
                        }
                        None => next.run(request).await,
                    }
                })
                .await;
            if let Some(new) = renewed_in(&response, name, id) {
                turn.held.note = Some((renewed_key(id), format!("{new}|{call}")));
            }
            return response;
        };
        let name = *name;
        drop(turn);
        set_cookie(&mut request, name, &renewed);
        session = Session::Cookie { name, id: renewed };
    }
    hardening::refuse(VerifyError::ServiceBusy { retry_after: 1 })
}

/// Where a renewed session id is noted: `renewed:<old id>` holds the new id and the
/// call that changed it, so that a double submit of that call, sent with the old id
/// just before or after, follows the session.
fn renewed_key(old_id: &str) -> String {
    format!("renewed:{old_id}")
}

/// How long a double submit may follow a renewed id: a double click, or a form sent
/// again while the first answer is on its way. Later, the old id is worth nothing.
/// So short a life is not worth writing to SQLite's file: kept in memory there.
const RENEWED_NOTE_TTL: Duration = Duration::from_secs(10);
const _: () = assert!(RENEWED_NOTE_TTL.as_millis() < SQLITE_MEMORY_ONLY_UNDER.as_millis());

/// A session's turn: its lock, and for a cookie session the renewal note left under
/// its id and, from a shared store, its record, read in the trip that took the lock.
struct Turn {
    held: Held,
    note: Option<Vec<u8>>,
    /// `None`: not read ahead.
    record: Option<Option<Vec<u8>>>,
}

/// Waits for the session's lock, up to [`WAIT`].
async fn take_turn(locks: &FlowLocks, session: &Session) -> Result<Turn, Response> {
    let key = session.lock_key();
    let cookie_id = match session {
        Session::Cookie { id, .. } => Some(id),
        Session::Embed(_) => None,
    };
    let deadline = Instant::now() + WAIT;
    let store = &locks.store;
    let held = |local: Option<Arc<LocalLocks>>, key: String| Held {
        store: store.clone(),
        after_answers: locks.after_answers.clone(),
        local,
        key,
        note: None,
        later: AfterAnswer::default(),
    };
    let unavailable = |error: StoreError| {
        tracing::error!(%error, "cannot take a session's flow lock");
        hardening::refuse(VerifyError::ServiceUnavailable)
    };
    if let Some(local) = &locks.local {
        if !local.take(&key, deadline).await {
            return Err(waited_too_long());
        }
        let held = held(Some(local.clone()), key);
        let note = match cookie_id {
            Some(id) => store.get(&renewed_key(id)).await.map_err(unavailable)?,
            None => None,
        };
        let record = None;
        return Ok(Turn { held, note, record });
    }
    let reads = cookie_id.map(|id| [renewed_key(id), Sessions::key_for(id)]);
    let reads: Vec<&str> = reads.iter().flatten().map(String::as_str).collect();
    loop {
        let (taken, mut values) = store
            .set_if_absent_and_read(&key, b"1", HELD_AT_MOST, &reads)
            .await
            .map_err(unavailable)?;
        if taken {
            let mut values = values.drain(..);
            let (note, record) = (values.next().flatten(), values.next());
            let held = held(None, key);
            return Ok(Turn { held, note, record });
        }
        if Instant::now() >= deadline {
            return Err(waited_too_long());
        }
        tokio::time::sleep(POLL).await;
    }
}

fn waited_too_long() -> Response {
    tracing::info!("a session's flow request waited too long for its turn");
    hardening::refuse(VerifyError::ServiceBusy { retry_after: 1 })
}

/// The new id in a renewal `note` when `call` renewed it: a double submit follows
/// the session; another call with the old id does not.
fn renewed_by(note: &[u8], call: &str) -> Option<String> {
    let (renewed, by) = std::str::from_utf8(note).ok()?.split_once('|')?;
    (by == call).then(|| renewed.to_owned())
}

/// The id `response` gives the cookie `name` in place of `id`: the request renewed
/// its session.
fn renewed_in(response: &Response, name: &str, id: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| {
            let pair = cookie.split(';').next()?.trim();
            pair.strip_prefix(name)?
                .strip_prefix('=')
                .map(str::to_owned)
        })
        .filter(|new| !new.is_empty() && new != id)
}

/// Points the request's session cookie `name` at `id`.
fn set_cookie(request: &mut Request, name: &str, id: &str) {
    let cookies: Vec<String> = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .map(str::trim)
        .filter(|cookie| !cookie.is_empty())
        .map(|cookie| match cookie.split_once('=') {
            Some((cookie_name, _)) if cookie_name == name => format!("{name}={id}"),
            _ => cookie.to_owned(),
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&cookies.join("; ")) {
        request.headers_mut().insert(header::COOKIE, value);
    }
}

/// A session's flow lock, freed however the request ends (a timeout or a closed
/// connection included), after the writes the request left for after its answer
/// and the note of a renewal: a double submit waiting on it then finds them made.
/// All happen after the answer has left, in one trip to a shared store.
struct Held {
    store: Arc<dyn StateStore>,
    after_answers: TaskTracker,
    /// The process's own locks, when the lock is one of them.
    local: Option<Arc<LocalLocks>>,
    key: String,
    /// The renewal note to leave (key, value), if the request renewed its session.
    note: Option<(String, String)>,
    /// What the request left for after its answer.
    later: AfterAnswer,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (key, note, local, later) = (
            std::mem::take(&mut self.key),
            self.note.take(),
            self.local.take(),
            self.later.take(),
        );
        if let (Some(local), None, true) = (&local, &note, later.is_empty()) {
            local.release(&key);
            return;
        }
        let store = self.store.clone();
        self.after_answers.spawn(async move {
            let mut writes: Vec<Write> = later.iter().map(|write| write.as_write()).collect();
            if let Some((note_key, value)) = &note {
                writes.push(Write::Set {
                    key: note_key,
                    value: value.as_bytes(),
                    ttl: RENEWED_NOTE_TTL,
                });
            }
            if local.is_none() {
                writes.push(Write::Delete(&key));
            }
            if let Err(error) = store.write_all(&writes).await {
                tracing::error!(%error, "cannot free a session's flow lock after its answer");
            }
            if let Some(local) = local {
                local.release(&key);
            }
        });
    }
}

/// The session a flow request belongs to.
#[derive(Debug, PartialEq, Eq)]
enum Session {
    /// The cookie `name` (plain or `__Host-`) of the widget's own page.
    Cookie { name: &'static str, id: String },
    /// An embedded widget's session, named in its address or a header.
    Embed(String),
}

impl Session {
    fn lock_key(&self) -> String {
        match self {
            Session::Cookie { id, .. } => format!("flow-lock:cookie:{id}"),
            Session::Embed(id) => format!("flow-lock:embed:{id}"),
        }
    }
}

/// The session of a flow request; none for other requests, and for a visitor
/// without a session yet (whose requests cannot share one).
fn session_of(request: &Request) -> Option<Session> {
    if request.method() != Method::POST {
        return None;
    }
    let path = request.uri().path();
    let (embed_id, call) = match path.strip_prefix("/embed/s/") {
        Some(rest) => {
            let (id, call) = rest.split_once('/')?;
            (Some(id), format!("/{call}"))
        }
        None => (None, path.to_owned()),
    };
    if !FLOW_CALLS.contains(&call.as_str()) {
        return None;
    }
    let headers = request.headers();
    let named = || headers.get(SESSION_HEADER)?.to_str().ok();
    let session = match embed_id.or_else(named) {
        Some(id) => Session::Embed(id.to_owned()),
        None => [SESSION_COOKIE, SECURE_SESSION_COOKIE]
            .into_iter()
            .find_map(|name| {
                let id = request::cookie(headers, name)?;
                Some(Session::Cookie {
                    name,
                    id: id.to_owned(),
                })
            })?,
    };
    // Ids are short; a longer value is not one of ours and gets no key of its size.
    let id = match &session {
        Session::Cookie { id, .. } | Session::Embed(id) => id,
    };
    (id.len() <= 128).then_some(session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(path: &str, headers: &[(&str, &str)]) -> Request {
        let mut request = Request::builder().method(Method::POST).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Body::empty()).unwrap()
    }

    #[test]
    fn flow_calls_are_locked_by_their_session() {
        let cookie = [("cookie", "theme=dark; pv_session=abc")];
        let key = |request: Request| session_of(&request).map(|s| s.lock_key());
        assert_eq!(
            key(post("/api/verify/check", &cookie)).as_deref(),
            Some("flow-lock:cookie:abc")
        );
        assert_eq!(
            key(post("/embed/s/xyz/api/verify/start", &[])).as_deref(),
            Some("flow-lock:embed:xyz")
        );
        assert_eq!(
            key(post("/api/verify/resend", &[("x-pv-session", "xyz")])).as_deref(),
            Some("flow-lock:embed:xyz")
        );
    }

    #[test]
    fn other_requests_do_not_wait() {
        let cookie = [("cookie", "pv_session=abc")];
        assert_eq!(session_of(&post("/api/verify/format", &cookie)), None);
        assert_eq!(
            session_of(&post("/api/verify/check", &[])),
            None,
            "no session yet"
        );
        let get = Request::builder()
            .uri("/api/verify/check")
            .header("cookie", "pv_session=abc")
            .body(Body::empty())
            .unwrap();
        assert_eq!(session_of(&get), None);
    }

    #[tokio::test]
    async fn a_local_lock_is_taken_in_turn_and_waited_for_only_so_long() {
        let locks = Arc::new(LocalLocks::default());
        let later = || Instant::now() + WAIT;
        assert!(locks.take("a", later()).await);
        let waiting = tokio::spawn({
            let locks = locks.clone();
            async move { locks.take("a", later()).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        assert!(
            locks.take("b", later()).await,
            "another session does not wait"
        );
        locks.release("a");
        assert!(waiting.await.unwrap(), "and gets its turn when it is freed");
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(
            !locks.take("b", soon).await,
            "a turn that never comes is given up at the deadline"
        );
    }

    #[test]
    fn a_renewal_is_read_off_the_answers_cookie_and_followed_by_the_same_call_only() {
        let answer = |cookies: &[&str]| {
            let mut response = Response::new(Body::empty());
            for cookie in cookies {
                let value = HeaderValue::from_str(cookie).unwrap();
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        };
        let renewed = answer(&["pv_lang=de; Path=/", "pv_session=new; HttpOnly; Path=/"]);
        assert_eq!(
            renewed_in(&renewed, SESSION_COOKIE, "old").as_deref(),
            Some("new")
        );
        let saved = answer(&["pv_session=old; HttpOnly"]);
        assert_eq!(renewed_in(&saved, SESSION_COOKIE, "old"), None, "same id");
        let other = answer(&["pv_session_x=new", "__Host-pv_session=new"]);
        assert_eq!(
            renewed_in(&other, SESSION_COOKIE, "old"),
            None,
            "other names"
        );
        assert_eq!(renewed_in(&answer(&[]), SESSION_COOKIE, "old"), None);

        let note = b"new|/api/verify/check";
        assert_eq!(
            renewed_by(note, "/api/verify/check").as_deref(),
            Some("new")
        );
        assert_eq!(renewed_by(note, "/api/verify/start"), None);
        assert_eq!(renewed_by(b"garbage", "/api/verify/check"), None);
    }

    /// Shutdown waits for the lock's holder to make what its request left for after
    /// the answer, before it writes the state down.
    #[tokio::test]
    async fn what_a_request_left_after_its_answer_is_made_before_shutdown_goes_on() {
        use crate::server::store::{Later, SqliteStore, after_answer};

        let dir = std::env::temp_dir().join(format!("pv-flow-lock-{}", std::process::id()));
        let store: Arc<dyn StateStore> =
            Arc::new(SqliteStore::open(&dir.join("state.sqlite3")).unwrap());
        let locks = FlowLocks::new(store.clone(), TaskTracker::new());
        let session = Session::Cookie {
            name: SESSION_COOKIE,
            id: "old".to_owned(),
        };
        let old_record = Sessions::key_for("old");
        store
            .set(&old_record, b"{}", Duration::from_secs(60))
            .await
            .unwrap();
        let Ok(mut turn) = take_turn(&locks, &session).await else {
            panic!("a free lock is taken");
        };
        turn.held
            .later
            .scope(after_answer(
                store.as_ref(),
                [Later::Delete(old_record.clone())],
            ))
            .await
            .unwrap();
        turn.held.note = Some((renewed_key("old"), "new|/api/verify/check".to_owned()));
        drop(turn);

        locks.after_answers.close();
        locks.after_answers.wait().await;
        assert_eq!(store.get(&old_record).await.unwrap(), None, "deleted");
        assert!(store.get(&renewed_key("old")).await.unwrap().is_some());
        let local = locks.local.as_ref().unwrap();
        assert!(
            local.take(&session.lock_key(), Instant::now()).await,
            "freed"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_renewed_cookie_replaces_the_old_one_only() {
        let mut request = post(
            "/api/verify/check",
            &[("cookie", "a=1; pv_session=old; b=2")],
        );
        set_cookie(&mut request, SESSION_COOKIE, "new");
        assert_eq!(request.headers()["cookie"], "a=1; pv_session=new; b=2");
    }
}
