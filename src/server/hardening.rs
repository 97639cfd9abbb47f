//! HTTP hardening: security headers on every response, a Content-Security-Policy with
//! a per-render nonce on the page, CSRF checks on the API, and no caching of anything
//! that depends on the session.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::config::Env;
use leptos::prelude::use_context;

use super::{AppState, Settings, error_response};
use crate::verify::VerifyError;

/// The API takes a phone number or a code: a few hundred bytes. Anything bigger is
/// refused unread.
pub const API_BODY_LIMIT: usize = 8 * 1024;

/// Sets the page's Content-Security-Policy. Called while the shell renders, where the
/// nonce Leptos puts on its own scripts is known. `'wasm-unsafe-eval'` lets the
/// browser compile the widget's WebAssembly; nothing else may run. Who may frame the
/// page is `frame_ancestors` (a CSP source list), or else `FRAME_ANCESTORS`; forms go
/// to this origin, and to `return_to` (a hosted page's forms end by redirecting
/// there, and `form-action` covers redirects too).
pub fn set_page_csp(frame_ancestors: Option<&str>, return_to: Option<&str>) {
    let (Some(state), Some(nonce), Some(response)) = (
        use_context::<AppState>(),
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let options = &state.leptos_options;
    // cargo-leptos' live reload talks over a websocket in development only.
    let reload = match options.env {
        Env::DEV => format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port),
        Env::PROD => String::new(),
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'{}; frame-ancestors {}",
        return_to
            .map(|origin| format!(" {origin}"))
            .unwrap_or_default(),
        frame_ancestors.unwrap_or(&state.settings.frame_ancestors)
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// What [`security_headers`] adds, worked out once from the settings at start-up.
#[derive(Clone)]
pub struct ResponsePolicy {
    /// For responses that set no policy of their own (everything but the page).
    fallback_csp: HeaderValue,
    hsts: bool,
}

impl ResponsePolicy {
    pub fn new(settings: &Settings) -> Self {
        let policy = format!(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors {}",
            settings.frame_ancestors
        );
        Self {
            // `frame_ancestors` is validated as a source list when the settings load.
            fallback_csp: HeaderValue::from_str(&policy)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
            hsts: settings.served_over_https,
        }
    }
}

/// Headers every response gets, and `no-store` for everything personal.
pub async fn security_headers(
    State(policy): State<Arc<ResponsePolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let personal = path == "/" || path.starts_with("/api/") || path.starts_with("/dev/");
    // An embed page's address holds its session id: it must never leave in a Referer.
    let framed = path == "/embed" || path.starts_with("/embed/s/");
    let personal = personal || framed;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // `same-origin`: the no-JavaScript form posts need the Referer to find their way
    // back; other sites never learn where their visitors came from. Embed pages
    // send none: their forms are told where to return (`request::ServerCall`).
    set(
        headers,
        header::REFERRER_POLICY,
        if framed { "no-referrer" } else { "same-origin" },
    );
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy.fallback_csp.clone());
    }
    if policy.hsts {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    if personal {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// Refuses API calls that another site's page could have made (CSRF), before they
/// reach a session: only the body types the API reads (a form, JSON) are accepted,
/// since a `text/plain` or multipart form can be posted across sites without asking;
/// browsers say where a request comes from in `Sec-Fetch-Site`, older ones in
/// `Origin`, which must then be this very origin, scheme included; a request with
/// neither is refused too. Servers talk to `/api/v1/…` (a site's secret), never here.
pub async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && let Some(why) = cross_site(request.headers(), state.settings.served_over_https)
    {
        tracing::info!(
            path = request.uri().path(),
            why,
            "cross-site API request refused"
        );
        return refuse(VerifyError::CrossSiteRequest);
    }
    next.run(request).await
}

/// Why a request may come from another site's page, if it may.
fn cross_site(headers: &HeaderMap, https: bool) -> Option<&'static str> {
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let media_type = text(&header::CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase());
    if !matches!(
        media_type.as_deref(),
        Some("application/x-www-form-urlencoded" | "application/json")
    ) {
        return Some("content type");
    }
    match text(&HeaderName::from_static("sec-fetch-site")) {
        Some("same-origin") => None,
        Some(_) => Some("sec-fetch-site"),
        None => match text(&header::ORIGIN) {
            None => Some("neither sec-fetch-site nor origin"),
            Some(origin) if same_origin(origin, text(&header::HOST), https) => None,
            Some(_) => Some("origin"),
        },
    }
}

/// Whether `origin` (`scheme://host[:port]`) is this server as the request reached
/// it: the `Host` it was sent to, over the scheme it is served with.
fn same_origin(origin: &str, host: Option<&str>, https: bool) -> bool {
    let scheme = if https { "https://" } else { "http://" };
    let origin_host = origin.strip_prefix(scheme).unwrap_or_default();
    host.is_some_and(|host| !origin_host.is_empty() && origin_host.eq_ignore_ascii_case(host))
}

/// The JSON error answer the widget understands, outside any server function.
/// Reads an API request's body before the handler runs, giving the client
/// `BODY_READ_TIMEOUT_SECS` for it: a client that dribbles its body (slowloris) gets
/// 408 and loses the connection instead of holding a worker for the request timeout.
pub async fn read_body_in_time(
    State(deadline): State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(deadline, axum::body::to_bytes(body, API_BODY_LIMIT))
        .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) if is_over_limit(&error) => {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        }
        Ok(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
        Err(_) => {
            return (StatusCode::REQUEST_TIMEOUT, [(header::CONNECTION, "close")]).into_response();
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(body)))
        .await
}

fn is_over_limit(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

pub fn refuse(error: VerifyError) -> Response {
    let (status, retry_after) = error_response::status_of(&error);
    let body = serde_json::to_string(&error).unwrap_or_default();
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(wait) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, wait);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    #[test]
    fn fetch_metadata_decides_first() {
        assert_eq!(
            cross_site(&headers(&[FORM, ("sec-fetch-site", "same-origin")]), false),
            None
        );
        for site in ["cross-site", "same-site", "none"] {
            assert!(
                cross_site(&headers(&[FORM, ("sec-fetch-site", site)]), false).is_some(),
                "{site}"
            );
        }
    }

    #[test]
    fn origin_is_the_fallback_and_its_scheme_counts() {
        let host = ("host", "verify.example");
        let from = |origin: &'static str, https: bool| {
            cross_site(&headers(&[FORM, host, ("origin", origin)]), https)
        };
        assert_eq!(from("http://verify.example", false), None);
        assert_eq!(from("https://verify.example", true), None);
        assert!(
            from("http://verify.example", true).is_some(),
            "plain http page"
        );
        assert!(from("https://evil.example", true).is_some());
        assert!(from("null", false).is_some());
        assert!(
            cross_site(&headers(&[FORM, host]), false).is_some(),
            "neither header: refused"
        );
    }

    #[test]
    fn only_the_body_types_the_api_reads_are_accepted() {
        let same = ("sec-fetch-site", "same-origin");
        for accepted in [
            "application/x-www-form-urlencoded",
            "application/json",
            "Application/JSON; charset=utf-8",
        ] {
            let headers = headers(&[("content-type", accepted), same]);
            assert_eq!(cross_site(&headers, false), None, "{accepted}");
        }
        for refused in ["text/plain", "multipart/form-data; boundary=x", ""] {
            let headers = headers(&[("content-type", refused), same]);
            assert!(cross_site(&headers, false).is_some(), "{refused:?}");
        }
        assert!(cross_site(&headers(&[same]), false).is_some(), "no type");
    }
}
