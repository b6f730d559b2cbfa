//! Every error message the API answers with, written once. The spec's messages are used
//! verbatim; the rest follow its style (a short sentence, no trailing period).

// The spec's own messages.
pub const CALL_NOT_FOUND: &str = "Call not found";
pub const DEBUG_LOG_NOT_AVAILABLE: &str = "Debug log not available";
pub const RECORDING_NOT_ENABLED: &str = "Recording was not enabled for this call";
pub const RECORDING_NOT_YET_AVAILABLE: &str = "Recording not yet available";
pub const CALL_NOT_IN_PROGRESS: &str = "Call is not in progress";
pub const CALL_NOT_ACTIVE: &str = "Call is not active";
pub const NO_CONTROL_CHANNEL: &str = "Call does not have an active control channel";
pub const DESTINATION_INVALID: &str = "destination must be a valid E.164 phone number";
pub const GATHER_IN_PROGRESS: &str = "A gather operation is already in progress for this call";
pub const GATHER_INITIATED: &str = "Gather initiated";

// Authentication.
pub const MISSING_API_KEY: &str = "Missing API key";
pub const INVALID_API_KEY: &str = "Invalid API key";
pub const ACCOUNT_SUSPENDED: &str = "Account suspended";

// Debug links.
pub const DEBUG_LINK_NOT_FOUND: &str = "Debug link not found";
pub const TOO_MANY_REQUESTS: &str = "Too many requests";
pub const TOO_MANY_STREAMS: &str = "Too many live streams open";
pub const VIEWER_NOT_BUILT: &str = "Viewer not built";

// Recordings.
pub const RECORDINGS_NOT_CONFIGURED: &str = "Recordings are not configured on this server";
pub const RECORDING_DELETED: &str = "Recording was deleted after its retention period";
/// Followed by the reason, written for the owner (`Recording failed: <reason>`).
pub const RECORDING_FAILED_PREFIX: &str = "Recording failed: ";

// Webhooks.
pub const WEBHOOK_NOT_FOUND: &str = "Webhook not found";
pub const WEBHOOK_DISABLED: &str = "Webhook endpoint is disabled";

// The pipeline API (operator-authenticated).
pub const PIPELINE_NOT_ENABLED: &str =
    "The pipeline API is not enabled (set CALLSCOPE_PIPELINE_TOKEN)";
pub const MISSING_PIPELINE_TOKEN: &str = "Missing pipeline token";
pub const INVALID_PIPELINE_TOKEN: &str = "Invalid pipeline token";
pub const CALL_HAS_ENDED: &str = "Call has ended";
pub const AGENT_NOT_FOUND: &str = "Agent not found";

// Live-call control (Telnyx).
pub const TELNYX_WEBHOOKS_NOT_CONFIGURED: &str =
    "Telnyx webhooks are not configured on this server (set CALLSCOPE_TELNYX_PUBLIC_KEY)";
pub const TRANSFER_IN_PROGRESS: &str = "A transfer is already in progress for this call";
/// Telnyx could not be reached for a command (5xx or no answer on every attempt); the
/// prefix names the command (`End failed: …`).
pub const TELNYX_UNAVAILABLE: &str = "Telnyx is unavailable";

// Lists.
pub const BAD_CURSOR: &str = "after must be a next_cursor value returned by this endpoint";

// Requests the framework refuses.
pub const NOT_FOUND: &str = "Not found";
pub const METHOD_NOT_ALLOWED: &str = "Method not allowed";
pub const BODY_TOO_LARGE: &str = "Request body too large";
pub const BODY_NOT_ALLOWED: &str = "This endpoint takes no request body";
pub const URI_TOO_LONG: &str = "Request URI too long";
pub const MALFORMED_REQUEST: &str = "Malformed HTTP request line";
pub const HEADERS_TOO_LARGE: &str = "Request headers too large";
pub const CONTENT_TYPE_JSON: &str = "Content-Type must be application/json";
pub const BODY_NOT_JSON: &str = "Request body is not valid JSON";
pub const REQUEST_TIMED_OUT: &str = "Request timed out";

// The server's own trouble.
pub const INTERNAL: &str = "Internal server error";
pub const SERVICE_UNAVAILABLE: &str = "Service temporarily unavailable";
pub const DATABASE_UNAVAILABLE: &str = "Database unavailable";
pub const LIVE_STORE_UNAVAILABLE: &str = "Live call store unavailable";
