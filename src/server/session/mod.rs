//! What a visitor's session remembers about its verification, and where it is kept
//! ([`SessionSlot`]). It lives on the server (the browser holds only an opaque
//! HttpOnly cookie), so a code can only ever complete the verification of the
//! session that asked for it.
use serde::{Deserialize, Serialize};

use super::provider::VerificationRef;
use crate::i18n::Lang;
use crate::verify::{Channel, CodeEntry, PhoneEntry, Step, VerifiedPhone, VerifyError};

mod cookie;

pub use cookie::CookieSession;

const KEY: &str = "verify";

/// The longest draft number kept for re-display; longer input is not a number anyway.
const MAX_DRAFT_CHARS: usize = 64;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySession {
    /// The number as last typed, shown again so nothing is lost after an error.
    pub draft_phone: String,
    /// The country picked for it (ISO code), empty until the visitor picks one.
    #[serde(default)]
    pub draft_country: String,
    pub channel: Channel,
    /// The language the visitor chose with the switch; until then their browser's.
    #[serde(default)]
    pub lang: Option<Lang>,
    pub pending: Option<Pending>,
    pub verified: Option<Verified>,
    /// The error of a form posted without JavaScript, shown by the next page render.
    pub flash: Option<VerifyError>,
    /// Unix seconds of this session's recent sends, for the per-session limit.
    #[serde(default)]
    pub sends_at: Vec<u64>,
    /// The only number this session may verify, when the host's backend chose it.
    #[serde(default)]
    pub locked: Option<LockedPhone>,
}

/// A number chosen by the host's backend, never shown in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPhone {
    pub e164: String,
    pub masked: String,
}

/// A code has been sent and not yet accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub e164: String,
    /// The number's ISO country, for the metrics (`None`: non-geographic).
    #[serde(default)]
    pub country: Option<String>,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub e164: String,
    pub display: String,
    /// Unix seconds.
    pub at: u64,
    /// How the accepted code was sent.
    #[serde(default)]
    pub channel: Channel,
    /// This verification's id, shared by the result tokens issued for it.
    #[serde(default)]
    pub id: String,
}

/// Where one visitor's [`VerifySession`] is kept between requests. The verification
/// core reads and writes it only through this, so it does not care whether it sits
/// behind a cookie or another kind of session handle.
#[async_trait::async_trait]
pub trait SessionSlot: Send + Sync {
    /// The stored state, or a fresh one.
    async fn load(&self) -> Result<VerifySession, VerifyError>;
    async fn save(&self, state: &VerifySession) -> Result<(), VerifyError>;
    /// Gives the session a new id, keeping its state, when its worth changes (a code
    /// sent, a number verified): an id planted or seen before then is worth nothing
    /// after. A slot whose id cannot change keeps it.
    async fn renew_id(&self) -> Result<(), VerifyError> {
        Ok(())
    }
    /// Whether the next save stores a session no earlier request stored, which the
    /// limit on new sessions must admit first: a send admits it with its own
    /// counters, in one step ([`Self::admitted_with_send`]).
    fn needs_admission(&self) -> bool {
        false
    }
    /// Notes that a send's admission admitted this new session too.
    fn admitted_with_send(&self) {}
}

impl VerifySession {
    /// Whether this state means anything beyond one request: a code on its way, a
    /// verified number, a number the host chose, a form error for the next page, or
    /// a number typed and refused (kept, so that nothing is lost). A language alone
    /// is not.
    pub fn needs_storing(&self) -> bool {
        self.pending.is_some()
            || self.verified.is_some()
            || self.locked.is_some()
            || self.flash.is_some()
            || !self.draft_phone.is_empty()
    }

    pub fn set_draft(&mut self, phone: &str, country: &str, channel: Channel) {
        self.draft_phone = phone.chars().take(MAX_DRAFT_CHARS).collect();
        self.draft_country = country.chars().take(2).collect();
        self.channel = channel;
    }

