//! One flow request at a time per session. Each use case reads the session, may call
//! the provider, and writes the session back; two at once would both start from the
//! same snapshot, and the later write would undo the earlier (a try, a send). So a
//! request that changes the flow holds a lock in the state store, named after its
//! session, from before the session is read until after it is saved; others of that
//! session wait for it (a double click is served in turn), and give up with a 503
//! after a while. Held in the store, it holds across instances.
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::{SECURE_SESSION_COOKIE, SESSION_COOKIE};
use crate::server::embed::SESSION_HEADER;
use crate::server::{hardening, request};
use crate::server::store::StateStore;
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

pub async fn one_at_a_time(
    State(store): State<Arc<dyn StateStore>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = lock_key(&request) else {
        return next.run(request).await;
    };
    let deadline = Instant::now() + WAIT;
    loop {
        match store.set_if_absent(&key, b"1", HELD_AT_MOST).await {
            Ok(true) => break,
            Ok(false) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Ok(false) => {
                tracing::info!("a session's flow request waited too long for its turn");
                return hardening::refuse(VerifyError::ServiceBusy { retry_after: 1 });
            }
            Err(error) => {
                tracing::error!(%error, "cannot take a session's flow lock");
                return hardening::refuse(VerifyError::ServiceUnavailable);
            }
        }
    }
    let _held = Held { store, key };
    next.run(request).await
}

/// Frees the lock however the request ends, a timeout or a closed connection
/// included.
struct Held {
    store: Arc<dyn StateStore>,
    key: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (store, key) = (self.store.clone(), std::mem::take(&mut self.key));
        tokio::spawn(async move {
            if let Err(error) = store.delete(&key).await {
                tracing::error!(%error, "cannot free a session's flow lock");
            }
        });
    }
}

/// The lock of the session a flow request belongs to; none for other requests, and
/// for a visitor without a session yet (whose requests cannot share one).
fn lock_key(request: &Request) -> Option<String> {
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
    let session = embed_id
        .map(str::to_owned)
        .or_else(|| {
            let named = headers.get(SESSION_HEADER)?.to_str().ok()?;
            Some(named.to_owned())
        })
        .map(|id| format!("embed:{id}"))
        .or_else(|| {
            let id = request::cookie(headers, SESSION_COOKIE)
                .or_else(|| request::cookie(headers, SECURE_SESSION_COOKIE))?;
            Some(format!("cookie:{id}"))
        })?;
    // Ids are short; a longer value is not one of ours and gets no key of its size.
    (session.len() <= 128).then(|| format!("flow-lock:{session}"))
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
        assert_eq!(
            lock_key(&post("/api/verify/check", &cookie)).as_deref(),
            Some("flow-lock:cookie:abc")
        );
        assert_eq!(
            lock_key(&post("/embed/s/xyz/api/verify/start", &[])).as_deref(),
            Some("flow-lock:embed:xyz")
        );
        assert_eq!(
            lock_key(&post("/api/verify/resend", &[("x-pv-session", "xyz")])).as_deref(),
            Some("flow-lock:embed:xyz")
        );
    }

    #[test]
    fn other_requests_do_not_wait() {
        let cookie = [("cookie", "pv_session=abc")];
        assert_eq!(lock_key(&post("/api/verify/format", &cookie)), None);
        assert_eq!(
            lock_key(&post("/api/verify/check", &[])),
            None,
            "no session yet"
        );
        let get = Request::builder()
            .uri("/api/verify/check")
            .header("cookie", "pv_session=abc")
            .body(Body::empty())
            .unwrap();
        assert_eq!(lock_key(&get), None);
    }
}
