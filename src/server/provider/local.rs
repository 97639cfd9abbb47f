//! The built-in provider: a real OTP engine that "delivers" to the development outbox.
//!
//! Codes come from the operating system's CSPRNG; only an HMAC of each code is kept,
//! in the state store (so a code survives a restart and works on every instance),
//! under a key that is itself kept there and never leaves the server; comparison is
//! in constant time; a code works once, for a limited time and a limited number of
//! tries.
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;

use crate::server::random;
use rand::{Rng, TryRngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{CheckOutcome, ProviderError, StartRequest, Started, VerificationRef, VerifyProvider};
use super::{CodePolicy, MessageTemplates};
use crate::i18n::Lang;
use crate::server::clock::Clock;
use crate::server::outbox::Outbox;
use crate::server::store::{Later, StateStore, StoreError, after_answer};
use crate::verify::{Channel, OtpCode, PhoneNumber};

type Digest = [u8; 32];

/// A code as kept in the store: never changed after the send. Its tries are a
/// counter of their own (`attempts_key`), so no check writes the code back, and a
/// wrong guess racing the right one cannot revive a code that was used.
#[derive(Serialize, Deserialize)]
struct Pending {
    code_mac: Digest,
    /// Unix milliseconds, by the app's clock.
    expires_at: u64,
}

pub struct LocalProvider {
    policy: CodePolicy,
    templates: MessageTemplates,
    clock: Arc<dyn Clock>,
    outbox: Arc<Outbox>,
    store: Arc<dyn StateStore>,
    mac_key: Digest,
}

const MAC_KEY: &str = "local:mac-key";
/// The MAC key outlives any code by far; a new one only invalidates codes in flight.
const MAC_KEY_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

fn pending_key(id: &str) -> String {
    format!("local:pending:{id}")
}

fn attempts_key(id: &str) -> String {
    format!("local:attempts:{id}")
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn store_failed(error: StoreError) -> ProviderError {
    ProviderError::Unreachable(error.to_string())
}

impl LocalProvider {
    /// Loads the MAC key shared by all instances, creating it on first start.
    ///
    /// # Errors
    /// When the state store fails.
    pub async fn open(
        policy: CodePolicy,
        templates: MessageTemplates,
        clock: Arc<dyn Clock>,
        outbox: Arc<Outbox>,
        store: Arc<dyn StateStore>,
    ) -> Result<Self, StoreError> {
        store
            .set_if_absent(MAC_KEY, &random::bytes::<32>(), MAC_KEY_TTL)
            .await?;
        let stored = store
            .get(MAC_KEY)
            .await?
            .ok_or_else(|| StoreError("the MAC key vanished".into()))?;
        let mac_key: Digest = stored
            .try_into()
            .map_err(|_| StoreError("the stored MAC key is malformed".into()))?;
        Ok(Self {
            policy,
            templates,
            clock,
            outbox,
            store,
            mac_key,
        })
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

    async fn load(&self, id: &str) -> Result<Option<Pending>, ProviderError> {
        match self
            .store
            .get(&pending_key(id))
            .await
            .map_err(store_failed)?
        {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ProviderError::BadGateway(format!("stored code unreadable: {e}"))),
        }
    }

    async fn save(&self, id: &str, pending: &Pending) -> Result<(), ProviderError> {
        let bytes =
            serde_json::to_vec(pending).map_err(|e| ProviderError::BadGateway(e.to_string()))?;
        self.store
            .set(&pending_key(id), &bytes, self.kept_for())
            .await
            .map_err(store_failed)
    }

    /// The store forgets a code, and its tries, a minute after it expires by the
    /// app's clock.
    fn kept_for(&self) -> Duration {
        self.policy.lifetime + Duration::from_secs(60)
    }

    /// Counts one try at `id`'s code before it is compared, atomically, so that tries
    /// sent at once are each counted; returns the tries so far, this one included.
    async fn count_attempt(&self, id: &str) -> Result<u64, ProviderError> {
        self.store
            .incr(&attempts_key(id), self.kept_for())
            .await
            .map_err(store_failed)
    }

    /// Removes the code; true for the one caller that removed it.
    async fn consume(&self, id: &str) -> Result<bool, ProviderError> {
        self.store
            .take(&pending_key(id))
            .await
            .map(|taken| taken.is_some())
            .map_err(store_failed)
    }

    /// Forgets the tries of a code that was used: a check of it finds no code now,
    /// before it would count one. Once the answer is out, in a flow request.
    async fn forget_attempts(&self, id: &str) -> Result<(), ProviderError> {
        after_answer(self.store.as_ref(), [Later::Delete(attempts_key(id))])
            .await
            .map_err(store_failed)
    }
}

fn new_id() -> String {
    random::bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the visitor receives. The voice call reads the code digit by digit, as
/// MessageBird's text-to-speech does with its `%token`.
fn message_text(templates: &MessageTemplates, channel: Channel, lang: Lang, code: &str) -> String {
    let template = templates.template(channel, lang);
    match channel {
        Channel::Sms => template.replace("%token", code),
        Channel::Voice => {
            let digits: Vec<String> = code.chars().map(String::from).collect();
            template.replace("%token", &digits.join(", "))
        }
    }
}

#[async_trait::async_trait]
impl VerifyProvider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let StartRequest { to, channel, lang } = request;
        let id = new_id();
        let code = self.new_code();
        let expires_at = unix_ms(self.clock.now() + self.policy.lifetime);
        self.save(
            &id,
            &Pending {
                code_mac: self.mac(&id, &code),
                expires_at,
            },
        )
        .await?;
        self.outbox.deliver(
            to,
            channel,
            message_text(&self.templates, channel, lang, &code),
        );
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
        let Some(entry) = self.load(id).await? else {
            return Ok(CheckOutcome::NotFound);
        };
        if entry.expires_at <= unix_ms(self.clock.now()) {
            self.consume(id).await?;
            return Ok(CheckOutcome::Expired);
        }
        let max_attempts = u64::from(self.policy.max_attempts);
        let tries = self.count_attempt(id).await?;
        if tries > max_attempts {
            return Ok(CheckOutcome::TooManyAttempts);
        }
        if bool::from(entry.code_mac.ct_eq(&self.mac(id, code.as_str()))) {
            // Single use: of two right codes sent at once, one verifies.
            if !self.consume(id).await? {
                return Ok(CheckOutcome::NotFound);
            }
            self.forget_attempts(id).await?;
            return Ok(CheckOutcome::Approved);
        }
        Ok(if tries < max_attempts {
            CheckOutcome::Wrong
        } else {
            CheckOutcome::TooManyAttempts
        })
    }

    fn sends_texts(&self) -> bool {
        true
    }

    /// A confirmation text "delivered" to the dev outbox, like the codes.
    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<(), ProviderError> {
        self.outbox.deliver(to, Channel::Sms, text.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::server::clock::ManualClock;
    use crate::server::store::SqliteStore;
    use crate::verify::PhoneNumber;

    struct Harness {
        clock: Arc<ManualClock>,
        outbox: Arc<Outbox>,
        provider: LocalProvider,
    }

    async fn harness() -> Harness {
        let store: Arc<dyn StateStore> = Arc::new(SqliteStore::in_memory().unwrap());
        harness_on(store).await
    }

    async fn harness_on(store: Arc<dyn StateStore>) -> Harness {
        let clock = Arc::new(ManualClock::new());
        let outbox = Arc::new(Outbox::new(10));
        let provider = LocalProvider::open(
            CodePolicy::default(),
            MessageTemplates::default(),
            clock.clone(),
            outbox.clone(),
            store,
        )
        .await
        .unwrap();
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
        let h = harness().await;
        let reference = sms(&h).await;
        let message = &h.outbox.messages()[0];
        assert_eq!(message.to, "+447911123456");
        assert!(message.text.starts_with("Your phone-verify code is "));
        let code = delivered_code(&h.outbox);
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::Approved
        );
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::NotFound
        );
    }

    #[tokio::test]
    async fn voice_messages_read_the_code_digit_by_digit() {
        let h = harness().await;
        h.provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Voice,
                lang: Lang::En,
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
        let h = harness().await;
        let reference = sms(&h).await;
        let code = delivered_code(&h.outbox);
        h.clock.advance(Duration::from_secs(600));
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::Expired
        );
    }

    #[tokio::test]
    async fn codes_still_work_just_before_expiry() {
        let h = harness().await;
        let reference = sms(&h).await;
        let code = delivered_code(&h.outbox);
        h.clock.advance(Duration::from_secs(599));
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::Approved
        );
    }

    #[tokio::test]
    async fn five_wrong_codes_kill_the_code() {
        let h = harness().await;
        let reference = sms(&h).await;
        let code = delivered_code(&h.outbox);
        for _ in 1..=4 {
            let outcome = h.provider.check(&reference, &wrong(&code)).await.unwrap();
            assert_eq!(outcome, CheckOutcome::Wrong);
        }
        let fifth = h.provider.check(&reference, &wrong(&code)).await.unwrap();
        assert_eq!(fifth, CheckOutcome::TooManyAttempts);
        // Even the right code is refused now.
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::TooManyAttempts
        );
    }

    async fn sms(h: &Harness) -> VerificationRef {
        h.provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
                lang: Lang::En,
            })
            .await
            .unwrap()
            .reference
    }

    #[tokio::test]
    async fn guesses_sent_at_once_each_count_as_a_try() {
        let h = harness().await;
        let reference = sms(&h).await;
        let code = delivered_code(&h.outbox);
        let guess = wrong(&code);
        let outcomes =
            futures::future::join_all((0..40).map(|_| h.provider.check(&reference, &guess))).await;
        let wrong_ones = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(CheckOutcome::Wrong)))
            .count();
        assert_eq!(
            wrong_ones, 4,
            "five tries, the fifth ends the code: {outcomes:?}"
        );
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::TooManyAttempts
        );
    }

    #[tokio::test]
    async fn a_used_code_stays_used_whatever_races_it() {
        let h = harness().await;
        let reference = sms(&h).await;
        let code = delivered_code(&h.outbox);
        let guess = wrong(&code);
        let (right, again, guess) = tokio::join!(
            h.provider.check(&reference, &code),
            h.provider.check(&reference, &code),
            h.provider.check(&reference, &guess),
        );
        let approved = [right.unwrap(), again.unwrap()]
            .iter()
            .filter(|o| **o == CheckOutcome::Approved)
            .count();
        assert_eq!(approved, 1, "a code works once");
        assert!(matches!(
            guess.unwrap(),
            CheckOutcome::Wrong | CheckOutcome::NotFound
        ));
        assert_eq!(
            h.provider.check(&reference, &code).await.unwrap(),
            CheckOutcome::NotFound,
            "the wrong guess did not bring the code back"
        );
    }

    #[tokio::test]
    async fn a_code_only_works_for_its_own_verification() {
        let h = harness().await;
        let first = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
                lang: Lang::En,
            })
            .await
            .unwrap();
        let first_code = delivered_code(&h.outbox);
        let second = h
            .provider
            .start(StartRequest {
                to: &phone(),
                channel: Channel::Sms,
                lang: Lang::En,
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

    #[tokio::test]
    async fn codes_survive_a_restart_of_the_provider() {
        let store: Arc<dyn StateStore> = Arc::new(SqliteStore::in_memory().unwrap());
        let before = harness_on(store.clone()).await;
        let request = StartRequest {
            to: &phone(),
            channel: Channel::Sms,
            lang: Lang::En,
        };
        let started = before.provider.start(request).await.unwrap();
        let code = delivered_code(&before.outbox);
        let after = harness_on(store).await;
        assert_eq!(
            after
                .provider
                .check(&started.reference, &code)
                .await
                .unwrap(),
            CheckOutcome::Approved
        );
    }

    #[tokio::test]
    async fn codes_are_uniform_over_digits() {
        let h = harness().await;
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

    #[tokio::test]
    async fn stores_only_a_mac_of_the_code() {
        let h = harness().await;
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
