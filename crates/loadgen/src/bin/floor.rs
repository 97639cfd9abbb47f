//! The floor under the app's added latency: a bare server in the app's place that
//! answers `upstream`'s start and check the way the app does, with the same
//! MessageBird calls and the same Redis trips, and does nothing else: no number
//! check, no sessions layer, no limits' logic, no headers, logs or metrics. What the
//! app adds beyond this server, in the same run, is the app's own work; what this
//! server adds is what the machine charges for the hops and trips alone.
//!
//!   floor <listen-addr> <fake-url> [<redis-url> <trips>]
//!
//! With no Redis the session is kept in this process (0 trips: the floor under the
//! app on SQLite, which keeps its working copy in memory). With Redis, `trips` is:
//! - `5`: the trips the app makes today (`src/server/routes/flow_lock.rs`,
//!   `src/server/limits.rs`): on start, the send's limits, then the session; on
//!   check, the lock with the session's read, the try's count, then the renewed
//!   session; the lock's release after the answer.
//! - `4`: the same with the check's lock, read and count in one script, which reads
//!   the number and the reference out of the session in Redis itself (the design
//!   that would save a trip).
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use redis::aio::ConnectionManager;
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MB_KEY: &str = "AccessKey test_fake_messagebird_key";
/// As the app's: the counters are lifted far above what a run reaches.
const LIMIT: u64 = 1_000_000;
const WINDOW_MS: u64 = 3_600_000;
const SESSION_MS: u64 = 1_800_000;

/// The app's own admission script: every counter below its limit, then one more
/// on each.
const ADMIT: &str = include_str!("../../../../src/server/store/admit.lua");

/// The lock, the session's read and the try's two counters in one trip.
const LOCK_READ_ADMIT: &str = r"
    if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', 35000) then return false end
    local session = redis.call('GET', KEYS[2])
    if not session then return false end
    local pending = cjson.decode(session)
    local counters = {'floor:code-tries:' .. pending.reference, 'floor:failed-hour:' .. pending.number}
    for _, key in ipairs(counters) do
        if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[1]) then return false end
    end
    for _, key in ipairs(counters) do
        redis.call('INCR', key)
        redis.call('PEXPIRE', key, ARGV[2], 'NX')
    end
    return session";

