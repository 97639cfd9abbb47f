//! The embedded widget over real HTTP, as a host page's frame and the host's backend
//! use it: no cookie ever, the session in the frame's address and forms, and a token
//! that siteverify and the JWKS both vouch for.

use phone_verify::server::clock::Clock;
use phone_verify_token::{Expected, JwkSet, TokenError, verify};
use reqwest::header::{ACCEPT, CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY, SET_COOKIE};
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

const NUMBER: &str = "+44 7911 123456";
const HOST: &str = "http://localhost:3100";
/// The public URL the test apps name as issuer (the Leptos address in Cargo.toml).
const ISSUER: &str = "http://127.0.0.1:3000";

/// A frame without cookies, as a browser that blocks third-party cookies runs it.
struct Frame {
    client: reqwest::Client,
    app: String,
    /// `/embed/s/<id>`.
    path: String,
}

fn no_cookies() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A page of the app, fetched as a browser without cookies fetches it.
async fn visit(app: &TestApp, path: &str) -> reqwest::Response {
    no_cookies().get(app.url(path)).send().await.unwrap()
}

impl Frame {
    async fn open(app: &TestApp, query: &str) -> Frame {
        let client = no_cookies();
        let response = client
            .get(app.url(&format!("/embed?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        assert!(response.headers().get(SET_COOKIE).is_none());
        let path = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(path.starts_with("/embed/s/"), "{path}");
        Frame {
            client,
            app: app.url(""),
            path,
        }
    }

    fn id(&self) -> &str {
        self.path.trim_start_matches("/embed/s/")
    }

    /// The frame's page, asked for as a browser asks for a page.
    async fn page(&self) -> reqwest::Response {
        let response = self
            .client
            .get(format!("{}{}", self.app, self.path))
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert!(
            !response.status().is_redirection(),
            "the frame's page renders, it does not send the browser on"
        );
        response
    }

    /// A call of the hydrated widget: under the session's address, JSON back.
    async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{}/api/verify/{endpoint}", self.app, self.path))
            .header("sec-fetch-site", "same-origin")
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        assert!(
            response.headers().get(SET_COOKIE).is_none(),
            "an embed call set a cookie"
        );
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// A form posted with JavaScript off, where the page's forms point.
    async fn post_form(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}/api/verify/{endpoint}", self.app, self.path))
            .header("sec-fetch-site", "same-origin")
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

async fn siteverify(app: &TestApp, form: &[(&str, &str)]) -> Value {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/siteverify"))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn jwks(app: &TestApp) -> JwkSet {
    reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Checks `token` as a host backend does offline: against the JWKS, now.
async fn offline(
    app: &TestApp,
    token: &str,
    expected: &Expected,
) -> Result<phone_verify_token::Claims, TokenError> {
    verify(token, &jwks(app).await, expected, app.clock.unix_secs())
}

/// Runs the flow in `frame` by JSON calls and returns the token.
async fn verify_in(app: &TestApp, frame: &Frame, channel: &str) -> String {
    let (status, body) = frame
        .call("start", &[("phone", NUMBER), ("channel", channel)])
        .await;
    assert_eq!(status, 200, "{body}");
    let code = app.latest_code().await;
    let (status, body) = frame.call("check", &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
    body["Verified"]["token"]
        .as_str()
        .expect("a token in the verified step")
        .to_owned()
}

/// Two sites of a sites file: a shop on `localhost:3100`, a blog on `localhost:3200`.
const TWO_SITES: &str = r#"
    [[sites]]
    sitekey = "pk_test_shop"
    secrets = ["sk_test_shop_0123456789abcdefghij"]
    origins = ["http://localhost:3100"]

    [[sites]]
    sitekey = "pk_test_blog"
    secrets = ["sk_test_blog_0123456789abcdefghij"]
    origins = ["http://localhost:3200"]
"#;

/// The app with `sites` as its sites file.
async fn with_sites(sites: &str) -> TestApp {
    spawn_app(&[("VERIFY_SITES_FILE", &crate::support::sites_file(sites))]).await
}

const SIGNUP: &str =
    "sitekey=pk_test_local&wid=w1&origin=http://localhost:3100&action=signup&nonce=host-nonce-1";

#[tokio::test]
async fn a_frame_without_cookies_verifies_and_the_backend_trusts_the_token() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, SIGNUP).await;
    let page = frame.page().await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert!(headers.get(SET_COOKIE).is_none());
    assert_eq!(headers[REFERRER_POLICY], "no-referrer");
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors http://localhost:* http://127.0.0.1:*"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-pv-origin="http://localhost:3100""#));
    assert!(
        html.contains(&format!(r#"action="{}/api/verify/start""#, frame.path)),
        "forms go to the session's address"
    );
    assert!(
        !html.contains(r#"action="/api/"#),
        "no form posts without its session"
    );

    let token = verify_in(&app, &frame, "sms").await;

    // Offline, as a host backend with the token crate does.
    let keys = jwks(&app).await;
    let expected = Expected::new(ISSUER, "pk_test_local")
        .origin(HOST)
        .action("signup");
    let claims = verify(&token, &keys, &expected, app.clock.unix_secs()).unwrap();
    assert_eq!(claims.phone_number, "+447911123456");
    assert_eq!(claims.amr, ["sms"]);
    assert_eq!(claims.nonce.as_deref(), Some("host-nonce-1"));
    assert_eq!(claims.exp - claims.iat, 300);

    // Online, once.
    let answer = siteverify(&app, &[("secret", "sk_test_local"), ("response", &token)]).await;
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["phone_number"], "+447911123456");
    assert_eq!(answer["channel"], "sms");
    assert_eq!(answer["hostname"], "localhost");
    assert_eq!(answer["action"], "signup");
    assert_eq!(answer["nonce"], "host-nonce-1");
    assert_eq!(answer["error-codes"], json!([]));
    let replay = siteverify(&app, &[("secret", "sk_test_local"), ("response", &token)]).await;
    assert_eq!(
        replay,
        json!({"success": false, "error-codes": ["timeout-or-duplicate"]})
    );
}

#[tokio::test]
async fn by_voice_the_token_says_tel() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, SIGNUP).await;
    let token = verify_in(&app, &frame, "voice").await;
    let answer = siteverify(&app, &[("secret", "sk_test_local"), ("response", &token)]).await;
    assert_eq!(answer["channel"], "voice", "{answer}");
    let claims = offline(&app, &token, &Expected::new(ISSUER, "pk_test_local"))
        .await
        .unwrap();
    assert_eq!(claims.amr, ["tel"]);
}

#[tokio::test]
async fn the_frame_works_with_plain_forms() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, SIGNUP).await;
    let sent = frame
        .post_form("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(sent.status(), 302);
    assert_eq!(
        sent.headers()[LOCATION].to_str().unwrap(),
        frame.path,
        "back to the frame, not a Referer"
    );
    let code_step = frame.page().await.text().await.unwrap();
    assert!(
        code_step.contains("pv-code"),
        "the code step renders for the session"
    );

    let wrong = frame.post_form("check", &[("code", "000000")]).await;
    assert_eq!(wrong.headers()[LOCATION].to_str().unwrap(), frame.path);
    let code = app.latest_code().await;
    let checked = frame.post_form("check", &[("code", &code)]).await;
    assert_eq!(checked.status(), 302);
    let success = frame.page().await.text().await.unwrap();
    let token = success
        .split(r#"name="pv-token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the success step holds the token");
    let answer = siteverify(&app, &[("secret", "sk_test_local"), ("response", token)]).await;
    assert_eq!(answer["success"], true, "{answer}");
}

#[tokio::test]
async fn two_frames_on_one_page_keep_their_own_sessions() {
    let app = spawn_app(&[]).await;
    let first = Frame::open(
        &app,
        "sitekey=pk_test_local&wid=w1&origin=http://localhost:3100",
    )
    .await;
    let second = Frame::open(
        &app,
        "sitekey=pk_test_local&wid=w2&origin=http://localhost:3100",
    )
    .await;
    assert_ne!(first.id(), second.id());
    let (status, _) = first
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(status, 200);
    let (status, state) = second.call("state", &[]).await;
    assert_eq!(status, 200);
    assert!(state["step"]["EnterPhone"].is_object(), "{state}");
    let code = app.latest_code().await;
    let (status, _) = second.call("check", &[("code", &code)]).await;
    assert_eq!(status, 409, "another frame's code does not verify this one");
    let (status, body) = first.call("check", &[("code", &code)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn frames_that_may_not_run_say_why_and_start_nothing() {
    let app = spawn_app(&[]).await;
    let client = no_cookies();
    for (query, status, code) in [
        (
            "sitekey=pk_live_nobody&origin=http://localhost:3100",
            400,
            "site_unknown",
        ),
        ("origin=http://localhost:3100", 400, "site_unknown"),
        (
            "sitekey=pk_test_local&origin=https://evil.example",
            403,
            "origin_not_allowed",
        ),
        (
            "sitekey=pk_test_local&action=sign%20up",
            400,
            "site_unknown",
        ),
    ] {
        let response = client
            .get(app.url(&format!("/embed?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{query}");
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("frame-ancestors *") && csp.contains("script-src 'sha256-"),
            "{csp}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("data-pv-error=\"{code}\"")),
            "{query}: {html}"
        );
    }
    // Opened at the top level instead of in a frame.
    let top = client
        .get(app.url(&format!("/embed?{SIGNUP}")))
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap();
    assert_eq!(top.status(), 400);
    // A session that does not exist.
    let gone = client
        .get(app.url("/embed/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 410);
    let call = client
        .post(app.url("/embed/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/api/verify/start"))
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", NUMBER), ("channel", "sms")])
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 410);
    assert_eq!(call.json::<Value>().await.unwrap(), json!("SessionLost"));
    assert!(app.outbox().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn siteverify_refuses_what_it_cannot_vouch_for() {
    let app = with_sites(TWO_SITES).await;
    let frame = Frame::open(&app, "sitekey=pk_test_shop&origin=http://localhost:3100").await;
    let token = verify_in(&app, &frame, "sms").await;
    let shop = "sk_test_shop_0123456789abcdefghij";
    let refused = |codes: &[&str]| json!({"success": false, "error-codes": codes});

    assert_eq!(
        siteverify(&app, &[("response", &token)]).await,
        refused(&["missing-input-secret"])
    );
    assert_eq!(
        siteverify(&app, &[("secret", "sk_test_local"), ("response", &token)]).await,
        refused(&["invalid-input-secret"]),
        "no development site beside a sites file"
    );
    assert_eq!(
        siteverify(&app, &[("secret", shop)]).await,
        refused(&["missing-input-response"])
    );
    assert_eq!(
        siteverify(&app, &[("secret", shop), ("response", "not.a.token")]).await,
        refused(&["invalid-input-response"])
    );
    let blog = "sk_test_blog_0123456789abcdefghij";
    assert_eq!(
        siteverify(&app, &[("secret", blog), ("response", &token)]).await,
        refused(&["sitekey-secret-mismatch"])
    );
    assert_eq!(
        siteverify(
            &app,
            &[
                ("secret", shop),
                ("response", &token),
                ("sitekey", "pk_test_blog")
            ]
        )
        .await,
        refused(&["sitekey-secret-mismatch"])
    );
    let mut tampered = token.clone();
    tampered.insert(tampered.len() - 2, 'A');
    tampered.remove(tampered.len() - 1);
    assert_eq!(
        siteverify(&app, &[("secret", shop), ("response", &tampered)]).await,
        refused(&["invalid-input-response"])
    );
    // A frame of another site's origin never starts.
    let foreign = visit(
        &app,
        "/embed?sitekey=pk_test_shop&origin=http://localhost:3200",
    )
    .await;
    assert_eq!(foreign.status(), 403);

    // Too late: five minutes and a second after it was made.
    app.advance(301);
    assert_eq!(
        siteverify(&app, &[("secret", shop), ("response", &token)]).await,
        refused(&["timeout-or-duplicate"])
    );
    // The refusals did not use it up: had it been in time, it would have worked once.
    let fresh = Frame::open(&app, "sitekey=pk_test_shop&origin=http://localhost:3100").await;
    let token = verify_in(&app, &fresh, "sms").await;
    let json_body = reqwest::Client::new()
        .post(app.url("/api/v1/siteverify"))
        .json(&json!({"secret": shop, "response": token}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        json_body["success"], true,
        "JSON bodies work too: {json_body}"
    );
    let other_type = reqwest::Client::new()
        .post(app.url("/api/v1/siteverify"))
        .header("content-type", "text/plain")
        .body("secret=x")
        .send()
        .await
        .unwrap();
    assert_eq!(other_type.status(), 415);
}

#[tokio::test]
async fn the_frame_answers_only_to_its_sites_origins() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, "sitekey=pk_test_local&wid=w1").await;
    let html = frame.page().await.text().await.unwrap();
    assert!(
        html.contains(r#"data-pv-origin="""#),
        "no claimed origin, several allowed: bound to none"
    );
    let token = verify_in(&app, &frame, "sms").await;
    let claims = offline(&app, &token, &Expected::new(ISSUER, "pk_test_local"))
        .await
        .unwrap();
    assert_eq!(claims.origin, None);
    assert_eq!(
        offline(
            &app,
            &token,
            &Expected::new(ISSUER, "pk_test_local").origin(HOST)
        )
        .await,
        Err(TokenError::WrongOrigin)
    );
}

#[tokio::test]
async fn a_verified_frame_gets_fresh_tokens_only_while_the_verification_is_recent() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, SIGNUP).await;
    let first = verify_in(&app, &frame, "sms").await;
    app.advance(280);
    let (_, state) = frame.call("state", &[]).await;
    let second = state["step"]["Verified"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let keys = jwks(&app).await;
    let now = app.clock.unix_secs();
    let (a, b) = (
        verify(&first, &keys, &Expected::new(ISSUER, "pk_test_local"), now).unwrap(),
        verify(&second, &keys, &Expected::new(ISSUER, "pk_test_local"), now).unwrap(),
    );
    assert_eq!(a.vid, b.vid, "the same verification");
    assert_ne!(a.jti, b.jti);
    assert_eq!(a.auth_time, b.auth_time);
    // Ten minutes after the code: no more tokens without a new one.
    app.advance(321);
    let (_, state) = frame.call("state", &[]).await;
    assert!(state["step"]["Verified"].is_object());
    assert!(state["step"]["Verified"].get("token").is_none(), "{state}");
}

#[tokio::test]
async fn the_keys_and_the_scripts_are_public_and_cacheable() {
    let app = spawn_app(&[]).await;
    let response = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: Value = response.json().await.unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the signing key and the next one");
    for key in keys {
        assert_eq!(
            (
                key["kty"].as_str(),
                key["crv"].as_str(),
                key["alg"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(key.get("d").is_none(), "never a private part");
    }
    for (path, marker) in [
        ("/embed.js", "customElements.define('phone-verify'"),
        ("/embed/frame.js", "postMessage"),
    ] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
        let source = response.text().await.unwrap();
        assert!(source.contains(marker), "{path}");
    }
    // The loader's budget is 8 KB brotli; its brotli size is in BENCHMARKS.md, and
    // well under 16 KB raw it cannot be near the budget.
    assert!(include_str!("../../embed/loader.js").len() < 16 * 1024);
}

#[tokio::test]
async fn signing_keys_survive_a_restart() {
    let data = crate::support::fresh_data_dir();
    let data = data.to_str().unwrap();
    let first = spawn_app(&[("DATA_DIR", data)]).await;
    let before = jwks(&first).await;
    first.kill().await;
    let second = spawn_app(&[("DATA_DIR", data)]).await;
    assert_eq!(jwks(&second).await, before);
}

#[tokio::test]
async fn a_site_with_a_daily_budget_sends_no_more() {
    let app = with_sites(
        r#"
        [[sites]]
        sitekey = "pk_test_small"
        secrets = ["sk_test_small_0123456789abcdefghij"]
        origins = ["http://localhost:3100"]
        sends_per_day = 2
        "#,
    )
    .await;
    for (n, expected) in [
        ("+44 7911 123451", 200),
        ("+44 7911 123452", 200),
        ("+44 7911 123453", 429),
    ] {
        let frame = Frame::open(&app, "sitekey=pk_test_small&origin=http://localhost:3100").await;
        let (status, body) = frame
            .call("start", &[("phone", n), ("channel", "sms")])
            .await;
        assert_eq!(status, expected, "{n}: {body}");
    }
    assert_eq!(app.outbox().await.len(), 2);
}

#[tokio::test]
async fn the_hosted_page_sends_the_visitor_back_with_the_token() {
    let app = spawn_app(&[]).await;
    let client = no_cookies();
    let start = client
        .get(app.url("/hosted?sitekey=pk_test_local&return_url=http://localhost:3100/verified%3Fnext%3D1&state=st4te.x~&action=signup"))
        .header("sec-fetch-dest", "document")
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let frame = Frame {
        client,
        app: app.url(""),
        path: start.headers()[LOCATION].to_str().unwrap().to_owned(),
    };
    let page = frame.page().await;
    let csp = page.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "a hosted page is never framed: {csp}"
    );
    assert!(
        csp.contains("form-action 'self' http://localhost:3100;"),
        "its last form may send the visitor home: {csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"data-pv-return="http://localhost:3100/verified?next=1""#),
        "{html}"
    );

    // Without JavaScript: the last form post sends the visitor home with the token.
    frame
        .post_form("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    let code = app.latest_code().await;
    let done = frame.post_form("check", &[("code", &code)]).await;
    assert_eq!(done.status(), 302);
    let back = reqwest::Url::parse(done.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(back.origin().ascii_serialization(), HOST);
    assert_eq!(back.path(), "/verified");
    let query: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(query["next"], "1");
    assert_eq!(query["state"], "st4te.x~");
    let answer = siteverify(
        &app,
        &[
            ("secret", "sk_test_local"),
            ("response", &query["pv_token"]),
        ],
    )
    .await;
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["hostname"], "localhost");
    assert_eq!(answer["action"], "signup");
}

#[tokio::test]
async fn the_hosted_page_returns_only_to_the_sites_own_urls() {
    let app = spawn_app(&[]).await;
    for query in [
        "sitekey=pk_test_local&return_url=https://evil.example/verified",
        "sitekey=pk_test_local",
        "sitekey=pk_test_local&return_url=javascript:alert(1)",
        "sitekey=pk_live_nobody&return_url=http://localhost:3100/verified",
    ] {
        let response = visit(&app, &format!("/hosted?{query}")).await;
        assert!(
            matches!(response.status().as_u16(), 400 | 403),
            "{query}: {}",
            response.status()
        );
    }
    let framed = no_cookies()
        .get(app.url("/hosted?sitekey=pk_test_local&return_url=http://localhost:3100/verified"))
        .header("sec-fetch-dest", "iframe")
        .send()
        .await
        .unwrap();
    assert_eq!(
        framed.status(),
        400,
        "the hosted page does not start inside a frame"
    );
}

async fn create_session(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/sessions"))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_session_made_by_the_host_verifies_only_its_number_once() {
    let app = spawn_app(&[]).await;
    let (status, made) = create_session(
        &app,
        &[
            ("secret", "sk_test_local"),
            ("phone_number", "+447911123456"),
            ("ref", "user_42"),
            ("action", "login"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let session = made["session"].as_str().unwrap().to_owned();
    assert!(session.starts_with("pvs_"));
    assert_eq!(
        made["expires_at"].as_u64(),
        Some(app.clock.unix_secs() + 600)
    );

    let frame = Frame::open(
        &app,
        &format!("sitekey=pk_test_local&origin=http://localhost:3100&session={session}"),
    )
    .await;
    let (_, state) = frame.call("state", &[]).await;
    let entry = &state["step"]["EnterPhone"];
    assert_eq!(entry["locked"], "+44*******456", "{state}");
    let html = frame.page().await.text().await.unwrap();
    assert!(
        !html.contains("7911123456") && !html.contains("7911 123456"),
        "never the whole number in the page"
    );
    let field = html
        .split(r#"id="pv-phone""#)
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("the number field");
    assert!(
        field.contains("readonly") && field.contains(r#"value="+44*******456""#),
        "the number is shown masked, not for editing: {field}"
    );

    // Whatever number the form names, the code goes to the host's.
    let (status, sent) = frame
        .call(
            "start",
            &[("phone", "+44 7400 123456"), ("channel", "voice")],
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["EnterCode"]["phone"], "+44*******456");
    assert_eq!(
        app.sent().await[0],
        ("+447911123456".to_owned(), "voice".to_owned())
    );
    let code = app.latest_code().await;
    let (_, checked) = frame.call("check", &[("code", &code)]).await;
    let token = checked["Verified"]["token"].as_str().unwrap();
    let expected = Expected::new(ISSUER, "pk_test_local")
        .phone_number("+447911123456")
        .action("login");
    let claims = offline(&app, token, &expected).await.unwrap();
    assert_eq!(claims.reference.as_deref(), Some("user_42"));
    assert_eq!(claims.amr, ["tel"]);
    let answer = siteverify(&app, &[("secret", "sk_test_local"), ("response", token)]).await;
    assert_eq!(answer["ref"], "user_42", "{answer}");

    // Changing the number is not possible: back on the phone step, it is still locked.
    let (_, restarted) = frame.call("restart", &[]).await;
    assert_eq!(restarted["EnterPhone"]["locked"], "+44*******456");
    assert_eq!(restarted["EnterPhone"]["phone"], "");

    // Single use: a second frame with the same session starts nothing.
    let again = visit(
        &app,
        &format!("/embed?sitekey=pk_test_local&session={session}"),
    )
    .await;
    assert_eq!(again.status(), 410);
}

#[tokio::test]
async fn host_sessions_need_the_secret_and_a_real_number() {
    let app = with_sites(TWO_SITES).await;
    let shop = "sk_test_shop_0123456789abcdefghij";
    for (form, status, code) in [
        (
            vec![("phone_number", "+447911123456")],
            401,
            "missing-input-secret",
        ),
        (
            vec![("secret", "sk_wrong"), ("phone_number", "+447911123456")],
            401,
            "invalid-input-secret",
        ),
        (
            vec![("secret", shop), ("phone_number", "12")],
            400,
            "invalid-phone-number",
        ),
        (
            vec![
                ("secret", shop),
                ("phone_number", "+447911123456"),
                ("ref", "a b"),
            ],
            400,
            "invalid-ref",
        ),
        (
            vec![
                ("secret", shop),
                ("phone_number", "+447911123456"),
                ("action", "log in"),
            ],
            400,
            "invalid-action",
        ),
    ] {
        let (got, body) = create_session(&app, &form).await;
        assert_eq!(
            (got, body["error-codes"][0].as_str()),
            (status, Some(code)),
            "{form:?}"
        );
    }
    // One site's session does not open another site's frame.
    let (_, made) =
        create_session(&app, &[("secret", shop), ("phone_number", "+447911123456")]).await;
    let session = made["session"].as_str().unwrap();
    let foreign = visit(
        &app,
        &format!("/embed?sitekey=pk_test_blog&session={session}"),
    )
    .await;
    assert_eq!(foreign.status(), 410);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn the_host_look_reaches_the_frame_only_through_the_grammar() {
    let app = spawn_app(&[]).await;
    // {"accent":"#c80064","radius":"2px"}
    let vars = "eyJhY2NlbnQiOiIjYzgwMDY0IiwicmFkaXVzIjoiMnB4In0";
    let frame = Frame::open(
        &app,
        &format!("sitekey=pk_test_local&origin=http://localhost:3100&theme=dark&vars={vars}"),
    )
    .await;
    let page = frame.page().await;
    let csp = page.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"class="pv-embedded pv-theme-dark""#));
    assert!(
        html.contains(".pv-widget{--pv-accent:#c80064;--pv-radius:2px;}</style>"),
        "{html}"
    );
    let nonce = csp
        .split("style-src 'self' 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(
        html.contains(&format!(r#"<style nonce="{nonce}">"#)),
        "the rule runs under the page's nonce"
    );
    // {"accent":"red;}body{display:none"}
    let escape = "eyJhY2NlbnQiOiJyZWQ7fWJvZHl7ZGlzcGxheTpub25lIn0";
    let refused = visit(&app, &format!("/embed?sitekey=pk_test_local&vars={escape}")).await;
    assert_eq!(refused.status(), 400);
    let bad_theme = visit(&app, "/embed?sitekey=pk_test_local&theme=blue").await;
    assert_eq!(bad_theme.status(), 400);
}

#[tokio::test]
async fn the_widgets_own_page_hands_a_token_to_its_app_when_asked_to() {
    let app = spawn_app(&[("VERIFY_PAGE_SITEKEY", "pk_test_local")]).await;
    let browser = app.browser();
    browser
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    let code = app.latest_code().await;
    let checked = browser.call("check", &[("code", &code)]).await;
    let token = checked.body["Verified"]["token"]
        .as_str()
        .expect("a token on the page itself");
    let expected = Expected::new(ISSUER, "pk_test_local").origin(ISSUER);
    let claims = offline(&app, token, &expected).await.unwrap();
    assert_eq!(claims.phone_number, "+447911123456");
    let answer = siteverify(&app, &[("secret", "sk_test_local"), ("response", token)]).await;
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["hostname"], "127.0.0.1");
}

#[test]
fn a_page_site_must_exist_and_allow_the_servers_origin() {
    let leptos = || {
        leptos::config::get_configuration(Some("Cargo.toml"))
            .unwrap()
            .leptos_options
    };
    let settings = |vars: &'static [(&'static str, &'static str)]| {
        phone_verify::server::Settings::from_lookup(leptos(), |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    let unknown = settings(&[("VERIFY_PAGE_SITEKEY", "pk_live_nobody")]).unwrap_err();
    assert_eq!(unknown.variable, "VERIFY_PAGE_SITEKEY");
    let elsewhere = settings(&[
        ("VERIFY_PAGE_SITEKEY", "pk_test_local"),
        ("VERIFY_PUBLIC_URL", "https://verify.example"),
    ])
    .unwrap_err();
    assert!(
        elsewhere.problem.contains("does not allow"),
        "{}",
        elsewhere.problem
    );
    assert!(settings(&[("VERIFY_PAGE_SITEKEY", "pk_test_local")]).is_ok());
}

#[test]
fn the_development_site_exists_only_on_loopback() {
    let on = |addr: &str| {
        let mut leptos = leptos::config::get_configuration(Some("Cargo.toml"))
            .unwrap()
            .leptos_options;
        leptos.site_addr = addr.parse().unwrap();
        // Development mode lets the local provider serve on any address; the
        // development site, whose secret is published, still stays on loopback.
        phone_verify::server::Settings::from_lookup(leptos, |name| {
            (name == "VERIFY_DEV_MODE").then(|| "true".to_owned())
        })
        .unwrap()
    };
    assert!(on("127.0.0.1:3000").sites.find("pk_test_local").is_some());
    assert!(on("[::1]:3000").sites.find("pk_test_local").is_some());
    assert!(
        on("0.0.0.0:3000").sites.is_empty(),
        "a public address gets no site with a published secret"
    );
}

#[tokio::test]
async fn a_script_may_name_the_session_in_a_header() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, SIGNUP).await;
    let (status, _) = frame
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    assert_eq!(status, 200);
    let state = |session: &str| {
        reqwest::Client::new()
            .post(app.url("/api/verify/state"))
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header("x-pv-session", session.to_owned())
            .send()
    };
    let named: Value = state(frame.id()).await.unwrap().json().await.unwrap();
    assert!(
        named["step"]["EnterCode"].is_object(),
        "the frame's session: {named}"
    );
    let lost = state("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .unwrap();
    assert_eq!(lost.status(), 410);
}

#[tokio::test]
async fn half_an_hour_after_the_code_the_frame_offers_a_new_verification() {
    let app = spawn_app(&[]).await;
    let frame = Frame::open(&app, SIGNUP).await;
    verify_in(&app, &frame, "sms").await;
    app.advance(1_799);
    let (_, state) = frame.call("state", &[]).await;
    assert!(state["step"]["Verified"].is_object(), "{state}");
    app.advance(1);
    let (_, state) = frame.call("state", &[]).await;
    assert!(state["step"]["EnterPhone"].is_object(), "{state}");
}

#[tokio::test]
async fn the_host_may_start_the_frame_on_a_call_unless_calls_are_switched_off() {
    for (channels, checked) in [("sms,voice", "voice"), ("sms", "sms")] {
        let app = spawn_app(&[("VERIFY_CHANNELS", channels)]).await;
        let frame = Frame::open(
            &app,
            "sitekey=pk_test_local&origin=http://localhost:3100&channel=voice",
        )
        .await;
        let html = frame.page().await.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"value="{checked}" checked"#)),
            "VERIFY_CHANNELS={channels}: {html}"
        );
    }
}
