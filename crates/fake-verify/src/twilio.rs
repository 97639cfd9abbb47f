//! Twilio Verify v2, and the Messages API of a confirmation text, as the fake
//! speaks them.
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
    Fake, SentMessage, SentText, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_SERVICE_SID,
    json as respond, random_digits, random_hex, rfc3339,
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
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(create_message),
        )
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

/// The longest `Body` the Messages API takes (21617 beyond).
const MAX_BODY_CHARS: usize = 1_600;

/// RFC 2822, as the 2010-04-01 API writes its dates.
fn rfc2822(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
}

/// A sender the Messages API takes in `From`: a number in E.164, or an alphanumeric
/// sender ID (up to 11 letters, digits and spaces, with a letter).
fn is_sender(from: &str) -> bool {
    is_e164(from)
        || ((1..=11).contains(&from.len())
            && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
            && from.bytes().any(|b| b.is_ascii_alphabetic()))
}

fn is_service_sid(sid: &str) -> bool {
    sid.len() == 34 && sid.starts_with("MG") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`: form fields `To`, `Body`,
/// and `From` or `MessagingServiceSid` (or both); 201 and the Message resource.
async fn create_message(
    State(fake): State<Fake>,
    Path(account): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if account != TWILIO_ACCOUNT_SID {
        return error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let Some(to) = field("To") else {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    if !is_e164(&to) {
        return error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let (service, from) = (field("MessagingServiceSid"), field("From"));
    if service.is_none() && from.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    }
    if service.as_deref().is_some_and(|sid| !is_service_sid(sid)) {
        return error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    if let Some(from) = from.as_deref().filter(|from| !is_sender(from)) {
        return error(
            StatusCode::BAD_REQUEST,
            21212,
            &format!(
                "The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."
            ),
        );
    }
    // Not trimmed: the text is sent as it is.
    let body = form.get("Body").cloned().unwrap_or_default();
    if body.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let knobs = fake.world().knobs.clone();
    if crate::starts_with_any(&to, &knobs.blocked_prefixes) {
        return error(
            StatusCode::BAD_REQUEST,
            21408,
            &format!(
                "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}"
            ),
        );
    }
    if crate::starts_with_any(&to, &knobs.landline_prefixes) {
        return error(
            StatusCode::BAD_REQUEST,
            21614,
            &format!("'To' number {to} is not a valid mobile number"),
        );
    }
    let now = fake.now();
    let sid = format!("SM{}", random_hex(32));
    // With a messaging service Twilio picks the sender later: `accepted`, no segments yet.
    let (status, segments) = if service.is_some() {
        ("accepted", "0")
    } else {
        ("queued", "1")
    };
    let uri = format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{sid}.json");
    let answer = json!({
        "sid": sid,
        "account_sid": TWILIO_ACCOUNT_SID,
        "messaging_service_sid": service,
        "to": to,
        "from": from,
        "body": body,
        "status": status,
        "num_segments": segments,
        "num_media": "0",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": null,
        "price_unit": "USD",
        "error_code": null,
        "error_message": null,
        "date_created": rfc2822(now),
        "date_updated": rfc2822(now),
        "date_sent": null,
        "uri": uri,
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{sid}/Media.json"),
        },
    });
    fake.record_text(SentText {
        provider: "twilio",
        to,
        from,
        body,
        id: sid,
        sent_at: String::new(),
    });
    respond(StatusCode::CREATED, answer.to_string())
}
