//! Checking a typed code.
use super::{Caller, Verifier};
use crate::server::limits;
use crate::server::provider::CheckOutcome;
use crate::server::session::{SessionSlot, Verified};
use crate::verify::{OtpCode, Step, VerifyError, mask_e164};

impl Verifier<'_> {
    /// Checks `code` against this session's pending verification. A code that is
    /// malformed, late or one try too many never reaches the provider.
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
        let code =
            OtpCode::parse(code, self.settings.code.length).map_err(VerifyError::InvalidCode)?;
        if now >= pending.expires_at {
            return Err(VerifyError::CodeExpired);
        }
        let max_attempts = self.settings.code.max_attempts;
        if pending.failed_checks >= max_attempts {
            return Err(VerifyError::TooManyAttempts);
        }
        let policy = &self.settings.limits;
        limits::admit_check(self.store, policy, &pending.e164, now).await?;
        let outcome = self
            .provider
            .check(&pending.reference, &code)
            .await
            .map_err(|error| self.provider_failed(error))?;
        match outcome {
            CheckOutcome::Approved => {
                tracing::info!(to = %mask_e164(&pending.e164), "number verified");
                stored.pending = None;
                stored.verified = Some(Verified {
                    e164: pending.e164,
                    display: pending.display,
                    at: now,
                    channel: pending.channel,
                    id: crate::server::random::id::<16>(),
                });
                slot.save(&stored).await?;
                Ok(self.step(&stored, caller, now))
            }
            CheckOutcome::Wrong => {
                limits::record_failed_check(self.store, policy, &pending.e164, now).await?;
                let failed = pending.failed_checks + 1;
                if let Some(stored_pending) = stored.pending.as_mut() {
                    stored_pending.failed_checks = failed;
                }
                slot.save(&stored).await?;
                match max_attempts.saturating_sub(failed) {
                    0 => Err(VerifyError::TooManyAttempts),
                    tries_left => Err(VerifyError::WrongCode { tries_left }),
                }
            }
            CheckOutcome::Expired => Err(VerifyError::CodeExpired),
            CheckOutcome::TooManyAttempts => Err(VerifyError::TooManyAttempts),
            CheckOutcome::NotFound => {
                stored.pending = None;
                slot.save(&stored).await?;
                Err(VerifyError::NoVerificationInProgress)
            }
        }
    }
}
