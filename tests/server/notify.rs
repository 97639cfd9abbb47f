//! `POST /api/v1/notify` over real HTTP, on the local provider (the dev outbox) and on
//! MessageBird's SMS API and Twilio's Messages API through `fake-verify`: a number
//! verified for a site gets its confirmation once; everything else is refused with
//! nothing sent and nothing counted.

use reqwest::header::{ACCEPT, LOCATION, RETRY_AFTER};
use serde_json::{Value, json};

use crate::support::{TestApp, Upstream, spawn_with, token_from_frame};

/// Runs each named `async fn(Upstream)` as three tests, `local::name`,
/// `messagebird::name` and `twilio::name`.
macro_rules! on_every_provider {
    ($($name:ident),* $(,)?) => {
        mod local { $( #[tokio::test] async fn $name() { super::$name(super::Upstream::Local).await } )* }
        mod messagebird { $( #[tokio::test] async fn $name() { super::$name(super::Upstream::MessageBird).await } )* }
        mod twilio { $( #[tokio::test] async fn $name() { super::$name(super::Upstream::Twilio).await } )* }
    };
}

on_every_provider!(
    a_verified_number_gets_its_confirmation_once,
    the_vid_from_siteverify_names_the_verification_too,
    two_requests_at_once_send_one_text,
    refusals_send_nothing_and_use_nothing_up,
    a_verification_older_than_ten_minutes_gets_no_text,
);

const NUMBER: &str = "+44 7911 123456";
const E164: &str = "+447911123456";
const TEXT: &str = "Your account at shop.example has been created.";
const SECRET: &str = "sk_test_local";
const SHOP: &str = "http://localhost:3100";

/// The settings that give each provider a sender for texts.
fn sender(upstream: Upstream) -> Vec<(&'static str, &'static str)> {
    match upstream {
        Upstream::Local => vec![],
        Upstream::MessageBird => vec![("MESSAGEBIRD_ORIGINATOR", "PhoneVerify")],
        Upstream::Twilio => vec![("TWILIO_FROM", "+15005550006")],
    }
}

async fn spawn(upstream: Upstream, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = sender(upstream);
    vars.extend_from_slice(extra);
    spawn_with(upstream, &vars).await
}

/// Verifies `number` by `channel` in a frame of `sitekey` on the shop's page, as a
/// visitor does, and returns the token the host's form receives.
async fn verify(app: &TestApp, sitekey: &str, origin: &str, number: &str, channel: &str) -> String {
    let query = format!("sitekey={sitekey}&origin={origin}");
    token_from_frame(app, &query, Some(number), channel).await
}

/// What notify answered: status, `Retry-After`, body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    fn refused_with(&self) -> (u16, &str) {
        assert_eq!(self.body["success"], false, "{}", self.body);
        (
            self.status,
            self.body["error-codes"][0].as_str().unwrap_or_default(),
        )
    }
}

async fn read(response: reqwest::Response) -> Answer {
    assert_eq!(response.headers()["cache-control"], "no-store");
    Answer {
        status: response.status().as_u16(),
        retry_after: response
            .headers()
            .get(RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.json().await.unwrap_or(Value::Null),
    }
}

/// A request's fields.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// A host backend's notify call, form-encoded.
async fn notify(app: &TestApp, form: &[(&str, &str)]) -> Answer {
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/notify"))
        .form(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

/// The numbers the confirmation `text` went to, however the provider delivers it.
async fn delivered(app: &TestApp, text: &str) -> Vec<String> {
    let sent = match &app.fake {
        Some(_) => app.fake_get("/_fake/texts").await,
        None => Value::Array(app.outbox().await),
    };
    let body = if app.fake.is_some() { "body" } else { "text" };
    sent.as_array()
        .unwrap()
        .iter()
        .filter(|m| m[body] == text)
        .map(|m| m["to"].as_str().unwrap().to_owned())
        .collect()
}

async fn siteverify(app: &TestApp, token: &str) -> Value {
    reqwest::Client::new()
        .post(app.url("/api/v1/siteverify"))
        .form(&[("secret", SECRET), ("response", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn a_verified_number_gets_its_confirmation_once(upstream: Upstream) {
    let app = spawn(upstream, &[]).await;
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    // The host checks the token first, which redeems it; notify still takes it.
    assert_eq!(siteverify(&app, &token).await["success"], true);

    let sent = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(
        (sent.status, &sent.body),
        (200, &json!({"success": true, "sent": true}))
    );
    assert_eq!(
        delivered(&app, TEXT).await,
        [E164],
        "to the verified number"
    );
    if app.fake.is_some() {
        let from = &app.fake_get("/_fake/texts").await[0]["from"];
        let expected = if upstream == Upstream::Twilio {
            "+15005550006"
        } else {
            "PhoneVerify"
        };
        assert_eq!(from, expected, "from the configured sender");
    }

    // Once: the same token again, another text, JSON this time.
    let again = read(
        reqwest::Client::new()
            .post(app.url("/api/v1/notify"))
            .json(&json!({"secret": SECRET, "response": token, "text": "Another text."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again.refused_with(), (409, "already-notified"));
    assert_eq!(delivered(&app, TEXT).await.len(), 1);
    assert!(delivered(&app, "Another text.").await.is_empty());

    let scrape = app.scrape().await;
    let provider = match upstream {
        Upstream::Local => "local",
        Upstream::MessageBird => "messagebird",
        Upstream::Twilio => "twilio",
    };
    for (result, count) in [("sent", 1.0), ("already-notified", 1.0)] {
        assert_eq!(
            scrape.value(
                "phone_verify_notifications_total",
                &[("provider", provider), ("result", result)]
            ),
            count,
            "{result}"
        );
    }
    if upstream != Upstream::Local {
        assert_eq!(
            scrape.value(
                "phone_verify_upstream_seconds_count",
                &[
                    ("provider", provider),
                    ("operation", "notify"),
                    ("result", "ok")
                ]
            ),
            1.0
        );
    }
}

async fn the_vid_from_siteverify_names_the_verification_too(upstream: Upstream) {
    let app = spawn(upstream, &[]).await;
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    let checked = siteverify(&app, &token).await;
    let vid = checked["vid"].as_str().unwrap();
    let sent = notify(&app, &[("secret", SECRET), ("vid", vid), ("text", TEXT)]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(delivered(&app, TEXT).await, [E164]);
    // The token names the same verification: no second text by it either.
    let by_token = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(by_token.refused_with(), (409, "already-notified"));
    let by_vid = notify(&app, &[("secret", SECRET), ("vid", vid), ("text", TEXT)]).await;
    assert_eq!(by_vid.refused_with(), (409, "already-notified"));
    assert_eq!(delivered(&app, TEXT).await.len(), 1);
}

async fn two_requests_at_once_send_one_text(upstream: Upstream) {
    let app = spawn(upstream, &[]).await;
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    let vid = siteverify(&app, &token).await["vid"]
        .as_str()
        .unwrap()
        .to_owned();
    let requests = (0..8).map(|n| {
        // Half by the token, half by the id: the same verification.
        let form: Vec<(&str, &str)> = if n % 2 == 0 {
            vec![("secret", SECRET), ("response", &token), ("text", TEXT)]
        } else {
            vec![("secret", SECRET), ("vid", &vid), ("text", TEXT)]
        };
        let app = &app;
        async move { notify(app, &form).await.status }
    });
    let mut statuses = futures::future::join_all(requests).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(delivered(&app, TEXT).await, [E164], "exactly one text");
}

async fn refusals_send_nothing_and_use_nothing_up(upstream: Upstream) {
    let app = spawn(upstream, &[]).await;
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    let vid = siteverify(&app, &token).await["vid"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.upstream_requests().await;
    let too_long = "x".repeat(321);
    let refusals: Vec<(Form, u16, &str)> = vec![
        (
            vec![("response", &token), ("text", TEXT)],
            401,
            "missing-input-secret",
        ),
        (
            vec![
                ("secret", "sk_nobody_0123456789abcdefghij"),
                ("response", &token),
                ("text", TEXT),
            ],
            401,
            "invalid-input-secret",
        ),
        (
            vec![("secret", SECRET), ("text", TEXT)],
            400,
            "missing-input-response",
        ),
        (
            vec![
                ("secret", SECRET),
                ("response", "not.a.token"),
                ("text", TEXT),
            ],
            400,
            "invalid-input-response",
        ),
        (
            vec![
                ("secret", SECRET),
                ("vid", "AAAAAAAAAAAAAAAAAAAAAA"),
                ("text", TEXT),
            ],
            400,
            "invalid-input-response",
        ),
        (
            vec![("secret", SECRET), ("vid", "../../etc"), ("text", TEXT)],
            400,
            "invalid-input-response",
        ),
        (
            vec![
                ("secret", SECRET),
                ("response", &token),
                ("vid", &vid),
                ("text", TEXT),
            ],
            400,
            "bad-request",
        ),
        (
            vec![("secret", SECRET), ("response", &token)],
            400,
            "invalid-text",
        ),
        (
            vec![("secret", SECRET), ("response", &token), ("text", " \n ")],
            400,
            "invalid-text",
        ),
        (
            vec![
                ("secret", SECRET),
                ("response", &token),
                ("text", &too_long),
            ],
            400,
            "invalid-text",
        ),
        (
            vec![
                ("secret", SECRET),
                ("response", &token),
                ("text", "Welcome\u{7}"),
            ],
            400,
            "invalid-text",
        ),
        (
            vec![
                ("secret", SECRET),
                ("vid", &vid),
                ("text", "Pay \u{202E}0001\u{202C} now"),
            ],
            400,
            "invalid-text",
        ),
    ];
    for (form, status, code) in &refusals {
        let answer = notify(&app, form).await;
        assert_eq!(answer.refused_with(), (*status, *code), "{form:?}");
        assert_eq!(answer.retry_after, None);
    }
    let client = reqwest::Client::new();
    let unreadable = read(
        client
            .post(app.url("/api/v1/notify"))
            .header("content-type", "application/json")
            .body("{\"secret\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unreadable.refused_with(), (400, "bad-request"));
    let plain = client
        .post(app.url("/api/v1/notify"))
        .header("content-type", "text/plain")
        .body(format!("secret={SECRET}&response={token}&text=hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);
    let oversized = client
        .post(app.url("/api/v1/notify"))
        .form(&[("secret", SECRET), ("text", &"x".repeat(10_000))])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    assert_eq!(
        app.upstream_requests().await,
        before,
        "no refusal reached the provider"
    );
    assert!(delivered(&app, TEXT).await.is_empty());
    // Nothing was used up: the right request still sends, with the longest text.
    let longest = "é".repeat(320);
    let sent = notify(
        &app,
        &[("secret", SECRET), ("vid", &vid), ("text", &longest)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(delivered(&app, &longest).await, [E164]);
}

async fn a_verification_older_than_ten_minutes_gets_no_text(upstream: Upstream) {
    let app = spawn(upstream, &[]).await;
    // Nine minutes and 59 seconds on, the token has expired but the verification is
    // recent enough.
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    app.advance_all(599).await;
    let sent = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);

    let late = verify(&app, "pk_test_local", SHOP, "+44 7911 123457", "sms").await;
    let vid = siteverify(&app, &late).await["vid"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance_all(601).await;
    let before = app.upstream_requests().await;
    for form in [
        vec![
            ("secret", SECRET),
            ("response", late.as_str()),
            ("text", "Late."),
        ],
        vec![("secret", SECRET), ("vid", vid.as_str()), ("text", "Late.")],
    ] {
        let answer = notify(&app, &form).await;
        assert_eq!(
            answer.refused_with(),
            (403, "not-verified-recently"),
            "{form:?}"
        );
    }
    // Long after, the token is still refused as late, not as foreign.
    app.advance_all(3_600).await;
    let much_later = notify(
        &app,
        &[("secret", SECRET), ("response", &late), ("text", "Late.")],
    )
    .await;
    assert_eq!(much_later.refused_with(), (403, "not-verified-recently"));
    assert_eq!(app.upstream_requests().await, before);
    assert!(delivered(&app, "Late.").await.is_empty());
    assert_eq!(delivered(&app, TEXT).await, [E164]);
}

/// Two sites of a sites file: a shop on `localhost:3100`, a blog on `localhost:3200`,
/// which may have `per_day` sends a day.
fn two_sites(per_day: u32) -> String {
    format!(
        r#"
        [[sites]]
        sitekey = "pk_test_shop"
        secrets = ["sk_test_shop_0123456789abcdefghij"]
        origins = ["http://localhost:3100"]

        [[sites]]
        sitekey = "pk_test_blog"
        secrets = ["sk_test_blog_0123456789abcdefghij"]
        origins = ["http://localhost:3200"]
        sends_per_day = {per_day}
        "#
    )
}

async fn with_sites(upstream: Upstream, sites: &str) -> TestApp {
    spawn(
        upstream,
        &[("VERIFY_SITES_FILE", &crate::support::sites_file(sites))],
    )
    .await
}

const SHOP_SECRET: &str = "sk_test_shop_0123456789abcdefghij";
const BLOG_SECRET: &str = "sk_test_blog_0123456789abcdefghij";

#[tokio::test]
async fn another_sites_verification_is_not_yours_to_notify() {
    let app = with_sites(Upstream::Local, &two_sites(100)).await;
    let token = verify(&app, "pk_test_shop", SHOP, NUMBER, "sms").await;
    let answer = reqwest::Client::new()
        .post(app.url("/api/v1/siteverify"))
        .form(&[("secret", SHOP_SECRET), ("response", &token)])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let vid = answer["vid"].as_str().unwrap();

    let by_token = notify(
        &app,
        &[
            ("secret", BLOG_SECRET),
            ("response", &token),
            ("text", TEXT),
        ],
    )
    .await;
    assert_eq!(by_token.refused_with(), (403, "sitekey-secret-mismatch"));
    let by_vid = notify(
        &app,
        &[("secret", BLOG_SECRET), ("vid", vid), ("text", TEXT)],
    )
    .await;
    assert_eq!(
        by_vid.refused_with(),
        (400, "invalid-input-response"),
        "another site's verification is none of the blog's"
    );
    let dev = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(
        dev.refused_with(),
        (401, "invalid-input-secret"),
        "no development site beside a sites file"
    );
    assert!(delivered(&app, TEXT).await.is_empty());
    // The shop's own request was not used up by the others.
    let sent = notify(
        &app,
        &[("secret", SHOP_SECRET), ("vid", vid), ("text", TEXT)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(delivered(&app, TEXT).await, [E164]);
}

#[tokio::test]
async fn confirmations_count_in_the_sites_daily_budget() {
    let app = with_sites(Upstream::Local, &two_sites(1)).await;
    // The blog's one send a day goes to the code; the confirmation finds it used up.
    let token = verify(&app, "pk_test_blog", "http://localhost:3200", NUMBER, "sms").await;
    let refused = notify(
        &app,
        &[
            ("secret", BLOG_SECRET),
            ("response", &token),
            ("text", TEXT),
        ],
    )
    .await;
    assert_eq!(refused.refused_with(), (429, "rate-limited"));
    let wait: u64 = refused.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert!(delivered(&app, TEXT).await.is_empty());
    assert_eq!(
        app.scrape()
            .await
            .value("phone_verify_refusals_total", &[("limit", "site-day")]),
        1.0
    );
    // Refused by the budget, not marked as notified: asked again, the budget answers.
    let again = notify(
        &app,
        &[
            ("secret", BLOG_SECRET),
            ("response", &token),
            ("text", TEXT),
        ],
    )
    .await;
    assert_eq!(again.refused_with(), (429, "rate-limited"));
}

#[tokio::test]
async fn a_sites_confirmation_and_codes_share_its_budget() {
    let app = with_sites(Upstream::Local, &two_sites(2)).await;
    let token = verify(&app, "pk_test_blog", "http://localhost:3200", NUMBER, "sms").await;
    let sent = notify(
        &app,
        &[
            ("secret", BLOG_SECRET),
            ("response", &token),
            ("text", TEXT),
        ],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    // One code and one confirmation: the blog's two sends of the day are gone.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = client
        .get(app.url("/embed?sitekey=pk_test_blog&origin=http://localhost:3200"))
        .send()
        .await
        .unwrap();
    let frame = opened.headers()[LOCATION].to_str().unwrap().to_owned();
    let start = client
        .post(app.url(&format!("{frame}/api/verify/start")))
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", "+44 7911 222333"), ("channel", "sms")])
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 429);
}

#[tokio::test]
async fn a_landline_verified_by_a_call_gets_no_text() {
    let app = spawn(Upstream::Local, &[]).await;
    let token = verify(&app, "pk_test_local", SHOP, "+44 20 7946 0018", "voice").await;
    let answer = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(answer.refused_with(), (422, "not-a-mobile-number"));
    assert!(delivered(&app, TEXT).await.is_empty());
}

#[tokio::test]
async fn without_a_sender_there_are_no_texts() {
    for upstream in [Upstream::MessageBird, Upstream::Twilio] {
        let app = spawn_with(upstream, &[]).await;
        let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
        let before = app.upstream_requests().await;
        let answer = notify(
            &app,
            &[("secret", SECRET), ("response", &token), ("text", TEXT)],
        )
        .await;
        assert_eq!(
            answer.refused_with(),
            (501, "notify-unavailable"),
            "{upstream:?}"
        );
        assert_eq!(app.upstream_requests().await, before);
        // The secret comes first: nobody learns the setting without it.
        let stranger = notify(
            &app,
            &[("secret", "sk_nobody_0123456789abcdefghij"), ("text", TEXT)],
        )
        .await;
        assert_eq!(stranger.refused_with(), (401, "invalid-input-secret"));
    }
}

#[tokio::test]
async fn twilio_sends_through_a_messaging_service() {
    let service = "MG0123456789abcdef0123456789abcdef";
    let app = spawn_with(
        Upstream::Twilio,
        &[("TWILIO_MESSAGING_SERVICE_SID", service)],
    )
    .await;
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    let sent = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let texts = app.fake_get("/_fake/texts").await;
    assert_eq!(texts[0]["to"], E164);
    assert_eq!(
        texts[0]["from"],
        Value::Null,
        "the service picks the sender"
    );
}

/// What a provider failure means: a refusal or a throttle sent nothing, so the host
/// may try again; a 5xx may have sent, so it may not.
async fn provider_failures(upstream: Upstream) {
    assert_ne!(upstream, Upstream::Local, "the outbox does not fail");
    let app = spawn(upstream, &[]).await;
    let first = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    let form = |token: &str| {
        vec![
            ("secret", SECRET.to_owned()),
            ("response", token.to_owned()),
            ("text", TEXT.to_owned()),
        ]
    };
    let send = |token: String| {
        let app = &app;
        async move {
            let form = form(&token);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            notify(app, &form).await
        }
    };

    app.knobs(json!({"blocked_prefixes": ["+4479"]})).await;
    let refused = send(first.clone()).await;
    assert_eq!(refused.refused_with(), (502, "provider-refused"));
    app.knobs(json!({"fault": "rate_limited", "retry_after": 42}))
        .await;
    let throttled = send(first.clone()).await;
    assert_eq!(throttled.refused_with(), (429, "rate-limited"));
    assert_eq!(throttled.retry_after.as_deref(), Some("42"));
    app.knobs(json!({})).await;
    let sent = send(first.clone()).await;
    assert_eq!(sent.status, 200, "given back each time: {}", sent.body);

    let second = verify(&app, "pk_test_local", SHOP, "+44 7911 123457", "sms").await;
    app.knobs(json!({"fault": "server_error"})).await;
    let failed = send(second.clone()).await;
    assert_eq!(failed.refused_with(), (502, "provider-error"));
    app.knobs(json!({})).await;
    let again = send(second).await;
    assert_eq!(
        again.refused_with(),
        (409, "already-notified"),
        "it may have gone out: never twice"
    );
    assert_eq!(delivered(&app, TEXT).await, [E164]);
}

#[tokio::test]
async fn messagebird_failures_give_back_only_what_certainly_was_not_sent() {
    provider_failures(Upstream::MessageBird).await;
}

#[tokio::test]
async fn twilio_failures_give_back_only_what_certainly_was_not_sent() {
    provider_failures(Upstream::Twilio).await;
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_a_504() {
    let app = spawn(Upstream::Twilio, &[("UPSTREAM_TIMEOUT_MS", "300")]).await;
    let token = verify(&app, "pk_test_local", SHOP, NUMBER, "sms").await;
    app.knobs(json!({"fault": "hang"})).await;
    let answer = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(answer.refused_with(), (504, "provider-timeout"));
    app.knobs(json!({})).await;
    let again = notify(
        &app,
        &[("secret", SECRET), ("response", &token), ("text", TEXT)],
    )
    .await;
    assert_eq!(again.refused_with(), (409, "already-notified"));
}
