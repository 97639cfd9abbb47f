//! Twilio Verify v2, as the fake speaks it.
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::{
    Fake, SentMessage, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_SERVICE_SID, json as respond,
    random_digits, random_hex, rfc3339,
};

/// Twilio's defaults: 10-minute codes, 5 checks, 5 sends per 10 minutes.
const LIFETIME: Duration = Duration::from_secs(600);
const MAX_CHECKS: u32 = 5;
const MAX_SENDS: usize = 5;

pub struct Verification {
    sid: String,
    to: String,
    channel: String,
    code: String,
    created: SystemTime,
    sends: Vec<SystemTime>,
    failed_checks: u32,
}

pub fn routes() -> Router<Fake> {
    Router::new()
        .route("/v2/Services/{service}/Verifications", post(create))
        .route("/v2/Services/{service}/Verifications/{sid}", get(read))
        .route("/v2/Services/{service}/VerificationCheck", post(check))
        .layer(middleware::from_fn(basic_auth))
}

pub fn error_body(code: u32, message: &str, status: u16) -> String {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
    .to_string()
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    respond(status, error_body(code, message, status.as_u16()))
}

async fn basic_auth(request: Request, next: Next) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}"))
    );
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given != Some(expected.as_str()) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    next.run(request).await
}

fn unknown_service(service: &str) -> Option<Response> {
    (service != TWILIO_SERVICE_SID).then(|| {
        error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        )
    })
}

fn resource(v: &Verification, status: &str, now: SystemTime) -> Value {
    json!({
        "sid": v.sid,
        "service_sid": TWILIO_SERVICE_SID,
        "account_sid": TWILIO_ACCOUNT_SID,
        "to": v.to,
        "channel": v.channel,
        "status": status,
        "valid": status == "approved",
        "date_created": rfc3339(v.created),
        "date_updated": rfc3339(now),
        "lookup": {},
        "send_code_attempts": v.sends.iter().map(|at| json!({"channel": v.channel, "time": rfc3339(*at)})).collect::<Vec<_>>(),
        "url": format!("https://verify.twilio.com/v2/Services/{TWILIO_SERVICE_SID}/Verifications/{}", v.sid),
    })
}

fn is_e164(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.chars().all(|c| c.is_ascii_digit())
    })
}

async fn create(
    State(fake): State<Fake>,
    Path(service): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unknown_service(&service) {
        return refused;
    }
    let to = form.get("To").cloned().unwrap_or_default();
    if !is_e164(&to) {
        return error(StatusCode::BAD_REQUEST, 60200, "Invalid parameter `To`");
    }
    let channel = form.get("Channel").cloned().unwrap_or_default();
    let spoken = match channel.as_str() {
        "sms" | "whatsapp" => "sms",
        "call" => "voice",
        _ => return error(StatusCode::BAD_REQUEST, 60200, "Invalid parameter: Channel"),
    };
    let knobs = fake.world().knobs.clone();
    if knobs.disabled_channels.iter().any(|c| c == spoken) {
        return error(StatusCode::BAD_REQUEST, 60223, "Delivery channel disabled");
    }
    if spoken == "sms" && crate::starts_with_any(&to, &knobs.landline_prefixes) {
        return error(
            StatusCode::BAD_REQUEST,
            60205,
            "SMS is not supported by landline phone number",
        );
    }
    if crate::starts_with_any(&to, &knobs.blocked_prefixes) {
        return error(
            StatusCode::FORBIDDEN,
            60410,
            "Verification delivery attempt blocked",
        );
    }
    let now = fake.now();
    let mut world = fake.world();
    world.twilio.retain(|_, v| now < v.created + LIFETIME);
    // A pending verification for the same number is reused, with the same code.
    let existing = world
        .twilio
        .values()
        .find(|v| v.to == to)
        .map(|v| v.sid.clone());
    let sid = match existing {
        Some(sid) => {
            let v = world.twilio.get_mut(&sid).expect("found above");
            v.sends.retain(|at| now < *at + Duration::from_secs(600));
            if v.sends.len() >= MAX_SENDS {
                return error(
                    StatusCode::TOO_MANY_REQUESTS,
                    60203,
                    "Max send attempts reached",
                );
            }
            v.sends.push(now);
            v.channel = channel;
            sid
        }
        None => {
            let sid = format!("VE{}", random_hex(32));
            let v = Verification {
                sid: sid.clone(),
                to: to.clone(),
                channel,
                code: random_digits(6),
                created: now,
                sends: vec![now],
                failed_checks: 0,
            };
            world.twilio.insert(sid.clone(), v);
            sid
        }
    };
    let v = &world.twilio[&sid];
    let (code, answer) = (v.code.clone(), resource(v, "pending", now));
    drop(world);
    fake.record_send(SentMessage {
        provider: "twilio",
        to: to.clone(),
        channel: spoken,
        code,
        id: sid,
        locale: form.get("Locale").map_or("en", String::as_str).to_owned(),
        text: None,
        sent_at: String::new(),
    });
    respond(StatusCode::CREATED, answer.to_string())
}

async fn read(State(fake): State<Fake>, Path((service, sid)): Path<(String, String)>) -> Response {
    if let Some(refused) = unknown_service(&service) {
        return refused;
    }
    let now = fake.now();
    let world = fake.world();
    match world
        .twilio
        .get(&sid)
        .filter(|v| now < v.created + LIFETIME)
    {
        Some(v) => respond(StatusCode::OK, resource(v, "pending", now).to_string()),
        None => error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        ),
    }
}

async fn check(
    State(fake): State<Fake>,
    Path(service): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = unknown_service(&service) {
        return refused;
    }
    let code = form.get("Code").cloned().unwrap_or_default();
    if !(4..=10).contains(&code.len()) {
        return error(StatusCode::BAD_REQUEST, 60200, "Invalid parameter: Code");
    }
    let now = fake.now();
    let check_status = fake.world().knobs.twilio_check_status;
    let mut world = fake.world();
    world.checks += 1;
    world.twilio.retain(|_, v| now < v.created + LIFETIME);
    let sid = match (form.get("VerificationSid"), form.get("To")) {
        (Some(sid), _) => Some(sid.clone()),
        (None, Some(to)) => world
            .twilio
            .values()
            .find(|v| &v.to == to)
            .map(|v| v.sid.clone()),
        (None, None) => {
            return error(
                StatusCode::BAD_REQUEST,
                60200,
                "Invalid parameter: To or VerificationSid",
            );
        }
    };
    let Some(v) = sid.and_then(|sid| world.twilio.get_mut(&sid)) else {
        return error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    };
    if v.failed_checks >= MAX_CHECKS {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            60202,
            "Max check attempts reached",
        );
    }
    let status = StatusCode::from_u16(check_status).unwrap_or(StatusCode::OK);
    if v.code == code {
        let answer = resource(v, "approved", now);
        let sid = v.sid.clone();
        world.twilio.remove(&sid); // approved verifications are gone
        return respond(status, answer.to_string());
    }
    v.failed_checks += 1;
    respond(status, resource(v, "pending", now).to_string())
}
