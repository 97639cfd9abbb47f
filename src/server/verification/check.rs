//! Checking a typed code.
use super::{Caller, Verifier};
use crate::server::limits;
use crate::server::provider::CheckOutcome;
use crate::server::session::{Pending, SessionSlot, Verified, VerifySession};
use crate::verify::{OtpCode, Step, VerifyError, mask_e164};

impl Verifier<'_> {
    /// Checks `code` against this session's pending verification. A code that is
    /// malformed, late or one try too many never reaches the provider.
    #[tracing::instrument(
        name = "verification",
        skip_all,
        fields(step = "check", provider = self.provider.name(), site = caller.site_key())
    )]
    pub async fn check(
        &self,
        slot: &dyn SessionSlot,
        caller: &Caller,
        now: u64,
        code: &str,
    ) -> Result<Step, VerifyError> {
        let mut stored = slot.load().await?;
        let Some(pending) = stored.pending.clone() else {
            // A repeated submit after success lands here: show the success again.
            return match stored.verified {
                Some(_) => Ok(self.step(&stored, caller, now)),
                None => Err(VerifyError::NoVerificationInProgress),
            };
        };
        let result = self
            .check_pending(slot, caller, now, code, &mut stored, pending)
            .await;
        self.metrics
            .check(self.provider.name(), result.as_ref().map(|_| ()));
        result
    }

    async fn check_pending(
        &self,
        slot: &dyn SessionSlot,
        caller: &Caller,
        now: u64,
        code: &str,
        stored: &mut VerifySession,
        pending: Pending,
    ) -> Result<Step, VerifyError> {
        let code =
            OtpCode::parse(code, self.settings.code.length).map_err(VerifyError::InvalidCode)?;
        if now >= pending.expires_at {
            return Err(VerifyError::CodeExpired);
        }
        let max_attempts = self.settings.code.max_attempts;
        if pending.failed_checks >= max_attempts {
            return Err(VerifyError::TooManyAttempts);
        }
        let subject = limits::CheckSubject {
            reference: pending.reference.as_str(),
            e164: &pending.e164,
            client: &caller.client,
            max_attempts,
            lifetime: self.settings.code.lifetime,
        };
        let admitted = limits::admit_check(self.store, &self.settings.limits, &subject, now)
            .await
            .map_err(|refusal| refusal.counted(self.metrics));
        if admitted == Err(VerifyError::TooManyAttempts) {
            // Kept in the session, so the step shows no tries left from now on.
            return self.lock_code(slot, stored, max_attempts).await;
        }
        admitted?;
        let outcome = self
            .provider
            .check(&pending.reference, &code)
            .await
            .map_err(|error| self.provider_failed(error))?;
        match outcome {
            CheckOutcome::Approved => {
                tracing::info!(to = %mask_e164(&pending.e164), "number verified");
                limits::right_code(self.store, &self.settings.limits, &subject, now).await?;
                stored.pending = None;
                stored.verified = Some(Verified {
                    e164: pending.e164,
                    display: pending.display,
                    at: now,
                    channel: pending.channel,
                    id: crate::server::random::id::<16>(),
                });
                slot.renew_id().await?;
                slot.save(stored).await?;
                self.metrics
                    .verified(pending.channel, pending.country.as_deref());
                Ok(self.step(stored, caller, now))
            }
            CheckOutcome::Wrong => {
                // The session's snapshot is current: its flow requests run one at a
                // time (`routes::flow_lock`), and the store counted this try already.
                let failed = pending.failed_checks + 1;
                if let Some(stored_pending) = stored.pending.as_mut() {
                    stored_pending.failed_checks = failed;
                }
                slot.save(stored).await?;
                match max_attempts.saturating_sub(failed) {
                    0 => Err(VerifyError::TooManyAttempts),
                    tries_left => Err(VerifyError::WrongCode { tries_left }),
                }
            }
            CheckOutcome::TooManyAttempts => self.lock_code(slot, stored, max_attempts).await,
            CheckOutcome::Expired => {
                if let Some(stored_pending) = stored.pending.as_mut() {
                    stored_pending.expires_at = stored_pending.expires_at.min(now);
                }
                slot.save(stored).await?;
                Err(VerifyError::CodeExpired)
            }
            CheckOutcome::NotFound => {
                stored.pending = None;
                slot.save(stored).await?;
                Err(VerifyError::NoVerificationInProgress)
            }
        }
    }

    /// Records that the pending code has had all its tries: the provider and the
    /// store already refuse it; the session then stops offering it.
    async fn lock_code(
        &self,
        slot: &dyn SessionSlot,
        stored: &mut VerifySession,
        max_attempts: u32,
    ) -> Result<Step, VerifyError> {
        if let Some(pending) = stored.pending.as_mut() {
            pending.failed_checks = max_attempts;
        }
        slot.save(stored).await?;
        Err(VerifyError::TooManyAttempts)
    }
}