    /// The step to show at Unix time `now`; `country` is the picker's choice when the
    /// visitor has made none.
    pub fn step(&self, policy: StepPolicy, country: &str, now: u64) -> Step {
        if let Some(verified) = &self.verified {
            if now >= verified.at + VERIFIED_MAX_AGE_SECS {
                // Long ago: the number is offered for a new verification.
                return Step::EnterPhone(PhoneEntry {
                    locked: self.locked.as_ref().map(|l| l.masked.clone()),
                    phone: if self.locked.is_some() {
                        String::new()
                    } else {
                        verified.display.clone()
                    },
                    country: country.to_owned(),
                    channel: self.channel,
                });
            }
            return Step::Verified(VerifiedPhone {
                phone: verified.display.clone(),
                e164: verified.e164.clone(),
                token: None,
            });
        }
        match &self.pending {
            Some(pending) => Step::EnterCode(CodeEntry {
                phone: pending.display.clone(),
                channel: pending.channel,
                code_length: policy.code_length,
                resend_in: secs_until(pending.resend_at, now),
                expires_in: secs_until(pending.expires_at, now),
                tries_left: policy.max_attempts.saturating_sub(pending.failed_checks),
                offer_call: pending.channel == Channel::Sms
                    && pending.sends >= OFFER_CALL_AFTER_SENDS,
            }),
            None => Step::EnterPhone(PhoneEntry {
                locked: self.locked.as_ref().map(|l| l.masked.clone()),
                phone: self.draft_phone.clone(),
                country: if self.draft_country.is_empty() {
                    country.to_owned()
                } else {
                    self.draft_country.clone()
                },
                channel: self.channel,
            }),
        }
    }
}

/// What a step shows of the code policy.
#[derive(Clone, Copy, Debug)]
pub struct StepPolicy {
    pub code_length: u8,
    pub max_attempts: u32,
}

/// How long a session shows its number as verified: half an hour, as long as an idle
/// session lives. A session kept alive does not stay verified for ever; the result
/// tokens have their own, shorter, per-site maximum age.
pub const VERIFIED_MAX_AGE_SECS: u64 = 1_800;

/// SMS that did not arrive twice is a sign that a call may work better; before that,
/// a call instead is not offered, and not made (`verification::resend`).
pub const OFFER_CALL_AFTER_SENDS: u32 = 2;

fn secs_until(deadline: u64, now: u64) -> u32 {
    u32::try_from(deadline.saturating_sub(now)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(resend_at: u64, expires_at: u64) -> Pending {
        Pending {
            country: Some("GB".into()),
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

    const POLICY: StepPolicy = StepPolicy {
        code_length: 6,
        max_attempts: 5,
    };

    #[test]
    fn a_fresh_session_asks_for_a_number() {
        assert_eq!(
            VerifySession::default().step(POLICY, "", 0),
            Step::default()
        );
        let Step::EnterPhone(PhoneEntry { country, .. }) =
            VerifySession::default().step(POLICY, "DE", 0)
        else {
            panic!()
        };
        assert_eq!(country, "DE");
    }

    #[test]
    fn a_call_is_offered_after_repeated_texts() {
        let mut session = VerifySession {
            pending: Some(pending(0, 600)),
            ..Default::default()
        };
        let offer = |s: &VerifySession| match s.step(POLICY, "", 0) {
            Step::EnterCode(entry) => entry.offer_call,
            _ => panic!(),
        };
        let p = session.pending.as_mut().unwrap();
        p.channel = Channel::Sms;
        assert!(!offer(&session));
        session.pending.as_mut().unwrap().sends = 2;
        assert!(offer(&session));
        session.pending.as_mut().unwrap().channel = Channel::Voice;
        assert!(!offer(&session));
    }

    #[test]
    fn a_pending_code_counts_down_from_the_server_clock() {
        let session = VerifySession {
            pending: Some(pending(1_030, 1_600)),
            ..Default::default()
        };
        assert_eq!(
            session.step(POLICY, "", 1_010),
            Step::EnterCode(CodeEntry {
                phone: "+44 7911 123456".into(),
                channel: Channel::Voice,
                code_length: 6,
                resend_in: 20,
                expires_in: 590,
                tries_left: 5,
                offer_call: false,
            })
        );
        let Step::EnterCode(CodeEntry {
            resend_in,
            expires_in,
            ..
        }) = session.step(POLICY, "", 2_000)
        else {
            panic!()
        };
        assert_eq!((resend_in, expires_in), (0, 0));
    }

    #[test]
    fn a_verification_is_shown_for_half_an_hour_then_offered_again() {
        let session = VerifySession {
            verified: Some(Verified {
                e164: "+447911123456".into(),
                display: "+44 7911 123456".into(),
                at: 1_000,
                channel: Channel::Sms,
                id: "v".into(),
            }),
            ..Default::default()
        };
        assert!(matches!(
            session.step(POLICY, "", 1_000 + VERIFIED_MAX_AGE_SECS - 1),
            Step::Verified(_)
        ));
        let Step::EnterPhone(entry) = session.step(POLICY, "GB", 1_000 + VERIFIED_MAX_AGE_SECS)
        else {
            panic!("still verified")
        };
        assert_eq!(entry.phone, "+44 7911 123456");
    }

    #[test]
    fn drafts_are_capped() {
        let mut session = VerifySession::default();
        session.set_draft(&"9".repeat(10_000), "GBR", Channel::Sms);
        assert_eq!(session.draft_country, "GB");
        assert_eq!(session.draft_phone.len(), MAX_DRAFT_CHARS);
    }
}
