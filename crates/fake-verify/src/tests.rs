//! The messaging APIs as the fake speaks them, request by request through the router
//! (no socket): auth, bodies, each API's error envelope, the text list, the knobs.
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const TWILIO_MESSAGES: &str =
    "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json";
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";

fn twilio_auth() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}"))
    )
}

fn messagebird_auth() -> String {
    format!("AccessKey {MESSAGEBIRD_KEY}")
}

/// One request to the fake; its status, `Retry-After` and JSON body.
async fn send(fake: &Fake, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = router(fake.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry_after, body)
}

fn form(path: &str, auth: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let encoded: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect();
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    request.body(Body::from(encoded.join("&"))).unwrap()
}

fn json_post(path: &str, auth: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, auth)
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Form encoding, enough for the tests' values.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn texts(fake: &Fake, query: &str) -> Vec<Value> {
    let request = Request::get(format!("/_fake/texts{query}"))
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(fake, request).await;
    body.as_array().unwrap().clone()
}

fn set_knobs(fake: &Fake, knobs: Value) {
    fake.world().knobs = serde_json::from_value(knobs).unwrap();
}

#[tokio::test]
async fn twilio_sends_a_text_from_a_number_or_a_messaging_service() {
    let fake = Fake::default();
    let auth = twilio_auth();
    let (status, _, message) = send(
        &fake,
        form(
            TWILIO_MESSAGES,
            Some(&auth),
            &[
                ("To", "+447911123456"),
                ("From", "+15005550006"),
                ("Body", "Your account has been created."),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let sid = message["sid"].as_str().unwrap();
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(message["account_sid"], TWILIO_ACCOUNT_SID);
    assert_eq!(message["to"], "+447911123456");
    assert_eq!(message["from"], "+15005550006");
    assert_eq!(message["body"], "Your account has been created.");
    assert_eq!(message["status"], "queued");
    assert_eq!(message["direction"], "outbound-api");
    assert_eq!(message["api_version"], "2010-04-01");
    assert_eq!(message["num_segments"], "1", "counts are strings");
    assert!(
        message["date_created"]
            .as_str()
            .unwrap()
            .ends_with(" +0000"),
        "RFC 2822: {}",
        message["date_created"]
    );
    assert_eq!(
        message["uri"],
        format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{sid}.json")
    );

    let (status, _, by_service) = send(
        &fake,
        form(
            TWILIO_MESSAGES,
            Some(&auth),
            &[
                ("To", "+4915112345678"),
                ("MessagingServiceSid", SERVICE),
                ("Body", "Willkommen!\nIhr Konto ist angelegt."),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{by_service}");
    assert_eq!(by_service["status"], "accepted");
    assert_eq!(by_service["messaging_service_sid"], SERVICE);
    assert_eq!(by_service["from"], Value::Null);

    let sent = texts(&fake, "").await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["to"], "+4915112345678", "newest first");
    assert_eq!(sent[0]["body"], "Willkommen!\nIhr Konto ist angelegt.");
    assert_eq!(sent[1]["provider"], "twilio");
    assert_eq!(sent[1]["from"], "+15005550006");
    let one = texts(&fake, "?to=%2B447911123456").await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["id"], sid);
}

#[tokio::test]
async fn twilio_refuses_in_its_own_envelope_and_sends_nothing() {
    let fake = Fake::default();
    let auth = twilio_auth();
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_ACCOUNT_SID}:nope"))
    );
    let ok_to = ("To", "+447911123456");
    let ok_from = ("From", "+15005550006");
    let ok_body = ("Body", "hello");
    let long = "x".repeat(1_601);
    let other_account = "/2010-04-01/Accounts/AC11111111111111111111111111111111/Messages.json";
    let cases: Vec<(Request<Body>, StatusCode, u32)> = vec![
        (
            form(TWILIO_MESSAGES, None, &[ok_to, ok_from, ok_body]),
            StatusCode::UNAUTHORIZED,
            20003,
        ),
        (
            form(TWILIO_MESSAGES, Some(&wrong), &[ok_to, ok_from, ok_body]),
            StatusCode::UNAUTHORIZED,
            20003,
        ),
        (
            form(other_account, Some(&auth), &[ok_to, ok_from, ok_body]),
            StatusCode::NOT_FOUND,
            20404,
        ),
        (
            form(TWILIO_MESSAGES, Some(&auth), &[ok_from, ok_body]),
            StatusCode::BAD_REQUEST,
            21604,
        ),
        (
            form(
                TWILIO_MESSAGES,
                Some(&auth),
                &[("To", "07911123456"), ok_from, ok_body],
            ),
            StatusCode::BAD_REQUEST,
            21211,
        ),
        (
            form(TWILIO_MESSAGES, Some(&auth), &[ok_to, ok_body]),
            StatusCode::BAD_REQUEST,
            21603,
        ),
        (
            form(
                TWILIO_MESSAGES,
                Some(&auth),
                &[ok_to, ("From", "not a sender!"), ok_body],
            ),
            StatusCode::BAD_REQUEST,
            21212,
        ),
        (
            form(
                TWILIO_MESSAGES,
                Some(&auth),
                &[ok_to, ("MessagingServiceSid", "MGnope"), ok_body],
            ),
            StatusCode::NOT_FOUND,
            20404,
        ),
        (
            form(TWILIO_MESSAGES, Some(&auth), &[ok_to, ok_from]),
            StatusCode::BAD_REQUEST,
            21602,
        ),
        (
            form(
                TWILIO_MESSAGES,
                Some(&auth),
                &[ok_to, ok_from, ("Body", &long)],
            ),
            StatusCode::BAD_REQUEST,
            21617,
        ),
    ];
    for (request, status, code) in cases {
        let (got, _, body) = send(&fake, request).await;
        assert_eq!(
            (got, body["code"].as_u64()),
            (status, Some(u64::from(code))),
            "{body}"
        );
        assert_eq!(body["status"], status.as_u16(), "{body}");
        assert_eq!(
            body["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
        assert!(body["message"].is_string());
    }
    // A JSON body is not what the API reads.
    let (status, _, _) = send(
        &fake,
        json_post(
            TWILIO_MESSAGES,
            &auth,
            &json!({"To": "+447911123456", "From": "+15005550006", "Body": "hello"}),
        ),
    )
    .await;
    assert!(status.is_client_error());

    set_knobs(
        &fake,
        json!({"blocked_prefixes": ["+4479"], "landline_prefixes": ["+4420"]}),
    );
    let (status, _, body) = send(
        &fake,
        form(TWILIO_MESSAGES, Some(&auth), &[ok_to, ok_from, ok_body]),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(21408))
    );
    let (status, _, body) = send(
        &fake,
        form(
            TWILIO_MESSAGES,
            Some(&auth),
            &[("To", "+442079460000"), ok_from, ok_body],
        ),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(21614))
    );
    assert!(texts(&fake, "").await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn messagebird_sends_a_text_from_json_or_a_form() {
    let fake = Fake::default();
    let auth = messagebird_auth();
    let (status, _, message) = send(
        &fake,
        json_post(
            "/messages",
            &auth,
            &json!({
                "originator": "PhoneVerify",
                "recipients": ["447911123456"],
                "body": "Your account has been created.",
                "datacoding": "auto",
                "reference": "user_42",
            }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let id = message["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(
        message["href"],
        format!("https://rest.messagebird.com/messages/{id}")
    );
    assert_eq!(message["direction"], "mt");
    assert_eq!(message["type"], "sms");
    assert_eq!(message["originator"], "PhoneVerify");
    assert_eq!(message["body"], "Your account has been created.");
    assert_eq!(message["reference"], "user_42");
    assert_eq!(message["datacoding"], "auto");
    let recipients = &message["recipients"];
    assert_eq!(recipients["totalCount"], 1);
    assert_eq!(recipients["totalSentCount"], 1);
    assert_eq!(
        recipients["items"][0]["recipient"],
        json!(447_911_123_456_u64),
        "a JSON number, as the API answers"
    );
    assert_eq!(recipients["items"][0]["status"], "sent");

    // A form, with the recipients as a comma-separated list and `+` on the number.
    let (status, _, message) = send(
        &fake,
        form(
            "/messages",
            Some(&auth),
            &[
                ("originator", "+31970102030"),
                ("recipients", "+4915112345678,31612345678"),
                ("body", "Welkom"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["recipients"]["totalCount"], 2);
    assert_eq!(message["datacoding"], "plain");
    let sent = texts(&fake, "").await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2]["to"], "+447911123456");
    assert_eq!(sent[2]["from"], "PhoneVerify");
    assert_eq!(sent[2]["provider"], "messagebird");
    assert_eq!(
        texts(&fake, "?to=%2B31612345678").await[0]["body"],
        "Welkom"
    );

    // 200 as the SDK fixtures have it, on a knob.
    set_knobs(&fake, json!({"messagebird_message_status": 200}));
    let (status, _, _) = send(
        &fake,
        json_post(
            "/messages",
            &auth,
            &json!({"originator": "PhoneVerify", "recipients": [447_911_123_456_u64], "body": "hi"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn messagebird_refuses_in_its_own_envelope_and_sends_nothing() {
    let fake = Fake::default();
    let auth = messagebird_auth();
    let good = json!({"originator": "PhoneVerify", "recipients": ["447911123456"], "body": "hi"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (without("originator"), 9, "originator"),
        (
            with("originator", json!("Far too long a name")),
            10,
            "originator",
        ),
        (without("body"), 9, "body"),
        (with("body", json!("  ")), 9, "body"),
        (with("body", json!("x".repeat(1_378))), 10, "body"),
        (without("recipients"), 9, "recipient"),
        (
            with("recipients", json!(["12", "not a number"])),
            9,
            "recipient",
        ),
        (with("datacoding", json!("ebcdic")), 10, "datacoding"),
    ];
    for (body, code, parameter) in cases {
        let (status, _, answer) = send(&fake, json_post("/messages", &auth, &body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let error = &answer["errors"][0];
        assert_eq!(
            (error["code"].as_u64(), error["parameter"].as_str()),
            (Some(code), Some(parameter)),
            "{body}: {answer}"
        );
        assert!(error["description"].is_string());
    }
    for wrong in ["AccessKey nope", "Bearer x"] {
        let (status, _, answer) = send(&fake, json_post("/messages", wrong, &good)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer["errors"][0]["code"], 2);
        assert_eq!(answer["errors"][0]["parameter"], "access_key");
    }
    let unreadable = Request::post("/messages")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, &auth)
        .body(Body::from("{"))
        .unwrap();
    let (status, _, answer) = send(&fake, unreadable).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["errors"][0]["code"].is_u64());

    set_knobs(
        &fake,
        json!({"blocked_prefixes": ["+4479"], "landline_prefixes": ["+4420"]}),
    );
    let (status, _, answer) = send(&fake, json_post("/messages", &auth, &good)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer["errors"][0]["description"],
        "no (correct) recipients found"
    );
    let landline = with("recipients", json!(["442079460000"]));
    let (status, _, answer) = send(&fake, json_post("/messages", &auth, &landline)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"][0]["code"], 21);
    assert!(texts(&fake, "").await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn the_fault_knobs_apply_to_the_messaging_apis_too() {
    let fake = Fake::default();
    let twilio = || {
        form(
            TWILIO_MESSAGES,
            Some(&twilio_auth()),
            &[
                ("To", "+447911123456"),
                ("From", "+15005550006"),
                ("Body", "hi"),
            ],
        )
    };
    let messagebird = || {
        json_post(
            "/messages",
            &messagebird_auth(),
            &json!({"originator": "PhoneVerify", "recipients": ["447911123456"], "body": "hi"}),
        )
    };
    set_knobs(&fake, json!({"fault": "rate_limited", "retry_after": 42}));
    let (status, retry_after, body) = send(&fake, twilio()).await;
    assert_eq!(
        (status, retry_after.as_deref(), body["code"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some("42"), Some(20429)),
        "Twilio's envelope: {body}"
    );
    let (status, retry_after, body) = send(&fake, messagebird()).await;
    assert_eq!(
        (status, retry_after.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("42"))
    );
    assert!(
        body["errors"][0]["code"].is_u64(),
        "MessageBird's envelope: {body}"
    );

    set_knobs(&fake, json!({"fault": "server_error"}));
    assert_eq!(
        send(&fake, twilio()).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        send(&fake, messagebird()).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    set_knobs(&fake, json!({"fault": "redirect"}));
    assert_eq!(
        send(&fake, twilio()).await.0,
        StatusCode::TEMPORARY_REDIRECT
    );
    set_knobs(&fake, json!({"fault": "malformed"}));
    let (status, _, body) = send(&fake, messagebird()).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null), "not JSON");
    assert!(texts(&fake, "").await.is_empty(), "a fault sends nothing");

    set_knobs(&fake, json!({}));
    assert_eq!(send(&fake, twilio()).await.0, StatusCode::CREATED);
    assert_eq!(send(&fake, messagebird()).await.0, StatusCode::CREATED);
    let stats = send(
        &fake,
        Request::get("/_fake/stats").body(Body::empty()).unwrap(),
    )
    .await
    .2;
    assert_eq!(stats["texts"], 2);
    assert_eq!(
        stats["requests"], 8,
        "every protocol request counts, faults too"
    );
}

#[tokio::test]
async fn the_text_list_is_newest_first_by_number_and_limited_on_request() {
    let fake = Fake::default();
    let auth = messagebird_auth();
    for (to, body) in [
        ("447911123456", "one"),
        ("447911000000", "other"),
        ("447911123456", "two"),
    ] {
        let text = json!({"originator": "PhoneVerify", "recipients": [to], "body": body});
        let (status, _, answer) = send(&fake, json_post("/messages", &auth, &text)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let bodies = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .map(|t| t["body"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(bodies(texts(&fake, "").await), ["two", "other", "one"]);
    assert_eq!(
        bodies(texts(&fake, "?to=%2B447911123456").await),
        ["two", "one"]
    );
    assert_eq!(
        bodies(texts(&fake, "?to=%2B447911123456&limit=1").await),
        ["two"]
    );
    assert_eq!(bodies(texts(&fake, "?limit=2").await), ["two", "other"]);
    assert_eq!(bodies(texts(&fake, "?limit=0").await), Vec::<String>::new());
}
