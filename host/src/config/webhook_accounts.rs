//! From configuration to the listener's accounts (here, so `webhook` never imports `config`): each configured secret (`config::webhooks`)
//! paired with the signature scheme the account's connector declares. An account with a
//! secret whose connector takes no webhooks is a configuration error, not a silent no-op.

use super::WebhookConfig;
use crate::model::WebhookSignature;

use crate::webhook::WebhookAccount;

/// The listener's accounts. `signature_of(vendor, account)` is the connector's declared
/// scheme (`None`: it takes no webhooks).
pub fn accounts(
    config: &WebhookConfig,
    signature_of: impl Fn(&str, &str) -> Option<WebhookSignature>,
) -> anyhow::Result<Vec<WebhookAccount>> {
    config
        .accounts
        .iter()
        .map(|a| {
            let signature = signature_of(&a.vendor, &a.account).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: account {}/{} has a webhook secret, but its connector declares no webhook signing; remove the secret, or use a connector version that takes webhooks",
                    a.source,
                    a.vendor,
                    a.account
                )
            })?;
            Ok(WebhookAccount {
                vendor: a.vendor.clone(),
                account: a.account.clone(),
                secret: a.secret.clone(),
                signature,
            })
        })
        .collect()
}
