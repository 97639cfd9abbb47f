//! The development outbox, served only while the local provider delivers to it.
use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::server::outbox::{self, Outbox};

pub fn routes(outbox: Arc<Outbox>) -> Router {
    Router::new()
        .route("/dev/outbox", get(outbox::page))
        .route("/dev/outbox.json", get(outbox::json))
        .with_state(outbox)
}
