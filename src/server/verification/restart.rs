//! Going back to the phone step.
use super::{Caller, Verifier};
use crate::server::session::SessionSlot;
use crate::verify::{Step, VerifyError};

impl Verifier<'_> {
    /// Back to the phone step, keeping the number (pending or verified) for editing.
    pub async fn restart(
        &self,
        slot: &dyn SessionSlot,
        caller: &Caller,
        now: u64,
    ) -> Result<Step, VerifyError> {
        let mut stored = slot.load().await?;
        let locked = stored.locked.is_some();
        if let Some(pending) = stored.pending.take() {
            stored.channel = pending.channel;
            if !locked {
                stored.draft_phone = pending.display;
            }
        }
        if let Some(verified) = stored.verified.take()
            && !locked
        {
            stored.draft_phone = verified.display;
        }
        slot.save(&stored).await?;
        Ok(self.step(&stored, caller, now))
    }
}
