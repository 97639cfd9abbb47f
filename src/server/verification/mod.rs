//! The verification core: what a visitor can do (see where they are, start, check,
//! resend, restart, format a number as they type it), as functions of explicit
//! inputs (the session state through a [`SessionSlot`], the [`Caller`], the time)
//! that return the step or the error the visitor sees. There is no HTTP here:
//! `server::request` turns server-function calls into these inputs and the results
//! into responses.
//!
//! Each use case is one file; the rules they share (admitting a send, the step shown,
//! what a provider failure means to a visitor) are below and in [`provider_errors`].
mod caller;
mod check;
mod current;
mod format;
mod provider_errors;
mod resend;
mod restart;
mod start;

#[cfg(test)]
mod tests;

pub use caller::Caller;
pub use current::Current;
pub use format::format_phone;
pub use start::StartInput;

use super::config::Settings;
use super::countries;
use super::limits;
use super::metrics::Metrics;
use super::provider::{ProviderError, StartRequest, Started, VerifyProvider};
use super::session::{SessionSlot, StepPolicy, VerifySession};
use super::store::StateStore;
use crate::verify::{Channel, PhoneNumber, Step, VerifyError};

/// The parts of the app a use case works with.
#[derive(Clone, Copy)]
pub struct Verifier<'a> {
    pub settings: &'a Settings,
    pub provider: &'a dyn VerifyProvider,
    /// The limits' counters.
    pub store: &'a dyn StateStore,
    pub metrics: &'a Metrics,
}

impl Verifier<'_> {
    /// The picker's first choice: the configured country, else the browser's guess.
    fn default_country(&self, caller: &Caller) -> String {
        match self.settings.default_country {
            Some(country) => country.to_string(),
            None => countries::guess(&caller.accept_language).unwrap_or_default(),
        }
    }

    fn step(&self, stored: &VerifySession, caller: &Caller, now: u64) -> Step {
        let policy = StepPolicy {
            code_length: self.settings.code.length,
            max_attempts: self.settings.code.max_attempts,
        };
        stored.step(policy, &self.default_country(caller), now)
    }

    /// Checks every limit before a send and counts the send, with the session it
    /// makes if it is the visitor's first; see [`limits`].
    async fn admit_send(
        &self,
        slot: &dyn SessionSlot,
        stored: &mut VerifySession,
        caller: &Caller,
        number: &PhoneNumber,
        now: u64,
    ) -> Result<(), VerifyError> {
        let policy = &self.settings.limits;
        limits::admit_session_send(&mut stored.sends_at, policy, now)
            .map_err(|refusal| refusal.counted(self.metrics))?;
        let new_session = slot.needs_admission();
        limits::admit_send(
            self.store,
            policy,
            number,
            &caller.client,
            caller.site.as_ref(),
            new_session,
            now,
        )
        .await
        .map_err(|refusal| refusal.counted(self.metrics))?;
        if new_session {
            slot.admitted_with_send();
        }
        stored.sends_at.push(now);
        Ok(())
    }

    /// Admits the number and the send against every limit, saves the session (so that the send counts
    /// even if the provider then fails or the visitor goes away), then asks the
    /// provider.
    async fn send(
        &self,
        slot: &dyn SessionSlot,
        stored: &mut VerifySession,
        caller: &Caller,
        number: &PhoneNumber,
        channel: Channel,
        now: u64,
    ) -> Result<Started, VerifyError> {
        // A number no verification needs is refused before anything is counted.
        let admitted = match limits::admit_number(&self.settings.limits, number, channel) {
            Ok(()) => self.admit_send(slot, stored, caller, number, now).await,
            Err(refusal) => Err(refusal.counted(self.metrics)),
        };
        let saved = slot.save(stored).await;
        let result = match (admitted, saved) {
            (_, Err(failed)) | (Err(failed), Ok(())) => Err(failed),
            (Ok(()), Ok(())) => self
                .provider
                .start(StartRequest {
                    to: number,
                    channel,
                    lang: caller.lang(stored),
                })
                .await
                .map_err(|error| self.provider_failed(error)),
        };
        self.metrics.send(
            self.provider.name(),
            channel,
            number.country(),
            result.as_ref().map(|_| ()),
        );
        result
    }

    fn provider_failed(&self, error: ProviderError) -> VerifyError {
        provider_errors::visitor_error(self.provider.name(), error)
    }

    /// The resend wait after `sends` codes.
    fn cooldown(&self, sends: u32) -> u64 {
        limits::cooldown(self.settings.resend_cooldown, sends)
    }
}
