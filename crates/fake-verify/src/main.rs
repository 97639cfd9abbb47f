//! `fake-verify`: a fake MessageBird Verify + Twilio Verify v2 upstream for tests,
//! the end-to-end suite and benchmarks. Listens on `FAKE_VERIFY_ADDR`
//! (default 127.0.0.1:4010); see the `fake_verify` library for its control endpoints.
use fake_verify::{self as fake, Fake};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("FAKE_VERIFY_ADDR").unwrap_or_else(|_| "127.0.0.1:4010".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "fake-verify on http://{}: MessageBird key {}, Twilio {} / service {}",
        listener.local_addr()?,
        fake::MESSAGEBIRD_KEY,
        fake::TWILIO_ACCOUNT_SID,
        fake::TWILIO_SERVICE_SID
    );
    axum::serve(listener, fake::router(Fake::default())).await
}
