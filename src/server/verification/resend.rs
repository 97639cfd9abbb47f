//! Sending a new code to the pending number.
use super::{Caller, Verifier};
use crate::server::session::{OFFER_CALL_AFTER_SENDS, SessionSlot};
use crate::verify::{Channel, PhoneNumber, Step, VerifyError};

impl Verifier<'_> {
    /// Sends a new code once the cooldown is over; by `channel` if given ("call me
    /// instead"), else as before. Each send doubles the next wait.
    #[tracing::instrument(
        name = "verification",
        skip_all,
        fields(step = "resend", provider = self.provider.name(), site = caller.site_key())
    )]
    pub async fn resend(
        &self,
        slot: &dyn SessionSlot,
        caller: &Caller,
        now: u64,
        channel: Option<Channel>,
    ) -> Result<Step, VerifyError> {
        let mut stored = slot.load().await?;
        let Some(pending) = stored.pending.as_ref() else {
            return Err(VerifyError::NoVerificationInProgress);
        };
        if now < pending.resend_at {
            let retry_after = u32::try_from(pending.resend_at - now).unwrap_or(u32::MAX);
            return Err(VerifyError::ResendTooSoon { retry_after });
        }
        let number = PhoneNumber::parse(&pending.e164, None).map_err(|problem| {
            tracing::error!(?problem, "a stored number no longer parses");
            VerifyError::Internal
        })?;
        let channel = channel.unwrap_or(pending.channel);
        // "Call me instead" is offered after repeated texts; a call asked for earlier
        // (an API client, not the widget) would make calls, dearer than texts, on
        // demand.
        if pending.channel == Channel::Sms
            && channel == Channel::Voice
            && pending.sends < OFFER_CALL_AFTER_SENDS
        {
            return Err(VerifyError::ChannelUnavailable);
        }
        let sends = pending.sends + 1;
        let started = self
            .send(slot, &mut stored, caller, &number, channel, now)
            .await?;
        tracing::info!(to = %number.masked(), channel = channel.as_str(), "code resent");
        let cooldown = self.cooldown(sends);
        let Some(pending) = stored.pending.as_mut() else {
            return Err(VerifyError::NoVerificationInProgress);
        };
        pending.channel = channel;
        // A provider that resends within the same verification (Twilio) keeps its
        // count of tries, and so does the store's (`limits::admit_check`).
        if pending.reference != started.reference {
            pending.failed_checks = 0;
        }
        pending.reference = started.reference;
        pending.expires_at = now + started.lifetime.as_secs();
        pending.resend_at = now + cooldown;
        pending.sends = sends;
        slot.save(&stored).await?;
        Ok(self.step(&stored, caller, now))
    }
}
