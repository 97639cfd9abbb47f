//! The built-in provider: a real OTP engine that "delivers" to the development outbox.
//!
//! Codes come from the operating system's CSPRNG; only an HMAC of each code is kept,
//! under a key that lives in memory for the life of the process; comparison is in
//! constant time; a code works once, for a limited time and a limited number of tries.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{CheckOutcome, ProviderError, StartRequest, Started, VerificationRef, VerifyProvider};
use crate::server::clock::Clock;
use crate::server::config::{CodePolicy, MessageTemplates};
use crate::server::outbox::Outbox;
use crate::verify::{Channel, OtpCode};

type Digest = [u8; 32];

struct Pending {
    code_mac: Digest,
    expires_at: SystemTime,
    failed_attempts: u32,
}

pub struct LocalProvider {
    policy: CodePolicy,
    templates: MessageTemplates,
    clock: Arc<dyn Clock>,
    outbox: Arc<Outbox>,
    mac_key: Digest,
    pending: Mutex<HashMap<String, Pending>>,
}

impl LocalProvider {
    pub fn new(
        policy: CodePolicy,
        templates: MessageTemplates,
        clock: Arc<dyn Clock>,
        outbox: Arc<Outbox>,
    ) -> Self {
        let mut mac_key = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut mac_key)
            .expect("the OS random number generator failed");
        Self {
            policy,
            templates,
            clock,
            outbox,
            mac_key,
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, id: &str, code: &str) -> Digest {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b":");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn new_code(&self) -> String {
        let mut rng = OsRng.unwrap_err();
        (0..self.policy.length)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the OS random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the visitor receives. The voice call reads the code digit by digit, as
/// MessageBird's text-to-speech does with its `%token`.
fn message_text(templates: &MessageTemplates, channel: Channel, code: &str) -> String {
    match channel {
        Channel::Sms => templates.sms.replace("%token", code),
        Channel::Voice => {
            let digits: Vec<String> = code.chars().map(String::from).collect();
            templates.voice.replace("%token", &digits.join(", "))
        }
    }
}

#[async_trait::async_trait]
impl VerifyProvider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let StartRequest { to, channel } = request;
        let id = new_id();
        let code = self.new_code();
        let now = self.clock.now();
        {
            let mut pending = self.pending.lock().expect("local provider lock");
            pending.retain(|_, p| p.expires_at > now);
            pending.insert(
                id.clone(),
                Pending {
                    code_mac: self.mac(&id, &code),
                    expires_at: now + self.policy.lifetime,
                    failed_attempts: 0,
                },
            );
        }
        self.outbox
            .deliver(to, channel, message_text(&self.templates, channel, &code));
        Ok(Started {
            reference: VerificationRef::new(id),
            lifetime: self.policy.lifetime,
        })
    }

