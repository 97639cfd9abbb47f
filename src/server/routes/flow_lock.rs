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
//! session to its new id (the note `session::renewed_key`); nothing else does.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Notify;

use super::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
use crate::server::embed::SESSION_HEADER;
use crate::server::store::StateStore;
use crate::server::{hardening, request, session};
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
}

impl FlowLocks {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        let local = (!store.is_shared()).then(Arc::default);
        Self { store, local }
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
    let store = &locks.store;
    let Some(mut session) = session_of(&request) else {
        return next.run(request).await;
    };
    let call = request.uri().path().to_owned();
    // A session renewed by the same call a moment ago is followed, once or twice.
    for _ in 0..3 {
        let held = match take_turn(&locks, &session).await {
            Ok(held) => held,
            Err(refusal) => return refusal,
        };
        let Some(renewed) = renewed_by(store, &session, &call).await else {
            return next.run(request).await;
        };
        drop(held);
        let Session::Cookie { name, .. } = session else {
            return next.run(request).await;
        };
        set_cookie(&mut request, name, &renewed);
        session = Session::Cookie { name, id: renewed };
    }
    hardening::refuse(VerifyError::ServiceBusy { retry_after: 1 })
}

/// Waits for the session's lock, up to [`WAIT`].
async fn take_turn(locks: &FlowLocks, session: &Session) -> Result<Held, Response> {
    let key = session.lock_key();
    let deadline = Instant::now() + WAIT;
    if let Some(local) = &locks.local {
        if local.take(&key, deadline).await {
            return Ok(Held::Local {
                locks: local.clone(),
                key,
            });
        }
        tracing::info!("a session's flow request waited too long for its turn");
        return Err(hardening::refuse(VerifyError::ServiceBusy {
            retry_after: 1,
        }));
    }
    let store = &locks.store;
    loop {
        match store.set_if_absent(&key, b"1", HELD_AT_MOST).await {
            Ok(true) => {
                return Ok(Held::Stored {
                    store: store.clone(),
                    key,
                });
            }
            Ok(false) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Ok(false) => {
                tracing::info!("a session's flow request waited too long for its turn");
                return Err(hardening::refuse(VerifyError::ServiceBusy {
                    retry_after: 1,
                }));
            }
            Err(error) => {
                tracing::error!(%error, "cannot take a session's flow lock");
                return Err(hardening::refuse(VerifyError::ServiceUnavailable));
            }
        }
    }
}

/// The new id of a cookie session that `call` renewed within the note's lifetime: a
/// double submit follows the session; another call with the old id does not.
async fn renewed_by(store: &Arc<dyn StateStore>, session: &Session, call: &str) -> Option<String> {
    let Session::Cookie { id, .. } = session else {
        return None;
    };
    let note = store.get(&session::renewed_key(id)).await.ok()??;
    let note = String::from_utf8(note).ok()?;
    let (renewed, by) = note.split_once('|')?;
    (by == call).then(|| renewed.to_owned())
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

/// Frees the lock however the request ends, a timeout or a closed connection
/// included.
enum Held {
    Stored {
        store: Arc<dyn StateStore>,
        key: String,
    },
    Local {
        locks: Arc<LocalLocks>,
        key: String,
    },
}

impl Drop for Held {
    fn drop(&mut self) {
        match self {
            Held::Stored { store, key } => {
                let (store, key) = (store.clone(), std::mem::take(key));
                tokio::spawn(async move {
                    if let Err(error) = store.delete(&key).await {
                        tracing::error!(%error, "cannot free a session's flow lock");
                    }
                });
            }
            Held::Local { locks, key } => locks.release(key),
        }
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
    fn a_renewed_cookie_replaces_the_old_one_only() {
        let mut request = post(
            "/api/verify/check",
            &[("cookie", "a=1; pv_session=old; b=2")],
        );
        set_cookie(&mut request, SESSION_COOKIE, "new");
        assert_eq!(request.headers()["cookie"], "a=1; pv_session=new; b=2");
    }
}
