//! MessageBird Verify, and the SMS API of a confirmation text, as the fake speaks
//! them.
use std::time::{Duration, SystemTime};

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Fake, MESSAGEBIRD_KEY, SentMessage, SentText, json as respond, random_digits, random_hex,
    rfc3339,
};

pub struct Verification {
    id: String,
    recipient: String,
    kind: String,
    token: String,
    reference: Option<String>,
    created: SystemTime,
    valid_until: SystemTime,
    status: &'static str,
    failed_attempts: u32,
    max_attempts: u32,
}

pub fn routes() -> Router<Fake> {
    Router::new()
        .route("/verify", post(create))
        .route("/verify/{id}", get(read_or_check).delete(delete))
        .route("/messages", post(create_message))
        .layer(middleware::from_fn(access_key))
}

pub fn error_body(code: u32, description: &str, parameter: Option<&str>) -> String {
    json!({ "errors": [{ "code": code, "description": description, "parameter": parameter }] })
        .to_string()
}

fn error(status: StatusCode, code: u32, description: &str, parameter: Option<&str>) -> Response {
    respond(status, error_body(code, description, parameter))
}

async fn access_key(request: Request, next: Next) -> Response {
    let expected = format!("AccessKey {MESSAGEBIRD_KEY}");
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            2,
            "Request not allowed (incorrect access_key)",
            Some("access_key"),
        );
    }
    next.run(request).await
}

fn object(v: &Verification) -> Value {
    let message_path = if v.kind == "tts" {
        "voicemessages"
    } else {
        "messages"
    };
    json!({
        "id": v.id,
        "href": format!("https://rest.messagebird.com/verify/{}", v.id),
        // A JSON number for phone numbers, as the real API answers.
        "recipient": v.recipient.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(v.recipient.clone())),
        "reference": v.reference,
        "messages": { "href": format!("https://rest.messagebird.com/{message_path}/{}", random_hex(32)) },
        "status": v.status,
        "createdDatetime": rfc3339(v.created),
        "validUntilDatetime": rfc3339(v.valid_until),
    })
}

async fn create(State(fake): State<Fake>, Json(body): Json<Value>) -> Response {
    fake.world().last_messagebird_create = Some(body.clone());
    let recipient = match &body["recipient"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim_start_matches('+').to_owned(),
        Value::Null => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                9,
                "recipient is required",
                Some("recipient"),
            );
        }
        _ => String::new(),
    };
    if recipient.len() < 8 || recipient.len() > 15 || !recipient.chars().all(|c| c.is_ascii_digit())
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "recipient is invalid",
            Some("recipient"),
        );
    }
    let kind = body["type"].as_str().unwrap_or("sms").to_owned();
    if !matches!(kind.as_str(), "sms" | "tts" | "flash") {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "type is invalid",
            Some("type"),
        );
    }
    let channel = if kind == "tts" { "voice" } else { "sms" };
    let knobs = fake.world().knobs.clone();
    if knobs.disabled_channels.iter().any(|c| c == channel) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "type is not enabled for this account",
            Some("type"),
        );
    }
    let to = format!("+{recipient}");
    if channel == "sms" && crate::starts_with_any(&to, &knobs.landline_prefixes) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            21,
            "recipient cannot receive SMS",
            Some("recipient"),
        );
    }
    if crate::starts_with_any(&to, &knobs.blocked_prefixes) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "recipient is not allowed",
            Some("recipient"),
        );
    }
    if body["template"]
        .as_str()
        .is_some_and(|template| !template.contains("%token"))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "template should contain %token",
            Some("template"),
        );
    }
    let length = body["tokenLength"].as_u64().unwrap_or(6);
    if !(6..=10).contains(&length) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "tokenLength is invalid",
            Some("tokenLength"),
        );
    }
    let timeout = body["timeout"].as_u64().unwrap_or(30);
    let now = fake.now();
    let verification = Verification {
        id: random_hex(32),
        recipient,
        kind,
        token: random_digits(usize::try_from(length).unwrap_or(6)),
        reference: body["reference"].as_str().map(str::to_owned),
        created: now,
        valid_until: now + Duration::from_secs(timeout),
        status: "sent",
        failed_attempts: 0,
        max_attempts: body["maxAttempts"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(knobs.messagebird_max_attempts),
    };
    let text = body["template"]
        .as_str()
        .unwrap_or("Your code is: %token")
        .replace("%token", &verification.token);
    fake.record_send(SentMessage {
        provider: "messagebird",
        to: to.clone(),
        channel,
        code: verification.token.clone(),
        id: verification.id.clone(),
        locale: body["language"].as_str().unwrap_or("en-gb").to_owned(),
        text: Some(text),
        sent_at: String::new(),
    });
    let answer = object(&verification);
    fake.world()
        .messagebird
        .insert(verification.id.clone(), verification);
    let status = StatusCode::from_u16(knobs.messagebird_create_status).unwrap_or(StatusCode::OK);
    respond(status, answer.to_string())
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn read_or_check(
    State(fake): State<Fake>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Response {
    let now = fake.now();
    let mut world = fake.world();
    if query.token.is_some() {
        world.checks += 1;
    }
    let Some(v) = world.messagebird.get_mut(&id) else {
        return error(
            StatusCode::NOT_FOUND,
            20,
            "Verify object could not be found",
            None,
        );
    };
    let Some(token) = query.token else {
        return respond(StatusCode::OK, object(v).to_string());
    };
    if !(6..=10).contains(&token.len()) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "Token should between 6 and 10 characters",
            Some("token"),
        );
    }
    if v.status == "verified" {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "The token has already been processed",
            Some("token"),
        );
    }
    if now >= v.valid_until || v.status == "expired" {
        v.status = "expired";
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "The token has expired",
            Some("token"),
        );
    }
    if v.status == "failed" {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "The token is invalid",
            Some("token"),
        );
    }
    if token == v.token {
        v.status = "verified";
        return respond(StatusCode::OK, object(v).to_string());
    }
    v.failed_attempts += 1;
    if v.failed_attempts >= v.max_attempts {
        v.status = "failed";
    }
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        10,
        "The token is invalid",
        Some("token"),
    )
}