#[derive(Clone)]
struct Floor {
    fake: String,
    http: reqwest::Client,
    redis: Option<(ConnectionManager, Trips)>,
    /// Sessions with no Redis.
    kept: Arc<Mutex<HashMap<String, String>>>,
    next_id: Arc<AtomicU64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Trips {
    Four,
    Five,
}

impl Floor {
    fn new_id(&self) -> String {
        format!("{:016x}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Stores the session under `id` before the answer, as the app does; `false`
    /// when Redis failed.
    async fn save(&self, id: &str, session: String) -> bool {
        let Some((mut redis, _)) = self.redis.clone() else {
            self.kept.lock().unwrap().insert(id.to_owned(), session);
            return true;
        };
        let saved: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("floor:session:{id}"))
            .arg(session)
            .arg("PX")
            .arg(SESSION_MS)
            .query_async(&mut redis)
            .await;
        saved.is_ok()
    }
}

async fn admit(redis: &mut ConnectionManager, keys: &[String]) -> redis::RedisResult<i64> {
    let script = redis::Script::new(ADMIT);
    let mut invocation = script.prepare_invoke();
    for key in keys {
        invocation.key(key).arg(LIMIT).arg(WINDOW_MS);
    }
    invocation.invoke_async(redis).await
}

async fn start(State(floor): State<Floor>, Form(form): Form<HashMap<String, String>>) -> Response {
    let phone = form.get("phone").cloned().unwrap_or_default();
    if let Some((mut redis, _)) = floor.redis.clone() {
        // The app's eight send counters.
        let keys: Vec<String> = [
            "number-hour",
            "number-day",
            "number-day-all",
            "ip-hour",
            "prefix-hour",
            "global-hour",
            "country-hour",
            "sessions-hour",
        ]
        .iter()
        .map(|name| format!("floor:{name}:{phone}"))
        .collect();
        match admit(&mut redis, &keys).await {
            Ok(0) => {}
            Ok(_) => return StatusCode::TOO_MANY_REQUESTS.into_response(),
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    let body = json!({"recipient": phone.trim_start_matches('+'), "type": "sms", "template": "Code %token", "timeout": 600});
    let Some(created) = upstream(
        floor
            .http
            .post(format!("{}/verify", floor.fake))
            .json(&body),
    )
    .await
    else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let id = floor.new_id();
    let session = json!({"number": phone, "reference": created["id"]}).to_string();
    if !floor.save(&id, session).await {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    answer(&id, json!({"EnterCode": {"phone": phone}}))
}

async fn check(
    State(floor): State<Floor>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let id = headers
        .get(header::COOKIE)
        .and_then(|cookie| cookie.to_str().ok())
        .and_then(|cookie| cookie.strip_prefix("floor="))
        .unwrap_or_default()
        .to_owned();
    let code = form.get("code").cloned().unwrap_or_default();
    let session = match floor.redis.clone() {
        Some((mut redis, trips)) => read_and_count(&mut redis, trips, &id).await,
        None => floor.kept.lock().unwrap().remove(&id),
    };
    let Some(pending) = session.and_then(|s| serde_json::from_str::<Value>(&s).ok()) else {
        return StatusCode::CONFLICT.into_response();
    };
    let reference = pending["reference"].as_str().unwrap_or_default();
    let request = floor
        .http
        .get(format!("{}/verify/{reference}", floor.fake))
        .query(&[("token", code.as_str())]);
    let Some(checked) = upstream(request).await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let new_id = floor.new_id();
    let verified = json!({"verified": pending["number"]}).to_string();
    if !floor.save(&new_id, verified).await {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some((mut redis, _)) = floor.redis.clone() {
        // After the answer, as the app frees its lock.
        tokio::spawn(async move {
            let _: redis::RedisResult<()> = redis::pipe()
                .del(format!("floor:session:{id}"))
                .ignore()
                .del(format!("floor:lock:{id}"))
                .ignore()
                .query_async(&mut redis)
                .await;
        });
    }
    let body = if checked["status"] == "verified" {
        json!({"Verified": {"e164": pending["number"]}})
    } else {
        json!({"InvalidCode": "Wrong"})
    };
    answer(&new_id, body)
}

/// The lock, the session and the try's count, in four trips' way or five's.
async fn read_and_count(redis: &mut ConnectionManager, trips: Trips, id: &str) -> Option<String> {
    let (lock, session) = (format!("floor:lock:{id}"), format!("floor:session:{id}"));
    if trips == Trips::Four {
        return redis::Script::new(LOCK_READ_ADMIT)
            .key(&lock)
            .key(&session)
            .arg(LIMIT)
            .arg(WINDOW_MS)
            .invoke_async(redis)
            .await
            .ok()
            .flatten();
    }
    let (taken, _renewed, read): (bool, Option<String>, Option<String>) = redis::pipe()
        .cmd("SET")
        .arg(&lock)
        .arg(1)
        .arg("NX")
        .arg("PX")
        .arg(35_000)
        .get(format!("floor:renewed:{id}"))
        .get(&session)
        .query_async(redis)
        .await
        .ok()?;
    let read = read.filter(|_| taken)?;
    let pending: Value = serde_json::from_str(&read).ok()?;
    let keys = [
        format!("floor:code-tries:{}", pending["reference"]),
        format!("floor:failed-hour:{}", pending["number"]),
        format!("floor:failed-ip:{}", pending["number"]),
    ];
    (admit(redis, &keys).await.ok()? == 0).then_some(read)
}

async fn upstream(request: reqwest::RequestBuilder) -> Option<Value> {
    request
        .header(header::AUTHORIZATION, MB_KEY)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

fn answer(id: &str, body: Value) -> Response {
    (
        [(header::SET_COOKIE, format!("floor={id}; Path=/; HttpOnly"))],
        axum::Json(body),
    )
        .into_response()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(listen), Some(fake)) = (args.first(), args.get(1)) else {
        eprintln!("usage: floor <listen-addr> <fake-url> [<redis-url> <4|5>]");
        std::process::exit(2);
    };
    let redis = match (args.get(2), args.get(3).map(String::as_str)) {
        (Some(url), Some(trips @ ("4" | "5"))) => {
            let client = redis::Client::open(url.as_str()).expect("a Redis URL");
            let connection = ConnectionManager::new(client).await.expect("Redis answers");
            Some((
                connection,
                if trips == "4" {
                    Trips::Four
                } else {
                    Trips::Five
                },
            ))
        }
        (None, None) => None,
        _ => {
            eprintln!("floor: with Redis, say 4 or 5 trips");
            std::process::exit(2);
        }
    };
    let floor = Floor {
        fake: fake.clone(),
        http: reqwest::Client::new(),
        redis,
        kept: Arc::default(),
        next_id: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/", get(|| async { "floor" }))
        .route("/api/verify/start", post(start))
        .route("/api/verify/check", post(check))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .expect("a free address");
    axum::serve(listener, router).await.expect("serving");
}
