//! Fault tests on real services (issue 16): a private PostgreSQL stopped and restarted under
//! load, a private Redis killed and restarted, and the `callscope` binary killed with
//! SIGKILL during ingestion and webhook delivery. `support` starts what they stop (never the
//! shared PostgreSQL and Redis other tests use); `load` is the traffic and the ledger of
//! what was acknowledged.

mod crash;
mod load;
mod postgres_outage;
mod redis_outage;
mod sqlite_lock;
mod support;
