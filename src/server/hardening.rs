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

/// Refuses API calls made by another site's page (CSRF). Browsers say where a request
/// comes from in `Sec-Fetch-Site`; older ones only in `Origin`, checked against this
/// host and the configured allow-list. A request with neither is not from a browser,
/// so it cannot carry a victim's cookie.
pub async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && is_cross_site(request.headers(), &state.settings.allowed_origins)
    {
        tracing::info!(
            path = request.uri().path(),
            "cross-site API request refused"
        );
        return refuse(VerifyError::CrossSiteRequest);
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text(&header::ORIGIN);
    let allowed = origin.is_some_and(|o| allowed_origins.iter().any(|a| a == o));
    match text(&HeaderName::from_static("sec-fetch-site")) {
        Some("same-origin" | "none") => false,
        Some(_) => !allowed,
        None => match origin {
            None => false,
            Some(origin) => !allowed && !same_host(origin, text(&header::HOST)),
        },
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn same_host(origin: &str, host: Option<&str>) -> bool {
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
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

    #[test]
    fn fetch_metadata_decides_first() {
        let allowed = vec!["https://partner.example".to_owned()];
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &allowed
        ));
        assert!(is_cross_site(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example")
            ]),
            &allowed
        ));
        assert!(is_cross_site(
            &headers(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://sub.example")
            ]),
            &allowed
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://partner.example")
            ]),
            &allowed
        ));
    }

    #[test]
    fn origin_is_the_fallback() {
        let none: Vec<String> = vec![];
        assert!(!is_cross_site(
            &headers(&[
                ("origin", "http://127.0.0.1:3000"),
                ("host", "127.0.0.1:3000")
            ]),
            &none
        ));
        assert!(is_cross_site(
            &headers(&[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:3000")
            ]),
            &none
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]),
            &none
        ));
        assert!(
            !is_cross_site(&headers(&[]), &none),
            "no browser, no ambient cookie to abuse"
        );
    }
}
