//! A host site that embeds phone-verify the way any other site would: plain axum,
//! server-rendered HTML, no JavaScript of its own, its own accounts, and nothing
//! from phone-verify but its public surface (the loader `embed.js`, the hosted page,
//! `POST /api/v1/sessions`, `/siteverify`, `/notify` and the JWKS).
//!
//! The flows, one module each under `routes`:
//! - `register`: email, password and the widget in one form; the account exists
//!   only once the token for its number has been checked;
//! - `signup`: the classic order, register first and verify the number after;
//! - `login`: password, then a code to the account's number (offline token check);
//! - `account`: the verified flag, and a new number verified by a voice call.
pub mod accounts;
pub mod config;
pub mod db;
pub mod i18n;
pub mod pages;
pub mod phone_verify;
pub mod routes;
pub mod session;
pub mod state;

pub use config::Config;
pub use routes::router;
pub use state::{AppState, Clock};
