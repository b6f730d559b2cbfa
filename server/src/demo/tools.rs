//! The tools the demo assistants call, with arguments and results drawn from the call's
//! facts so a transcript's tool calls agree with what was said.

use callscope_shared::ToolCall;
use serde_json::json;

use super::facts::Facts;

/// A tool an assistant line may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    GetPolicy,
    CreateClaim,
    LookupCustomer,
    LookupBooking,
    CheckAvailability,
    UpdateBooking,
    CheckBalance,
    GetInvoice,
    CreateTicket,
    SetPaymentPlan,
    SendSms,
    TransferCall,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::GetPolicy => "get_policy",
            Tool::CreateClaim | Tool::CreateTicket => "create_ticket",
            Tool::LookupCustomer => "lookup_customer",
            Tool::LookupBooking => "lookup_booking",
            Tool::CheckAvailability => "check_availability",
            Tool::UpdateBooking => "update_booking",
            Tool::CheckBalance => "check_balance",
            Tool::GetInvoice => "get_invoice",
            Tool::SetPaymentPlan => "set_payment_plan",
            Tool::SendSms => "send_sms",
            Tool::TransferCall => "transfer_call",
        }
    }

    /// The call as the LLM made it, with what the tool returned. `transfer_to` is the
    /// agent's human team, for `TransferCall`.
    pub fn call(self, f: &Facts, transfer_to: &str) -> ToolCall {
        let (arguments, result) = match self {
            Tool::GetPolicy => (
                json!({ "policy_number": f.policy }),
                json!({ "status": "active", "holder": f.name(), "deductible": f.deductible })
                    .to_string(),
            ),
            Tool::CreateClaim => (
                json!({ "type": "claim", "policy_number": f.policy, "callback": f.alt }),
                json!({ "reference": f.claim, "assessor_within_days": 2 }).to_string(),
            ),
            Tool::LookupCustomer => (
                json!({ "phone": f.caller }),
                json!({ "name": f.name(), "email": f.email }).to_string(),
            ),
            Tool::LookupBooking => (
                json!({ "reference": f.booking }),
                json!({ "property": f.property, "guests": f.guests, "status": "confirmed" })
                    .to_string(),
            ),
            Tool::CheckAvailability => (
                json!({ "property": f.property, "check_in": f.check_in, "nights": f.nights }),
                json!({ "available": true, "price_difference": f.amount }).to_string(),
            ),
            Tool::UpdateBooking => (
                json!({ "reference": f.booking, "check_in": f.check_in, "nights": f.nights }),
                "updated".to_owned(),
            ),
            Tool::CheckBalance => (
                json!({ "account_number": f.account_digits() }),
                json!({ "balance": f.amount, "due": f.due_date }).to_string(),
            ),
            Tool::GetInvoice => (
                json!({ "invoice_id": f.invoice }),
                json!({ "estimated_reading": true, "total": f.amount }).to_string(),
            ),
            Tool::CreateTicket => (
                json!({ "type": "support", "account_number": f.account_digits() }),
                json!({ "ticket": f.ticket }).to_string(),
            ),
            Tool::SetPaymentPlan => (
                json!({ "account_number": f.account_digits(), "instalments": 3 }),
                "plan created".to_owned(),
            ),
            Tool::SendSms => (
                json!({ "to": f.alt, "template": "summary" }),
                "queued".to_owned(),
            ),
            Tool::TransferCall => (
                json!({ "destination": transfer_to }),
                "transfer initiated".to_owned(),
            ),
        };
        ToolCall {
            name: self.name().to_owned(),
            arguments,
            result: Some(result),
        }
    }
}
