//! Internal row ids, one type each, so a swapped argument does not compile.
//!
//! These are the database's numeric keys. What crosses the wire has its own public form in
//! `callscope_shared` (`CallId` for calls, `AgentId` for agents) or a formatter beside the
//! module that owns it (`wh_…` endpoint ids). `CallId` doubles as the call's row id.

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The numeric key as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// An account (a tenant): every key, agent, call and endpoint belongs to one.
    AccountId
);
row_id!(
    /// An agent's numeric id (its public form is `callscope_shared::AgentId`).
    AgentRowId
);
row_id!(
    /// An API key's row.
    KeyId
);
row_id!(
    /// A debug link's row.
    LinkId
);
row_id!(
    /// A webhook endpoint (public form `wh_` + 8 digits).
    EndpointId
);
row_id!(
    /// A delivery job in the webhook outbox.
    JobId
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids bind and decode through sqlx's `Any` driver like the integers they wrap.
    #[tokio::test]
    async fn ids_round_trip_through_the_any_driver() {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .unwrap();
        let (id,): (AccountId,) = sqlx::query_as("SELECT $1")
            .bind(AccountId(42))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(id, AccountId(42));
    }
}
