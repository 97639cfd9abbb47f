//! What an operator sees: the metrics move as visitors verify, are refused and meet
//! a failing provider, and a scrape reads with a Prometheus parser; every request
//! has an id, returned to the caller. (The JSON log lines are searched for secrets
//! in `leaks`.)

use serde_json::json;

use crate::support::{Upstream, spawn_app, spawn_with};

const GB_MOBILE: &str = "+44 7400 123456";

#[tokio::test]
async fn the_metrics_follow_a_verification_from_send_to_success() {
    let app = spawn_app(&[]).await;
    let before = app.scrape().await;
    assert_eq!(
        before.value("phone_verify_sends_total", &[]),
        0.0,
        "nothing sent yet"
    );
    assert_eq!(
        before.value("phone_verify_breaker_state", &[]),
        0.0,
        "the local provider has no breaker"
    );

    let browser = app.browser();
    assert_eq!(
        browser.call("start", &[("phone", GB_MOBILE)]).await.status,
        200
    );
    let wrong = if app.latest_code().await == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(browser.call("check", &[("code", wrong)]).await.status, 422);
    let code = app.latest_code().await;
    assert_eq!(browser.call("check", &[("code", &code)]).await.status, 200);

    let after = app.scrape().await;
    let sent = [
        ("provider", "local"),
        ("channel", "sms"),
        ("country", "GB"),
        ("outcome", "sent"),
    ];
    assert_eq!(
        after.value("phone_verify_sends_total", &sent),
        1.0,
        "{}",
        after.text
    );
    let checked = |outcome| {
        after.value(
            "phone_verify_checks_total",
            &[("provider", "local"), ("outcome", outcome)],
        )
    };
    assert_eq!(checked("wrong_code"), 1.0);
    assert_eq!(checked("approved"), 1.0);
    assert_eq!(
        after.value(
            "phone_verify_verifications_total",
            &[("channel", "sms"), ("country", "GB")]
        ),
        1.0,
        "conversion: one verified per code sent"
    );
    assert_eq!(
        after.value("phone_verify_sessions_created_total", &[("kind", "cookie")]),
        1.0
    );
    assert_eq!(
        after.value(
            "phone_verify_upstream_seconds_count",
            &[
                ("provider", "local"),
                ("operation", "check"),
                ("result", "ok")
            ]
        ),
        2.0,
        "both checks reached the provider"
    );
    assert!(
        after.value(
            "phone_verify_store_seconds_count",
            &[("operation", "admit")]
        ) >= 3.0
    );
    assert_eq!(
        after.value(
            "phone_verify_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/verify/check"),
                ("status", "422")
            ]
        ),
        1.0
    );
    assert_eq!(
        after.value("phone_verify_upstream_in_flight", &[("provider", "local")]),
        0.0,
        "nothing left out"
    );
    // Labels only: sums of timings are numbers, and any digits may occur in them.
    for sample in &after.scrape.samples {
        for value in sample.labels.values() {
            for secret in [code.as_str(), "7400", "123456"] {
                assert!(
                    !value.contains(secret),
                    "{secret} in a label of {}",
                    sample.metric
                );
            }
        }
    }
}

#[tokio::test]
async fn refusals_are_counted_by_the_limit_that_refused() {
    let app = spawn_app(&[("VERIFY_LIMIT_IP_PER_HOUR", "1")]).await;
    let browser = app.browser();
    assert_eq!(
        browser.call("start", &[("phone", GB_MOBILE)]).await.status,
        200
    );
    let refused = app
        .browser()
        .call("start", &[("phone", "+44 7400 654321")])
        .await;
    assert_eq!(refused.status, 429);
    let landline = app
        .browser()
        .call(
            "start",
            &[("phone", "+44 20 7946 0018"), ("channel", "sms")],
        )
        .await;
    assert_eq!(landline.status, 422, "{}", landline.body);

    let scrape = app.scrape().await;
    assert_eq!(
        scrape.value("phone_verify_refusals_total", &[("limit", "ip-hour")]),
        1.0,
        "{}",
        scrape.text
    );
    assert_eq!(
        scrape.value("phone_verify_refusals_total", &[("limit", "landline-sms")]),
        1.0
    );
    assert_eq!(
        scrape.value("phone_verify_sends_total", &[("outcome", "rate_limited")]),
        1.0
    );
    assert_eq!(
        scrape.value(
            "phone_verify_upstream_seconds_count",
            &[("provider", "local"), ("operation", "start")]
        ),
        1.0,
        "refused sends never reach the provider"
    );
}

#[tokio::test]
async fn the_breaker_shows_open_when_the_provider_keeps_failing() {
    for upstream in [Upstream::MessageBird, Upstream::Twilio] {
        let app = spawn_with(
            upstream,
            &[
                ("UPSTREAM_BREAKER_FAILURES", "2"),
                ("VERIFY_LIMIT_IP_PER_HOUR", "100"),
            ],
        )
        .await;
        let provider = match upstream {
            Upstream::Twilio => "twilio",
            _ => "messagebird",
        };
        let breaker = [("provider", provider)];
        assert_eq!(
            app.scrape()
                .await
                .value("phone_verify_breaker_state", &breaker),
            0.0
        );
        app.knobs(json!({"fault": "server_error"})).await;
        for number in ["+44 7400 100001", "+44 7400 100002"] {
            let answer = app.browser().call("start", &[("phone", number)]).await;
            assert_eq!(answer.status, 502);
        }
        let shed = app
            .browser()
            .call("start", &[("phone", "+44 7400 100003")])
            .await;
        assert_eq!(shed.status, 503);

        let scrape = app.scrape().await;
        assert_eq!(
            scrape.value("phone_verify_breaker_state", &breaker),
            2.0,
            "open: {}",
            scrape.text
        );
        assert_eq!(
            scrape.value(
                "phone_verify_upstream_seconds_count",
                &[
                    ("provider", provider),
                    ("operation", "start"),
                    ("result", "bad_gateway")
                ]
            ),
            2.0,
            "the shed call never went out"
        );
        let outcome = |outcome| {
            scrape.value(
                "phone_verify_sends_total",
                &[("provider", provider), ("outcome", outcome)],
            )
        };
        assert_eq!(outcome("upstream_error"), 2.0);
        assert_eq!(outcome("service_busy"), 1.0);
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_plain_one_is_kept() {
    let app = spawn_app(&[]).await;
    let client = reqwest::Client::new();
    let mine = client
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "lb-4711");
    let forged = client
        .get(app.url("/healthz"))
        .header("x-request-id", "x\" status=500")
        .send()
        .await
        .unwrap();
    let made = forged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(made, "x\" status=500");
    assert_eq!(made.len(), 16);
    let other = client.get(app.url("/nothing-here")).send().await.unwrap();
    assert_ne!(
        other.headers()["x-request-id"],
        made.as_str(),
        "a new id each time"
    );

    let scrape = app.scrape().await;
    assert_eq!(
        scrape.value(
            "phone_verify_http_requests_total",
            &[("route", "/healthz"), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        scrape.value(
            "phone_verify_http_requests_total",
            &[("route", "(static)"), ("status", "404")]
        ),
        1.0,
        "unknown paths are counted under one label, not their own"
    );
}
