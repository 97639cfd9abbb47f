//! The MessageBird and Twilio clients against the fake upstream: wire format, every
//! fault knob, and every refusal, each mapped to a clear error and never a 500.

use crate::support::{Upstream, spawn_with};
use serde_json::{Value, json};

const NUMBER: &str = "+44 7400 123456";

async fn start_with_knobs(
    upstream: Upstream,
    knobs: Value,
    extra: &[(&str, &str)],
) -> (u16, Value, u64) {
    let app = spawn_with(upstream, extra).await;
    app.knobs(knobs).await;
    let answer = app
        .browser()
        .call("start", &[("phone", NUMBER), ("channel", "sms")])
        .await;
    (answer.status, answer.body, app.upstream_requests().await)
}

both!(
    server_error_is_502_and_never_retried,
    hang_is_504_after_the_timeout,
    reset_is_502,
    malformed_json_is_502,
    a_redirect_is_not_followed,
    an_endless_answer_is_cut_off,
    rate_limit_passes_retry_after_on,
    unreachable_provider_is_503,
    blocked_number_is_unreachable,
    disabled_channel_is_reported,
    a_fault_during_check_keeps_the_verification,
    latency_is_tolerated,
);

async fn server_error_is_502_and_never_retried(upstream: Upstream) {
    let (status, body, requests) =
        start_with_knobs(upstream, json!({"fault": "server_error"}), &[]).await;
    assert_eq!((status, body), (502, json!("UpstreamError")));
    assert_eq!(requests, 1, "a send that may have arrived is never retried");
}

async fn hang_is_504_after_the_timeout(upstream: Upstream) {
    let (status, body, requests) = start_with_knobs(
        upstream,
        json!({"fault": "hang"}),
        &[("UPSTREAM_TIMEOUT_MS", "300")],
    )
    .await;
    assert_eq!((status, body), (504, json!("UpstreamTimeout")));
    assert_eq!(requests, 1);
}

async fn reset_is_502(upstream: Upstream) {
    let (status, body, requests) = start_with_knobs(upstream, json!({"fault": "reset"}), &[]).await;
    assert_eq!((status, body), (502, json!("UpstreamError")));
    assert_eq!(requests, 1);
}

async fn malformed_json_is_502(upstream: Upstream) {
    let (status, body, _) = start_with_knobs(upstream, json!({"fault": "malformed"}), &[]).await;
    assert_eq!((status, body), (502, json!("UpstreamError")));
}

/// A follower would send the form again, to wherever the answer points.
async fn a_redirect_is_not_followed(upstream: Upstream) {
    let (status, body, requests) =
        start_with_knobs(upstream, json!({"fault": "redirect"}), &[]).await;
    assert_eq!((status, body), (502, json!("UpstreamError")));
    assert_eq!(requests, 1, "the redirect was not followed");
}

async fn an_endless_answer_is_cut_off(upstream: Upstream) {
    let (status, body, _) = start_with_knobs(upstream, json!({"fault": "oversized"}), &[]).await;
    assert_eq!((status, body), (502, json!("UpstreamError")));
}

async fn rate_limit_passes_retry_after_on(upstream: Upstream) {
    let (status, body, _) = start_with_knobs(
        upstream,
        json!({"fault": "rate_limited", "retry_after": 42}),
        &[],
    )
    .await;
    assert_eq!(
        (status, body),
        (429, json!({"RateLimited": {"retry_after": 42}}))
    );
}

async fn unreachable_provider_is_503(upstream: Upstream) {
    // Port 9 on loopback: nothing listens, the connection is refused.
    let url_var = if upstream == Upstream::MessageBird {
        "MESSAGEBIRD_API_URL"
    } else {
        "TWILIO_VERIFY_API_URL"
    };
    let app = spawn_with(upstream, &[(url_var, "http://127.0.0.1:9")]).await;
    let answer = app.browser().call("start", &[("phone", NUMBER)]).await;
    assert_eq!(
        (answer.status, answer.body),
        (503, json!("ServiceUnavailable"))
    );
}

async fn blocked_number_is_unreachable(upstream: Upstream) {
    let (status, body, _) =
        start_with_knobs(upstream, json!({"blocked_prefixes": ["+44740"]}), &[]).await;
    assert_eq!((status, body), (422, json!("NumberUnreachable")));
}

async fn disabled_channel_is_reported(upstream: Upstream) {
    let (status, body, _) =
        start_with_knobs(upstream, json!({"disabled_channels": ["sms"]}), &[]).await;
    assert_eq!((status, body), (422, json!("ChannelUnavailable")));
}

