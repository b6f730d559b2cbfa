//! `GET /v1/calls/summary`.

use serde::{Deserialize, Serialize};

use crate::{Minutes, Money};

/// What the summary was filtered by, echoed back; absent filters are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryFilters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_date: Option<String>,
}

/// Aggregate stats for a date range. Money fields are rounded to cents after an exact sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub total_calls: i64,
    pub completed_calls: i64,
    pub failed_calls: i64,
    pub answered_calls: i64,
    pub no_answer_calls: i64,
    pub total_duration_seconds: i64,
    pub total_minutes_used: Minutes,
    pub total_cost: Money,
    pub total_recording_cost: Money,
    pub total_llm_discount: Money,
    pub filters: SummaryFilters,
}
