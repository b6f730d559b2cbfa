//! Webhook deliveries grouped for display: by event, then into retry chains (attempt 1
//! and the retries that followed it to the same endpoint). Pure.

use callscope_shared::{PublicWebhookDelivery, Timestamp};

/// One attempt, with its time relative to the start of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub success: bool,
    pub error: Option<String>,
    /// Seconds since the call started (negative if before).
    pub offset_s: i64,
}

/// Attempts of one delivery to one endpoint, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub url: String,
    pub attempts: Vec<Attempt>,
}

impl Chain {
    /// Whether the last attempt succeeded.
    pub fn delivered(&self) -> bool {
        self.attempts.last().is_some_and(|a| a.success)
    }
}

/// Every chain of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGroup {
    pub event: String,
    pub chains: Vec<Chain>,
}

/// Groups deliveries by event (in order of first appearance) and links each retry to the
/// chain it continues: the latest chain of the same event and URL with a lower attempt.
pub fn group(deliveries: &[PublicWebhookDelivery], started_at: Timestamp) -> Vec<EventGroup> {
    let mut sorted: Vec<&PublicWebhookDelivery> = deliveries.iter().collect();
    sorted.sort_by_key(|d| (d.created_at, d.attempt));
    let mut groups: Vec<EventGroup> = Vec::new();
    for d in sorted {
        let attempt = Attempt {
            attempt: d.attempt,
            status_code: d.status_code,
            success: d.success,
            error: d.error.clone(),
            offset_s: d.created_at.unix() - started_at.unix(),
        };
        let pos = match groups.iter().position(|g| g.event == d.event) {
            Some(pos) => pos,
            None => {
                groups.push(EventGroup {
                    event: d.event.clone(),
                    chains: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let chains = &mut groups[pos].chains;
        let continues = chains
            .iter_mut()
            .rev()
            .find(|c| c.url == d.url && c.attempts.last().is_some_and(|a| a.attempt < d.attempt));
        match continues {
            Some(chain) if d.attempt > 1 => chain.attempts.push(attempt),
            _ => chains.push(Chain {
                url: d.url.clone(),
                attempts: vec![attempt],
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(event: &str, url: &str, attempt: u32, ok: bool, at: i64) -> PublicWebhookDelivery {
        PublicWebhookDelivery {
            event: event.into(),
            url: url.into(),
            attempt,
            status_code: Some(if ok { 200 } else { 503 }),
            success: ok,
            error: (!ok).then(|| "HTTP 503".into()),
            created_at: Timestamp::from_unix(at).unwrap(),
        }
    }

    #[test]
    fn groups_by_event_and_links_retries_into_chains() {
        let start = Timestamp::from_unix(1000).unwrap();
        let ds = [
            d("call.ended", "https://a.example", 2, true, 1130),
            d("call.started", "https://a.example", 1, true, 1000),
            d("call.ended", "https://a.example", 1, false, 1120),
            d("call.ended", "https://b.example", 1, true, 1120),
        ];
        let groups = group(&ds, start);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].event, "call.started");
        let ended = &groups[1];
        assert_eq!(ended.chains.len(), 2);
        let a = &ended.chains[0];
        assert_eq!(a.url, "https://a.example");
        assert_eq!(
            a.attempts.iter().map(|x| x.attempt).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(a.delivered());
        assert_eq!(a.attempts[0].offset_s, 120);
        assert_eq!(ended.chains[1].url, "https://b.example");
    }

    #[test]
    fn a_new_first_attempt_starts_a_new_chain() {
        let start = Timestamp::from_unix(0).unwrap();
        let ds = [
            d("call.updated", "https://a.example", 1, true, 10),
            d("call.updated", "https://a.example", 1, false, 20),
            d("call.updated", "https://a.example", 2, false, 30),
        ];
        let groups = group(&ds, start);
        assert_eq!(groups[0].chains.len(), 2);
        assert_eq!(groups[0].chains[1].attempts.len(), 2);
        assert!(!groups[0].chains[1].delivered());
    }
}
