//! Verify providers: services that send a one-time code and later check it.
//!
//! The app talks to all of them through [`VerifyProvider`], so that the flow, the
//! limits and the tests do not care which one is configured.
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::verify::{Channel, OtpCode, PhoneNumber};

mod local;

pub use local::LocalProvider;

/// The provider's handle on one verification (a MessageBird id, a Twilio `VE…` SID,
/// a local id). It stays on the server, in the session; the browser never sees it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRef(String);

impl VerificationRef {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationRef(..)")
    }
}

/// A code is on its way.
#[derive(Debug, Clone)]
pub struct Started {
    pub reference: VerificationRef,
    /// How long the code will work.
    pub lifetime: Duration,
}

/// What the provider said about a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Approved,
    Wrong { tries_left: u32 },
    Expired,
    TooManyAttempts,
    /// Unknown, already used, or cancelled.
    NotFound,
}

/// A provider failed to do its job; never the visitor's fault.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider could not be reached or answered with a fault; try later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait VerifyProvider: Send + Sync {
    /// A short name for logs (`local`, `messagebird`, `twilio`).
    fn name(&self) -> &'static str;

    /// Sends a new code to `to` over `channel`.
    async fn start(&self, to: &PhoneNumber, channel: Channel) -> Result<Started, ProviderError>;

    /// Checks `code` against the verification `reference`.
    async fn check(&self, reference: &VerificationRef, code: &OtpCode) -> Result<CheckOutcome, ProviderError>;
}
