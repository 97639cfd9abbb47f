//! Sending the first code.
use super::{Caller, Verifier};
use crate::server::session::{Pending, SessionSlot};
use crate::verify::{Channel, CountryCode, PhoneNumber, Step, VerifyError};

/// What the phone step's form carries.
#[derive(Clone, Copy, Debug)]
pub struct StartInput<'a> {
    /// As typed; read as a number of `country` when it has no `+`.
    pub phone: &'a str,
    /// The picker's ISO code, possibly empty.
    pub country: &'a str,
    pub channel: Channel,
}

impl Verifier<'_> {
    /// Sends a first code, after checking the number and every limit. The number as
    /// typed is kept for the phone step whatever happens, so nothing is lost.
    #[tracing::instrument(
        name = "verification",
        skip_all,
        fields(step = "start", provider = self.provider.name(), site = caller.site_key())
    )]
    pub async fn start(
        &self,
        slot: &dyn SessionSlot,
        caller: &Caller,
        now: u64,
        input: StartInput<'_>,
    ) -> Result<Step, VerifyError> {
        let mut stored = slot.load().await?;
        // A number the host chose is the only one; what the form says is ignored.
        let locked = stored.locked.clone();
        let (phone, country) = match &locked {
            Some(locked) => (locked.e164.as_str(), ""),
            None => (input.phone, input.country),
        };
        if locked.is_none() {
            stored.set_draft(phone, country, input.channel);
        } else {
            stored.channel = input.channel;
        }
        let region = country
            .parse::<CountryCode>()
            .ok()
            .or(self.settings.default_country);
        let number = match PhoneNumber::parse(phone, region) {
            Ok(number) => number,
            Err(problem) => {
                slot.save(&stored).await?;
                return Err(VerifyError::InvalidPhone(problem));
            }
        };
        // A number typed with its country code belongs to that country: the phone
        // step shows it when the visitor comes back, as the picker in the browser does
        // once the number is checked while typing (which a quick submit outruns); the
        // same rule as there (`components/phone_input.rs`), so a national number keeps
        // the country picked for it.
        let international = phone.trim_start().starts_with('+');
        if let (None, true, Some(own)) = (&locked, international, number.country()) {
            own.clone_into(&mut stored.draft_country);
        }
        // A double submit of the same request must not send a second message.
        let repeated = stored.pending.as_ref().is_some_and(|pending| {
            pending.e164 == number.e164()
                && pending.channel == input.channel
                && now < pending.resend_at
        });
        if repeated {
            return Ok(self.step(&stored, caller, now));
        }
        let started = self
            .send(slot, &mut stored, caller, &number, input.channel, now)
            .await?;
        tracing::info!(to = %number.masked(), channel = input.channel.as_str(), "code sent");
        stored.verified = None;
        stored.pending = Some(Pending {
            e164: number.e164().to_owned(),
            country: number.country().map(str::to_owned),
            display: match &locked {
                Some(locked) => locked.masked.clone(),
                None => number.international().to_owned(),
            },
            channel: input.channel,
            reference: started.reference,
            expires_at: now + started.lifetime.as_secs(),
            resend_at: now + self.cooldown(1),
            sends: 1,
            failed_checks: 0,
        });
        slot.renew_id().await?;
        slot.save(&stored).await?;
        Ok(self.step(&stored, caller, now))
    }
}