async fn delete(State(fake): State<Fake>, Path(id): Path<String>) -> Response {
    match fake.world().messagebird.remove(&id) {
        Some(_) => respond(StatusCode::NO_CONTENT, String::new()),
        None => error(
            StatusCode::NOT_FOUND,
            20,
            "Verify object could not be found",
            None,
        ),
    }
}

/// The longest `body` the SMS API is described to take (nine concatenated parts).
const MAX_BODY_CHARS: usize = 1_377;

/// A request body of the SMS API: JSON, or a form whose `recipients` is a
/// comma-separated list; either way as JSON.
async fn message_body(request: Request) -> Result<Value, Response> {
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let unreadable = || {
        error(
            StatusCode::BAD_REQUEST,
            10,
            "the request body could not be read",
            None,
        )
    };
    if json {
        return Json::<Value>::from_request(request, &())
            .await
            .map(|Json(body)| body)
            .map_err(|_| unreadable());
    }
    let Form(form) = Form::<Vec<(String, String)>>::from_request(request, &())
        .await
        .map_err(|_| unreadable())?;
    let mut body = serde_json::Map::new();
    for (name, value) in form {
        let value = if name == "recipients" {
            Value::from(value.split(',').map(str::trim).collect::<Vec<_>>())
        } else {
            Value::from(value)
        };
        body.insert(name, value);
    }
    Ok(Value::Object(body))
}

/// The recipients a request names, as digits: a list of numbers or strings, or one
/// comma-separated string; `+` and spaces dropped.
fn recipients(value: &Value) -> Vec<String> {
    let items: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            })
            .collect(),
        Value::String(list) => list.split(',').map(str::to_owned).collect(),
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|item| item.replace([' ', '+'], ""))
        .filter(|digits| {
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        })
        .collect()
}

/// An originator the SMS API takes: up to 17 digits (a number, `+` allowed), or up
/// to 11 letters, digits and spaces.
fn is_originator(originator: &str) -> bool {
    let digits = originator.strip_prefix('+').unwrap_or(originator);
    ((1..=17).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        || ((1..=11).contains(&originator.len())
            && originator
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b' '))
}

/// `POST /messages`: `originator`, `body`, `recipients` (JSON or a form); the message
/// object, 201 (a knob makes it 200).
async fn create_message(State(fake): State<Fake>, request: Request) -> Response {
    let body = match message_body(request).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let text = |name: &str| match &body[name] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let Some(originator) = text("originator").filter(|o| !o.trim().is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            9,
            "originator is required",
            Some("originator"),
        );
    };
    if !is_originator(&originator) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "originator is invalid",
            Some("originator"),
        );
    }
    let Some(message) = text("body").filter(|b| !b.trim().is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            9,
            "body is required",
            Some("body"),
        );
    };
    if message.chars().count() > MAX_BODY_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "body is too long",
            Some("body"),
        );
    }
    let datacoding = text("datacoding").unwrap_or_else(|| "plain".to_owned());
    if !matches!(datacoding.as_str(), "plain" | "unicode" | "auto") {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10,
            "datacoding is invalid",
            Some("datacoding"),
        );
    }
    let knobs = fake.world().knobs.clone();
    let recipients: Vec<String> = recipients(&body["recipients"])
        .into_iter()
        .filter(|digits| !crate::starts_with_any(&format!("+{digits}"), &knobs.blocked_prefixes))
        .collect();
    if recipients.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            9,
            "no (correct) recipients found",
            Some("recipient"),
        );
    }
    if recipients
        .iter()
        .any(|digits| crate::starts_with_any(&format!("+{digits}"), &knobs.landline_prefixes))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            21,
            "recipient cannot receive SMS",
            Some("recipient"),
        );
    }
    let now = rfc3339(fake.now());
    let id = random_hex(32);
    let items: Vec<Value> = recipients
        .iter()
        .map(|digits| {
            json!({
                "recipient": digits.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(digits.clone())),
                "status": "sent",
                "statusDatetime": now,
                "messagePartCount": 1,
            })
        })
        .collect();
    let answer = json!({
        "id": id,
        "href": format!("https://rest.messagebird.com/messages/{id}"),
        "direction": "mt",
        "type": "sms",
        "originator": originator,
        "body": message,
        "reference": text("reference"),
        "validity": null,
        "gateway": 10,
        "typeDetails": {},
        "datacoding": datacoding,
        "mclass": 1,
        "scheduledDatetime": null,
        "createdDatetime": now,
        "recipients": {
            "totalCount": recipients.len(),
            "totalSentCount": recipients.len(),
            "totalDeliveredCount": 0,
            "totalDeliveryFailedCount": 0,
            "items": items,
        },
    });
    for digits in &recipients {
        fake.record_text(SentText {
            provider: "messagebird",
            to: format!("+{digits}"),
            from: Some(originator.clone()),
            body: message.clone(),
            id: id.clone(),
            sent_at: String::new(),
        });
    }
    let status =
        StatusCode::from_u16(knobs.messagebird_message_status).unwrap_or(StatusCode::CREATED);
    respond(status, answer.to_string())
}
