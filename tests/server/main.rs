//! The server's integration tests, in one binary: each module starts the real app on
//! 127.0.0.1:0 (or the real binary, in `processes`) and talks to it over HTTP, with
//! `fake-verify` standing in for MessageBird and Twilio.
#![cfg(feature = "ssr")]

#[macro_use]
mod support;

mod api;
mod attempts;
mod conformance;
mod demo_host;
mod durable;
mod embed;
mod experience;
mod hardening;
mod health;
mod leptos_toml;
mod limits;
mod notify;
mod observability;
mod openapi;
#[cfg(unix)]
mod processes;
mod properties;
mod random_inputs;
mod resilience;
mod upstream;
