//! What a browser session remembers about its verification. It lives on the server
//! (the browser holds only an opaque HttpOnly cookie), so a code can only ever
//! complete the verification of the session that asked for it.
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::provider::VerificationRef;
use crate::verify::{Channel, Step, VerifyError};

const KEY: &str = "verify";

/// The longest draft number kept for re-display; longer input is not a number anyway.
const MAX_DRAFT_CHARS: usize = 64;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VerifySession {
    /// The number as last typed, shown again so nothing is lost after an error.
    pub draft_phone: String,
    pub channel: Channel,
    pub pending: Option<Pending>,
    pub verified: Option<Verified>,
    /// The error of a form posted without JavaScript, shown by the next page render.
    pub flash: Option<VerifyError>,
    /// Unix seconds of this session's recent sends, for the per-session limit.
    #[serde(default)]
    pub sends_at: Vec<u64>,
}

/// A code has been sent and not yet accepted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub e164: String,
    pub display: String,
    pub channel: Channel,
    pub reference: VerificationRef,
    /// Unix seconds.
    pub expires_at: u64,
    /// Unix seconds; no resend before this.
    pub resend_at: u64,
    pub sends: u32,
    /// Wrong codes entered for the current code.
    #[serde(default)]
    pub failed_checks: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verified {
    pub e164: String,
    pub display: String,
    /// Unix seconds.
    pub at: u64,
}

impl VerifySession {
    pub async fn load(session: &Session) -> Result<Self, VerifyError> {
        session
            .get::<Self>(KEY)
            .await
            .map(Option::unwrap_or_default)
            .map_err(|error| {
                tracing::error!(%error, "cannot read the session");
                VerifyError::Internal
            })
    }

    pub async fn save(&self, session: &Session) -> Result<(), VerifyError> {
        session.insert(KEY, self).await.map_err(|error| {
            tracing::error!(%error, "cannot write the session");
            VerifyError::Internal
        })
    }

    pub fn set_draft(&mut self, phone: &str, channel: Channel) {
        self.draft_phone = phone.chars().take(MAX_DRAFT_CHARS).collect();
        self.channel = channel;
    }

    /// The step to show at Unix time `now`.
    pub fn step(&self, code_length: u8, now: u64) -> Step {
        if let Some(verified) = &self.verified {
            return Step::Verified {
                phone: verified.display.clone(),
                e164: verified.e164.clone(),
            };
        }
        match &self.pending {
            Some(pending) => Step::EnterCode {
                to: pending.display.clone(),
                channel: pending.channel,
                code_length,
                resend_in: secs_until(pending.resend_at, now),
                expires_in: secs_until(pending.expires_at, now),
            },
            None => Step::EnterPhone {
                phone: self.draft_phone.clone(),
                channel: self.channel,
            },
        }
    }
}

fn secs_until(deadline: u64, now: u64) -> u32 {
    u32::try_from(deadline.saturating_sub(now)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(resend_at: u64, expires_at: u64) -> Pending {
        Pending {
            e164: "+447911123456".into(),
            display: "+44 7911 123456".into(),
            channel: Channel::Voice,
            reference: VerificationRef::new("abc"),
            expires_at,
            resend_at,
            sends: 1,
            failed_checks: 0,
        }
    }

    #[test]
    fn a_fresh_session_asks_for_a_number() {
        assert_eq!(VerifySession::default().step(6, 0), Step::default());
    }

    #[test]
    fn a_pending_code_counts_down_from_the_server_clock() {
        let session = VerifySession {
            pending: Some(pending(1_030, 1_600)),
            ..Default::default()
        };
        assert_eq!(
            session.step(6, 1_010),
            Step::EnterCode {
                to: "+44 7911 123456".into(),
                channel: Channel::Voice,
                code_length: 6,
                resend_in: 20,
                expires_in: 590
            }
        );
        let Step::EnterCode {
            resend_in,
            expires_in,
            ..
        } = session.step(6, 2_000)
        else {
            panic!()
        };
        assert_eq!((resend_in, expires_in), (0, 0));
    }

    #[test]
    fn drafts_are_capped() {
        let mut session = VerifySession::default();
        session.set_draft(&"9".repeat(10_000), Channel::Sms);
        assert_eq!(session.draft_phone.len(), MAX_DRAFT_CHARS);
    }
}