    async fn check(
        &self,
        reference: &VerificationRef,
        code: &OtpCode,
    ) -> Result<CheckOutcome, ProviderError> {
        let id = reference.as_str();
        let candidate = self.mac(id, code.as_str());
        let now = self.clock.now();
        let mut pending = self.pending.lock().expect("local provider lock");
        let Some(entry) = pending.get_mut(id) else {
            return Ok(CheckOutcome::NotFound);
        };
        if entry.expires_at <= now {
            pending.remove(id);
            return Ok(CheckOutcome::Expired);
        }
        if entry.failed_attempts >= self.policy.max_attempts {
            return Ok(CheckOutcome::TooManyAttempts);
        }
        if bool::from(entry.code_mac.ct_eq(&candidate)) {
            pending.remove(id); // single use
            return Ok(CheckOutcome::Approved);
        }
        entry.failed_attempts += 1;
        Ok(if entry.failed_attempts >= self.policy.max_attempts {
            CheckOutcome::TooManyAttempts
        } else {
            CheckOutcome::Wrong
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::server::clock::ManualClock;
    use crate::verify::PhoneNumber;

    struct Harness {
        clock: Arc<ManualClock>,
        outbox: Arc<Outbox>,
        provider: LocalProvider,
    }

    fn harness() -> Harness {
        let clock = Arc::new(ManualClock::new());
        let outbox = Arc::new(Outbox::new(10));
        let provider = LocalProvider::new(
            CodePolicy::default(),
            MessageTemplates::default(),
            clock.clone(),
            outbox.clone(),
        );
        Harness {
            clock,
            outbox,
            provider,
        }
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+447911123456", None).unwrap()
    }

    /// Reads the code back out of the outbox, as a person reads their SMS.
    fn delivered_code(outbox: &Outbox) -> OtpCode {
        let text = outbox.messages().first().unwrap().text.clone();
        let digits: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
        OtpCode::parse(&digits, 6).unwrap()
    }

    fn wrong(code: &OtpCode) -> OtpCode {
        let flipped: String = code
            .as_str()
            .chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect();
        OtpCode::parse(&flipped, 6).unwrap()
    }

    #[tokio::test]
    async fn delivers_a_six_digit_code_that_works_once() {
        let h = harness();
        let started = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
            })
            .await
            .unwrap();
        let message = &h.outbox.messages()[0];
        assert_eq!(message.to, "+447911123456");
        assert!(message.text.starts_with("Your phone-verify code is "));
        let code = delivered_code(&h.outbox);
        assert_eq!(
            h.provider.check(&started.reference, &code).await.unwrap(),
            CheckOutcome::Approved
        );
        assert_eq!(
            h.provider.check(&started.reference, &code).await.unwrap(),
            CheckOutcome::NotFound
        );
    }

    #[tokio::test]
    async fn voice_messages_read_the_code_digit_by_digit() {
        let h = harness();
        h.provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Voice,
            })
            .await
            .unwrap();
        let text = &h.outbox.messages()[0].text;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let spoken: Vec<String> = digits.chars().map(String::from).collect();
        assert_eq!(
            text,
            &format!("Your security code is {}.", spoken.join(", "))
        );
    }

    #[tokio::test]
    async fn codes_expire_after_their_lifetime() {
        let h = harness();
        let started = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
            })
            .await
            .unwrap();
        let code = delivered_code(&h.outbox);
        h.clock.advance(Duration::from_secs(600));
        assert_eq!(
            h.provider.check(&started.reference, &code).await.unwrap(),
            CheckOutcome::Expired
        );
    }

    #[tokio::test]
    async fn codes_still_work_just_before_expiry() {
        let h = harness();
        let started = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
            })
            .await
            .unwrap();
        let code = delivered_code(&h.outbox);
        h.clock.advance(Duration::from_secs(599));
        assert_eq!(
            h.provider.check(&started.reference, &code).await.unwrap(),
            CheckOutcome::Approved
        );
    }

    #[tokio::test]
    async fn five_wrong_codes_kill_the_code() {
        let h = harness();
        let started = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
            })
            .await
            .unwrap();
        let code = delivered_code(&h.outbox);
        for _ in 1..=4 {
            let outcome = h
                .provider
                .check(&started.reference, &wrong(&code))
                .await
                .unwrap();
            assert_eq!(outcome, CheckOutcome::Wrong);
        }
        let fifth = h
            .provider
            .check(&started.reference, &wrong(&code))
            .await
            .unwrap();
        assert_eq!(fifth, CheckOutcome::TooManyAttempts);
        // Even the right code is refused now.
        assert_eq!(
            h.provider.check(&started.reference, &code).await.unwrap(),
            CheckOutcome::TooManyAttempts
        );
    }

    #[tokio::test]
    async fn a_code_only_works_for_its_own_verification() {
        let h = harness();
        let first = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
            })
            .await
            .unwrap();
        let first_code = delivered_code(&h.outbox);
        let second = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
            })
            .await
            .unwrap();
        let second_code = delivered_code(&h.outbox);
        if first_code != second_code {
            assert_eq!(
                h.provider
                    .check(&second.reference, &first_code)
                    .await
                    .unwrap(),
                CheckOutcome::Wrong
            );
        }
        assert_eq!(
            h.provider
                .check(&first.reference, &first_code)
                .await
                .unwrap(),
            CheckOutcome::Approved
        );
    }

    #[test]
    fn codes_are_uniform_over_digits() {
        let h = harness();
        let mut counts = [0u32; 10];
        for _ in 0..2_000 {
            for c in h.provider.new_code().chars() {
                counts[c.to_digit(10).unwrap() as usize] += 1;
            }
        }
        // 12,000 digits, 1,200 expected each; a biased generator would fall far outside.
        assert!(
            counts.iter().all(|&n| (1_000..1_400).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn stores_only_a_mac_of_the_code() {
        let h = harness();
        assert_ne!(
            h.provider.mac("id", "123456"),
            h.provider.mac("id", "123457")
        );
        assert_ne!(
            h.provider.mac("id", "123456"),
            h.provider.mac("other", "123456")
        );
    }
}