async fn a_fault_during_check_keeps_the_verification(upstream: Upstream) {
    let app = spawn_with(upstream, &[]).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = app.latest_code().await;
    app.knobs(json!({"fault": "server_error"})).await;
    let failed = browser.call("check", &[("code", &code)]).await;
    assert_eq!((failed.status, failed.body), (502, json!("UpstreamError")));
    app.knobs(json!({})).await;
    assert_eq!(
        browser.call("check", &[("code", &code)]).await.status,
        200,
        "the visitor can simply try again"
    );
}

async fn latency_is_tolerated(upstream: Upstream) {
    let (status, _, _) = start_with_knobs(upstream, json!({"latency_ms": 150}), &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_credentials_are_503_and_never_shown() {
    for (upstream, var) in [
        (Upstream::MessageBird, "MESSAGEBIRD_ACCESS_KEY"),
        (Upstream::Twilio, "TWILIO_AUTH_TOKEN"),
    ] {
        let app = spawn_with(upstream, &[(var, "wrong_secret_value")]).await;
        let answer = app.browser().call("start", &[("phone", NUMBER)]).await;
        assert_eq!(
            (answer.status, answer.body.clone()),
            (503, json!("ServiceUnavailable")),
            "{upstream:?}"
        );
        assert!(!answer.body.to_string().contains("wrong_secret_value"));
    }
}

#[tokio::test]
async fn messagebird_create_carries_every_option() {
    let app = spawn_with(
        Upstream::MessageBird,
        &[
            ("VERIFY_VOICE", "male"),
            ("VERIFY_LANGUAGE", "de-de"),
            ("MESSAGEBIRD_ORIGINATOR", "PhoneVerify"),
        ],
    )
    .await;
    app.knobs(json!({"messagebird_create_status": 201})).await;
    let answer = app
        .browser()
        .call("start", &[("phone", NUMBER), ("channel", "voice")])
        .await;
    assert_eq!(
        answer.status, 200,
        "201 on create is accepted: {}",
        answer.body
    );
    let body = &app.fake_get("/_fake/stats").await["last_messagebird_create"];
    assert_eq!(body["recipient"], "447400123456");
    assert_eq!(body["type"], "tts");
    assert_eq!(body["template"], "Your security code is %token.");
    assert_eq!(body["tokenLength"], 6);
    assert_eq!(
        body["timeout"], 600,
        "explicit: the upstream default of 30 s is too short"
    );
    assert_eq!(body["voice"], "male");
    assert_eq!(body["language"], "de-de");
    assert_eq!(body["originator"], "PhoneVerify");
}

#[tokio::test]
async fn twilio_check_answering_201_is_accepted() {
    let app = spawn_with(Upstream::Twilio, &[]).await;
    app.knobs(json!({"twilio_check_status": 201})).await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    assert_eq!(
        browser
            .call("check", &[("code", &app.latest_code().await)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn upstream_expiry_is_reported() {
    // The provider's clock runs ahead of ours: it has expired the code, we have not.
    // MessageBird says so; Twilio deletes expired verifications, so the app can only
    // say there is none.
    for (upstream, expected) in [
        (Upstream::MessageBird, (410, json!("CodeExpired"))),
        (Upstream::Twilio, (409, json!("NoVerificationInProgress"))),
    ] {
        let app = spawn_with(upstream, &[]).await;
        let browser = app.browser();
        browser.call("start", &[("phone", NUMBER)]).await;
        let code = app.latest_code().await;
        app.advance_upstream(601).await;
        let answer = browser.call("check", &[("code", &code)]).await;
        assert_eq!((answer.status, answer.body), expected, "{upstream:?}");
    }
}

#[tokio::test]
async fn twilio_resend_reuses_the_code_and_stops_after_five_sends() {
    let app = spawn_with(
        Upstream::Twilio,
        &[
            ("VERIFY_RESEND_COOLDOWN_SECS", "0"),
            // Our own limits would stop it first; this is about Twilio's.
            ("VERIFY_LIMIT_SESSION_SENDS", "10"),
            ("VERIFY_LIMIT_NUMBER_PER_HOUR", "10"),
        ],
    )
    .await;
    let browser = app.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let first = app.latest_code().await;
    for _ in 0..4 {
        assert_eq!(browser.call("resend", &[]).await.status, 200);
        assert_eq!(
            app.latest_code().await,
            first,
            "Twilio resends the same code"
        );
    }
    let sixth = browser.call("resend", &[]).await;
    assert_eq!(
        (sixth.status, sixth.body),
        (429, json!({"RateLimited": {"retry_after": 600}}))
    );
}
