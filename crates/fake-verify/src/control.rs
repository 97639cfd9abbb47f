//! `/_fake/*`: what tests read and turn.
//! `GET /_fake/messages?to=+44…` and `GET /_fake/texts?to=+44…` filter by number,
//! `&limit=N` keeps the newest N.
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Fake, Knobs, SentMessage, SentText, World};

pub fn routes() -> Router<Fake> {
    Router::new()
        .route("/_fake/messages", get(messages))
        .route("/_fake/texts", get(texts))
        .route("/_fake/stats", get(stats))
        .route("/_fake/knobs", get(knobs).post(set_knobs))
        .route("/_fake/advance", post(advance))
        .route("/_fake/reset", post(reset))
}

#[derive(Deserialize)]
struct MessagesQuery {
    /// Only messages to this E.164 number.
    to: Option<String>,
    /// Only the newest this many (a benchmark reading the last code).
    limit: Option<usize>,
}

impl MessagesQuery {
    /// What the query asks for of `all` (newest first), in that order.
    fn pick<T: Clone>(&self, all: &VecDeque<T>, to: impl Fn(&T) -> &String) -> Vec<T> {
        all.iter()
            .filter(|m| self.to.as_ref().is_none_or(|wanted| to(m) == wanted))
            .take(self.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }
}

async fn messages(
    State(fake): State<Fake>,
    Query(query): Query<MessagesQuery>,
) -> Json<Vec<SentMessage>> {
    Json(query.pick(&fake.world().sent, |m| &m.to))
}

async fn texts(
    State(fake): State<Fake>,
    Query(query): Query<MessagesQuery>,
) -> Json<Vec<SentText>> {
    Json(query.pick(&fake.world().texts, |t| &t.to))
}

async fn stats(State(fake): State<Fake>) -> Json<Value> {
    let world = fake.world();
    let creates: HashMap<String, u32> = world.creates.clone();
    Json(json!({
        "creates": creates,
        "checks": world.checks,
        "texts": world.texts.len(),
        "requests": world.requests,
        "last_messagebird_create": world.last_messagebird_create,
    }))
}

async fn knobs(State(fake): State<Fake>) -> Json<Knobs> {
    Json(fake.world().knobs.clone())
}

async fn set_knobs(State(fake): State<Fake>, Json(knobs): Json<Knobs>) -> Json<Knobs> {
    fake.world().knobs = knobs.clone();
    Json(knobs)
}

#[derive(Deserialize)]
struct Advance {
    secs: u64,
}

async fn advance(State(fake): State<Fake>, Query(by): Query<Advance>) -> Json<Value> {
    let mut world = fake.world();
    world.clock_offset += Duration::from_secs(by.secs);
    Json(json!({ "offset_secs": world.clock_offset.as_secs() }))
}

async fn reset(State(fake): State<Fake>) -> Json<Value> {
    *fake.world() = World::default();
    Json(json!({ "reset": true }))
}
