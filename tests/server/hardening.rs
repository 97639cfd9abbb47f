//! Security headers, CSP, CSRF and size limits, over HTTP.

use crate::support::{Upstream, spawn_app, spawn_with};
use reqwest::header::{ACCEPT, HeaderMap};
use serde_json::json;

const NUMBER: &str = "+44 7400 123456";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_page_has_a_nonce_csp_and_the_usual_headers() {
    let app = spawn_app(&[]).await;
    let response = reqwest::get(app.url("/")).await.unwrap();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap();
    let csp = header(&headers, "content-security-policy");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "Leptos' scripts carry the same nonce"
    );
    assert!(
        csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'self'"),
        "{csp}"
    );
    assert!(
        csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"),
        "{csp}"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "referrer-policy"), "same-origin");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(
        header(&headers, "strict-transport-security"),
        "",
        "no HSTS over plain HTTP"
    );

    let again = reqwest::get(app.url("/")).await.unwrap();
    assert_ne!(
        header(again.headers(), "content-security-policy"),
        csp,
        "a fresh nonce per page"
    );
}

#[tokio::test]
async fn https_deployments_get_hsts_and_configured_framing() {
    let app = spawn_app(&[
        ("SESSION_COOKIE_SECURE", "true"),
        ("FRAME_ANCESTORS", "'self' https://shop.example"),
    ])
    .await;
    let response = reqwest::get(app.url("/")).await.unwrap();
    let headers = response.headers();
    assert!(header(headers, "strict-transport-security").starts_with("max-age=63072000"));
    assert!(
        header(headers, "content-security-policy")
            .contains("frame-ancestors 'self' https://shop.example")
    );
    let started = reqwest::Client::new()
        .post(app.url("/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", "+44 7400 123456"), ("channel", "sms")])
        .send()
        .await
        .unwrap();
    let cookie = header(started.headers(), "set-cookie");
    assert!(cookie.starts_with("__Host-pv_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn api_answers_are_never_cached() {
    let app = spawn_app(&[]).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/verify/state"))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(response.headers(), "cache-control"), "no-store");
    assert_eq!(
        header(response.headers(), "x-content-type-options"),
        "nosniff"
    );
}

#[tokio::test]
async fn cross_site_requests_are_refused_before_anything_is_sent() {
    let app = spawn_with(Upstream::MessageBird, &[]).await;
    let client = reqwest::Client::new();
    let start = |fetch_site: Option<&str>, origin: Option<&str>| {
        let mut request = client
            .post(app.url("/api/verify/start"))
            .header(ACCEPT, "application/json")
            .form(&[("phone", NUMBER), ("channel", "sms")]);
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    for (site, origin) in [
        (Some("cross-site"), Some("https://evil.example")),
        (Some("same-site"), Some("https://sub.example")),
        (Some("cross-site"), Some("https://shop.example")),
        (None, Some("https://evil.example")),
        (None, Some("null")),
        (None, None),
    ] {
        let response = start(site, origin).await.unwrap();
        assert_eq!(response.status(), 403, "{site:?} {origin:?}");
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap(),
            json!("CrossSiteRequest")
        );
    }
    assert_eq!(
        app.upstream_requests().await,
        0,
        "no upstream call for a refused request"
    );

    let own_origin = format!("http://{}", app.addr);
    let https_origin = format!("https://{}", app.addr);
    let refused = start(None, Some(https_origin.as_str())).await.unwrap();
    assert_eq!(refused.status(), 403, "another scheme is another origin");
    for (site, origin) in [
        (Some("same-origin"), Some(own_origin.as_str())),
        (None, Some(own_origin.as_str())),
    ] {
        let response = start(site, origin).await.unwrap();
        assert_eq!(response.status(), 200, "{site:?} {origin:?}");
    }
    // A form the API does not read, such as text/plain (which any page can post
    // without asking), is refused even from the same origin.
    let plain = client
        .post(app.url("/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "text/plain")
        .body("phone=+447400123456")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 403);
    assert_eq!(
        app.upstream_requests().await,
        2,
        "only the two accepted calls sent"
    );
}

#[tokio::test]
async fn state_changing_calls_are_never_accepted_as_get() {
    let app = spawn_app(&[]).await;
    let response = reqwest::get(app.url("/api/verify/start?phone=%2B447400123456&channel=sms"))
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_refused_unread() {
    let app = spawn_app(&[]).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", "1".repeat(100_000).as_str()), ("channel", "sms")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(app.outbox().await.is_empty());
}

/// Sessions a cookieless request makes, the way a page of `<img>` tags pointing at
/// the widget would: a language link, a restart, a state read.
#[tokio::test]
async fn requests_without_a_cookie_store_no_session() {
    let app = crate::support::spawn_on(
        crate::support::Upstream::Local,
        crate::support::Backend::Redis,
        &[],
    )
    .await;
    let cookieless = reqwest::Client::new();
    for _ in 0..20 {
        let page = cookieless.get(app.url("/?lang=de")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        for call in ["restart", "state"] {
            cookieless
                .post(app.url(&format!("/api/verify/{call}?lang=ar")))
                .header("sec-fetch-site", "same-origin")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(stored_sessions(&app).await, 0);
    // The switch's choice is kept all the same, in a cookie of its own.
    let browser = app.browser();
    let page = browser
        .client
        .get(app.url("/?lang=de"))
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("pv_lang=de;"))
    );
    assert!(browser.page().await.contains("lang=\"de\""));
    assert_eq!(stored_sessions(&app).await, 0);
    // A code on its way is worth a session.
    let sent = browser.call("start", &[("phone", "+44 7400 123456")]).await;
    assert_eq!(sent.status, 200);
    assert_eq!(stored_sessions(&app).await, 1);
    assert!(
        app.outbox().await[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Dein phone-verify-Code"),
        "the SMS is in the chosen language"
    );
}

async fn stored_sessions(app: &crate::support::TestApp) -> usize {
    app.redis_values("*session:*").await.len()
}
