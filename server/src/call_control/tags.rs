//! What callscope writes into Telnyx's `client_state` so a later webhook says which of our
//! commands it answers: the new leg of a transfer names the transfer (its webhooks carry
//! no call control id callscope knows), a gather names itself (so a late
//! `call.gather.ended` of an earlier gather cannot free a newer gather's slot), a recording
//! names its call (`call.recording.saved` carries no call control id).

use crate::telnyx::ClientState;

const PREFIX: &str = "callscope:";

/// One of our commands, as named in `client_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// A transfer, by its row id.
    Transfer(i64),
    /// A gather, by the id its slot holds.
    Gather(String),
    /// A call's recording, by the call's row id.
    Recording(i64),
}

impl Tag {
    pub fn client_state(&self) -> ClientState {
        ClientState::encode(match self {
            Tag::Transfer(id) => format!("{PREFIX}transfer:{id}"),
            Tag::Gather(id) => format!("{PREFIX}gather:{id}"),
            Tag::Recording(id) => format!("{PREFIX}recording:{id}"),
        })
    }

    /// The tag a webhook's `client_state` carries; `None` for anything else (another
    /// application's state, or none of ours).
    pub fn of(state: &ClientState) -> Option<Tag> {
        let bytes = state.decode()?;
        let text = std::str::from_utf8(&bytes).ok()?.strip_prefix(PREFIX)?;
        if let Some(id) = text.strip_prefix("transfer:") {
            return row_id(id).map(Tag::Transfer);
        }
        if let Some(id) = text.strip_prefix("recording:") {
            return row_id(id).map(Tag::Recording);
        }
        let id = text.strip_prefix("gather:")?;
        let valid = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        valid.then(|| Tag::Gather(id.to_owned()))
    }
}

/// A row id as written in a tag: 1 to 18 digits.
fn row_id(text: &str) -> Option<i64> {
    let valid = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_foreign_states_are_not_ours() {
        for tag in [
            Tag::Transfer(42),
            Tag::Recording(7),
            Tag::Gather(uuid::Uuid::new_v4().to_string()),
        ] {
            assert_eq!(Tag::of(&tag.client_state()), Some(tag));
        }
        for foreign in [
            "not base64!",
            "aGVsbG8=", // "hello"
        ] {
            assert_eq!(Tag::of(&ClientState::from_wire(foreign)), None, "{foreign}");
        }
        for text in [
            "callscope:transfer:",
            "callscope:transfer:-1",
            "callscope:transfer:99999999999999999999",
            "callscope:recording:x1",
            "callscope:gather:",
            "callscope:gather:a b",
            "callscope:other:1",
        ] {
            assert_eq!(Tag::of(&ClientState::encode(text)), None, "{text}");
        }
    }
}
