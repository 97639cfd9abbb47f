//! The core's rules, run without a server: the real local provider on a SQLite file
//! of its own, a session held in memory, and a clock moved by hand.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Caller, StartInput};
use crate::i18n::Lang;
use crate::server::AppState;
use crate::server::clock::{Clock, ManualClock};
use crate::server::config::Settings;
use crate::server::session::{SessionSlot, VerifySession};
use crate::verify::{
    Channel, CodeEntry, PhoneEntry, PhoneProblem, Step, VerifiedPhone, VerifyError,
};

/// A session kept in memory, as the cookie session keeps it in the store.
#[derive(Default)]
struct MemorySession(Mutex<VerifySession>);

#[async_trait::async_trait]
impl SessionSlot for MemorySession {
    async fn load(&self) -> Result<VerifySession, VerifyError> {
        Ok(self.0.lock().unwrap().clone())
    }

    async fn save(&self, state: &VerifySession) -> Result<(), VerifyError> {
        *self.0.lock().unwrap() = state.clone();
        Ok(())
    }
}

struct Harness {
    state: AppState,
    clock: Arc<ManualClock>,
    session: MemorySession,
    caller: Caller,
}

const NUMBER: &str = "+44 7400 123456";

impl Harness {
    async fn new(vars: &[(&str, &str)]) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("phone-verify-core/{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data_dir = dir.display().to_string();
        let mut all = vec![("DATA_DIR", data_dir.as_str())];
        all.extend_from_slice(vars);
        let leptos = leptos::config::get_configuration(Some("Cargo.toml"))
            .expect("Cargo.toml has Leptos settings")
            .leptos_options;
        let settings = Settings::from_lookup(leptos, |name| {
            all.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .expect("test settings");
        let clock = Arc::new(ManualClock::new());
        let state = AppState::new(settings, clock.clone())
            .await
            .expect("app state");
        Self {
            state,
            clock,
            session: MemorySession::default(),
            caller: Caller {
                client: "192.0.2.1".into(),
                ..Caller::default()
            },
        }
    }

    fn now(&self) -> u64 {
        self.clock.unix_secs()
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Codes delivered so far, newest first.
    fn sent(&self) -> Vec<String> {
        let outbox = self
            .state
            .outbox
            .as_ref()
            .expect("the local provider's outbox");
        outbox
            .messages()
            .into_iter()
            .map(|m| {
                m.text
                    .chars()
                    .filter(char::is_ascii_digit)
                    .take(6)
                    .collect()
            })
            .collect()
    }

    async fn start(&self, phone: &str) -> Result<Step, VerifyError> {
        self.start_picked(phone, "").await
    }

    /// `start` with `country` picked in the phone step.
    async fn start_picked(&self, phone: &str, country: &str) -> Result<Step, VerifyError> {
        let input = StartInput {
            phone,
            country,
            channel: Channel::Sms,
        };
        self.state
            .verifier()
            .start(&self.session, &self.caller, self.now(), input)
            .await
    }

    async fn check(&self, code: &str) -> Result<Step, VerifyError> {
        self.state
            .verifier()
            .check(&self.session, &self.caller, self.now(), code)
            .await
    }

    async fn restart(&self) -> Result<Step, VerifyError> {
        self.state
            .verifier()
            .restart(&self.session, &self.caller, self.now())
            .await
    }

    async fn resend(&self) -> Result<Step, VerifyError> {
        self.state
            .verifier()
            .resend(&self.session, &self.caller, self.now(), None)
            .await
    }

    fn stored(&self) -> VerifySession {
        self.session.0.lock().unwrap().clone()
    }
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

#[tokio::test]
async fn a_bad_number_keeps_the_draft_and_sends_nothing() {
    let h = Harness::new(&[]).await;
    assert_eq!(
        h.start("07400 123456").await,
        Err(VerifyError::InvalidPhone(PhoneProblem::MissingCountryCode))
    );
    assert_eq!(
        h.stored().draft_phone,
        "07400 123456",
        "nothing typed is lost"
    );
    assert!(h.sent().is_empty());
    assert!(
        h.stored().sends_at.is_empty(),
        "a refused number is no send"
    );
}

#[tokio::test]
async fn a_code_verifies_its_number_once() {
    let h = Harness::new(&[]).await;
    let Ok(Step::EnterCode(CodeEntry {
        phone,
        resend_in,
        tries_left,
        ..
    })) = h.start(NUMBER).await
    else {
        panic!("a code step")
    };
    assert_eq!((phone.as_str(), resend_in, tries_left), (NUMBER, 30, 5));
    let code = h.sent()[0].clone();
    assert_eq!(
        h.check(&code).await,
        Ok(Step::Verified(VerifiedPhone {
            phone: NUMBER.into(),
            e164: "+447400123456".into(),
            token: None,
        }))
    );
    assert!(h.stored().pending.is_none());
    assert!(
        matches!(h.check(&code).await, Ok(Step::Verified(_))),
        "a repeat shows the success again"
    );
}

#[tokio::test]
async fn a_double_submit_sends_one_code() {
    let h = Harness::new(&[]).await;
    h.start(NUMBER).await.unwrap();
    h.advance(5);
    h.start(NUMBER).await.unwrap();
    assert_eq!(h.sent().len(), 1);
    assert_eq!(h.stored().sends_at.len(), 1);
}

#[tokio::test]
async fn wrong_codes_run_out_and_lock_the_code() {
    let h = Harness::new(&[("VERIFY_MAX_ATTEMPTS", "2")]).await;
    h.start(NUMBER).await.unwrap();
    let wrong = wrong(&h.sent()[0]);
    assert_eq!(
        h.check(&wrong).await,
        Err(VerifyError::WrongCode { tries_left: 1 })
    );
    assert_eq!(h.check(&wrong).await, Err(VerifyError::TooManyAttempts));
    let right = h.sent()[0].clone();
    assert_eq!(
        h.check(&right).await,
        Err(VerifyError::TooManyAttempts),
        "even the right code"
    );
}

#[tokio::test]
async fn a_malformed_or_late_code_is_refused_before_the_provider() {
    let h = Harness::new(&[]).await;
    assert_eq!(
        h.check("123456").await,
        Err(VerifyError::NoVerificationInProgress)
    );
    h.start(NUMBER).await.unwrap();
    assert!(matches!(
        h.check("12").await,
        Err(VerifyError::InvalidCode(_))
    ));
    assert_eq!(h.stored().pending.unwrap().failed_checks, 0);
    h.advance(600);
    let code = h.sent()[0].clone();
    assert_eq!(h.check(&code).await, Err(VerifyError::CodeExpired));
}

#[tokio::test]
async fn resends_wait_and_each_wait_doubles() {
    let h = Harness::new(&[]).await;
    h.start(NUMBER).await.unwrap();
    h.advance(10);
    assert_eq!(
        h.resend().await,
        Err(VerifyError::ResendTooSoon { retry_after: 20 })
    );
    h.advance(20);
    let Ok(Step::EnterCode(CodeEntry { resend_in, .. })) = h.resend().await else {
        panic!()
    };
    assert_eq!(resend_in, 60);
    assert_eq!(h.sent().len(), 2);
    let new_code = h.sent()[0].clone();
    assert!(matches!(h.check(&new_code).await, Ok(Step::Verified(_))));
}

#[tokio::test]
async fn a_session_sends_at_most_three_codes_per_ten_minutes() {
    let h = Harness::new(&[("VERIFY_RESEND_COOLDOWN_SECS", "0")]).await;
    h.start(NUMBER).await.unwrap();
    h.resend().await.unwrap();
    h.resend().await.unwrap();
    assert!(matches!(
        h.resend().await,
        Err(VerifyError::RateLimited { retry_after: 600 })
    ));
    assert_eq!(
        h.sent().len(),
        3,
        "the refused send never reached the provider"
    );
}

#[tokio::test]
async fn a_number_with_another_countrys_code_comes_back_under_that_country() {
    let h = Harness::new(&[]).await;
    h.start_picked("+447400123456", "DE").await.unwrap();
    let step = h.restart().await.unwrap();
    let Step::EnterPhone(PhoneEntry { country, .. }) = step else {
        panic!("the phone step")
    };
    assert_eq!(country, "GB", "the number's country, not the picker's");
}

#[tokio::test]
async fn a_national_number_keeps_the_country_picked_for_it() {
    let h = Harness::new(&[]).await;
    // A Guernsey mobile to the metadata, typed as a UK number.
    h.start_picked("07911 123456", "GB").await.unwrap();
    assert_eq!(h.stored().draft_country, "GB");
}

#[tokio::test]
async fn restart_keeps_the_number_for_editing() {
    let h = Harness::new(&[]).await;
    h.start(NUMBER).await.unwrap();
    let step = h.restart().await.unwrap();
    let Step::EnterPhone(PhoneEntry { phone, .. }) = step else {
        panic!()
    };
    assert_eq!(phone, NUMBER);
    assert!(h.stored().pending.is_none());
}

#[tokio::test]
async fn a_form_error_is_shown_once_and_a_chosen_language_is_kept() {
    let mut h = Harness::new(&[]).await;
    h.session.0.lock().unwrap().flash = Some(VerifyError::CodeExpired);
    h.caller.chosen_lang = Some(Lang::De);
    let verifier = h.state.verifier();
    let first = verifier
        .current(&h.session, &h.caller, h.now())
        .await
        .unwrap();
    assert_eq!(
        (first.error, first.lang),
        (Some(VerifyError::CodeExpired), Lang::De)
    );
    h.caller.chosen_lang = None;
    let again = h
        .state
        .verifier()
        .current(&h.session, &h.caller, h.now())
        .await
        .unwrap();
    assert_eq!(
        (again.error, again.lang),
        (None, Lang::De),
        "the choice outlives the switch"
    );
}
