//! How a [`VerifyError`] is answered over HTTP, for the server functions and for the
//! requests the hardening layer refuses before they reach them.
use axum::http::{HeaderValue, StatusCode};

use crate::verify::VerifyError;

/// The error's status, and its `Retry-After` when it has a wait.
pub fn status_of(error: &VerifyError) -> (StatusCode, Option<HeaderValue>) {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, error.retry_after().map(HeaderValue::from))
}
