//! What the demo assistants and their callers say: per business, a greeting, opening
//! requests, "beats" (short exchanges that belong together, kept in order), and goodbyes.
//! `{placeholders}` are filled from the call's facts (see `Facts::lookup`) and the agent.

use super::tools::Tool;

/// One exchange: the assistant says `ask` (calling `tools`), the caller answers `reply`.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub ask: &'static str,
    pub tools: &'static [Tool],
    pub reply: &'static str,
}

const fn step(ask: &'static str, tools: &'static [Tool], reply: &'static str) -> Step {
    Step { ask, tools, reply }
}

/// A business's conversation material.
#[derive(Debug)]
pub struct Script {
    pub company: &'static str,
    pub greetings: &'static [&'static str],
    /// (intent tag for extracted_data, the caller's opening line)
    pub intents: &'static [(&'static str, &'static str)],
    pub beats: &'static [&'static [Step]],
    pub voicemail: &'static str,
}

use Tool::*;

pub static CLAIMS: Script = Script {
    company: "Tulip Insurance",
    greetings: &[
        "Hello, you're through to {company} claims. I'm the {agent}. How can I help you today?",
        "Good day, this is the {agent} at {company}. What can I do for you?",
    ],
    intents: &[
        (
            "file_claim",
            "Hi, I need to report water damage in my kitchen. A pipe burst {date}.",
        ),
        (
            "file_claim",
            "Hello, someone reversed into my car in a car park and I'd like to make a claim.",
        ),
        (
            "file_claim",
            "Hi, the hailstorm {date} left dents all over my car. Can I claim for that?",
        ),
        (
            "file_claim",
            "My phone was stolen on holiday in {city}, and I think my travel insurance covers it.",
        ),
    ],
    beats: &[
        &[
            step(
                "I'm sorry to hear that. Can I have your policy number, please?",
                &[],
                "Yes, it's {policy}.",
            ),
            step(
                "Thank you, one moment while I pull up your policy.",
                &[GetPolicy],
                "Sure, no problem.",
            ),
        ],
        &[step(
            "I can see the policy for {name}. For security, can you confirm the phone number we have on file?",
            &[],
            "It should be {caller}.",
        )],
        &[
            step(
                "Thanks, that matches. When exactly did this happen?",
                &[],
                "It was {date}, around eight in the evening.",
            ),
            step(
                "Has anyone been injured, or is anyone in danger right now?",
                &[],
                "No, nobody is hurt, thankfully.",
            ),
        ],
        &[step(
            "Good. Could you describe briefly what happened?",
            &[],
            "It all went quite fast, honestly. I took some photos of the damage straight away.",
        )],
        &[
            step(
                "Photos help a lot. I'm opening a claim for you now.",
                &[CreateClaim],
                "Great. What happens next?",
            ),
            step(
                "Your claim reference is {claim}. An assessor will contact you within two working days. What's the best number to reach you on?",
                &[],
                "Best to use my mobile, {alt}.",
            ),
        ],
        &[step(
            "Your policy has a deductible of {deductible}. Is it okay if I note that you've been told?",
            &[],
            "Yes, that's fine.",
        )],
        &[step(
            "Do you need emergency repairs or a replacement vehicle arranged?",
            &[],
            "Not right now, I think I can manage for a few days.",
        )],
        &[step(
            "Which bank account should any payment go to?",
            &[],
            "The same one as always, account number {account}.",
        )],
        &[step(
            "I'll text you a summary with the claim reference.",
            &[SendSms],
            "Thank you, that's helpful.",
        )],
    ],
    voicemail: "Hi {first_name}, this is {company} about your claim {claim}. Please call us back on {agent_phone}. Thank you, goodbye.",
};

pub static BOOKING: Script = Script {
    company: "Seaview Stays",
    greetings: &[
        "Good morning, {company} booking desk, this is the virtual assistant. How can I help?",
        "Hi, thanks for calling {company}, you're speaking with the virtual assistant. What can I do for you?",
    ],
    intents: &[
        (
            "change_booking",
            "Hi, I'd like to change the dates of my booking, the reference is {booking}.",
        ),
        (
            "change_booking",
            "Hello, something came up at work and we need to move our stay to later dates.",
        ),
        (
            "change_booking",
            "Hi, can we shift booking {booking} by a week? And is parking included?",
        ),
    ],
    beats: &[
        &[
            step(
                "Of course. Can I take your booking reference or the name on the booking?",
                &[],
                "The reference is {booking}, under the name {name}.",
            ),
            step(
                "One moment while I look that up.",
                &[LookupBooking],
                "Sure.",
            ),
            step(
                "I've found it: {property} in {city}, {guests} guests. Is that the right one?",
                &[],
                "Yes, that's the one.",
            ),
        ],
        &[
            step(
                "Which dates would you like instead?",
                &[],
                "Arriving {check_in} if possible, for {nights} nights.",
            ),
            step(
                "Let me check availability for those dates.",
                &[CheckAvailability],
                "Okay, thanks.",
            ),
            step(
                "Good news, {property} is free then. The price difference is {amount}. Shall I go ahead?",
                &[],
                "Yes, please go ahead.",
            ),
            step(
                "Done, your booking is updated.",
                &[UpdateBooking],
                "Perfect.",
            ),
        ],
        &[step(
            "Can I confirm a mobile number for the check-in instructions?",
            &[],
            "Sure, it's {alt}.",
        )],
        &[step(
            "Will you be bringing any pets?",
            &[],
            "No pets this time, just the kids.",
        )],
        &[step(
            "Parking is included, one space per house. Any questions about arrival?",
            &[],
            "What time can we check in?",
        )],
        &[step(
            "Check-in is from three in the afternoon and check-out by ten. The key box code comes by text the day before.",
            &[],
            "Great, that works for us.",
        )],
        &[step(
            "I'll send the new confirmation by text now.",
            &[SendSms],
            "Thanks. Could it also go to my email?",
        )],
    ],
    voicemail: "Hello {first_name}, this is {company} about your stay at {property}, booking {booking}. Please call us back on {agent_phone}. Have a nice day.",
};

pub static BILLING: Script = Script {
    company: "Northwind Energy",
    greetings: &[
        "Hi, thanks for calling {company} billing support. I'm an automated assistant. What can I do for you?",
        "Hello, {company} billing, you're speaking with the automated assistant. How can I help?",
    ],
    intents: &[
        (
            "billing_question",
            "Hi, my last bill is a lot higher than usual and I don't understand why.",
        ),
        (
            "payment_plan",
            "Hello, I'm struggling to pay this month's bill. Can I set up a payment plan?",
        ),
        (
            "billing_question",
            "Hi, this month's bill for account {account} looks wrong, it's almost double.",
        ),
    ],
    beats: &[
        &[
            step(
                "I can help with that. Could you give me your account number?",
                &[],
                "Yes, it's {account}.",
            ),
            step(
                "Thanks. Let me check your account.",
                &[LookupCustomer, CheckBalance],
                "Okay.",
            ),
        ],
        &[step(
            "For security, can you confirm the phone number on the account?",
            &[],
            "That's {caller}.",
        )],
        &[step(
            "Your current balance is {amount}, due on {due_date}.",
            &[],
            "That's more than I expected, to be honest.",
        )],
        &[
            step(
                "Let me pull up your latest invoice.",
                &[GetInvoice],
                "Sure.",
            ),
            step(
                "Invoice {invoice} uses an estimated meter reading. Would you like to give me an actual reading?",
                &[],
                "Yes, the meter says {meter}.",
            ),
            step(
                "Thanks, I've logged that reading and asked for the bill to be recalculated.",
                &[CreateTicket],
                "How long will that take?",
            ),
            step(
                "Usually three to five working days, and you'll get an updated invoice by email. Your ticket number is {ticket}.",
                &[],
                "Okay, that's fine.",
            ),
        ],
        &[
            step(
                "Would you like me to spread the remaining amount over three months?",
                &[],
                "Yes, that would really help.",
            ),
            step(
                "Done, I've set up a plan of three instalments.",
                &[SetPaymentPlan],
                "Thank you.",
            ),
        ],
        &[step(
            "If we need to reach you, is {caller} still the best number?",
            &[],
            "Actually, use {alt} instead, that's my work phone.",
        )],
        &[step(
            "Is your direct debit still taken from the account ending in {account_tail}?",
            &[],
            "No, please use my new account, {iban}.",
        )],
        &[step(
            "I'll text you a summary of today's changes.",
            &[SendSms],
            "Yes, please.",
        )],
    ],
    voicemail: "Hi {first_name}, this is {company} calling about invoice {invoice}. Please call us back on {agent_phone}. Thank you, goodbye.",
};

/// Exchanges that fit any business, used after the business's own beats.
pub static GENERIC: &[&[Step]] = &[
    &[
        step(
            "Just to double-check, I have your name as {name}. Is that correct?",
            &[],
            "Yes, that's right.",
        ),
        step(
            "Could you spell your last name for me?",
            &[],
            "Sure: {spelled}.",
        ),
    ],
    &[step(
        "Is the email address {email} still correct?",
        &[],
        "Yes, that's still my email.",
    )],
    &[step(
        "Sorry, the line broke up a little. Could you repeat your number?",
        &[],
        "I said you can reach me on {alt}.",
    )],
    &[
        step(
            "Is there anything else I can help you with while I have you?",
            &[],
            "Actually, yes, one more thing.",
        ),
        step(
            "Of course, go ahead.",
            &[],
            "Can you note that I prefer to be called in the afternoon?",
        ),
        step("I've added that to your file.", &[], "Great, thanks."),
    ],
    &[step(
        "Is there a good time for a follow-up call?",
        &[],
        "Mornings are best, before ten.",
    )],
    &[step("Thanks for your patience.", &[], "No problem at all.")],
];

/// The assistant ends a conversation that went well.
pub static CLOSINGS: &[&str] = &[
    "You're all set. Thanks for calling {company}, and have a nice day!",
    "Everything is taken care of. Thank you for calling, goodbye.",
    "Glad I could help. Take care, goodbye!",
];

/// The caller's last words before hanging up.
pub static BYES: &[&str] = &[
    "Thanks, bye!",
    "Great, thank you. Bye.",
    "Perfect, thanks for your help.",
];

/// The assistant gives up on a silent line.
pub static STILL_THERE: &[&str] = &[
    "Are you still there? I haven't heard anything for a while, so I'll end the call now. Feel free to call back anytime.",
    "Hello? It seems we've lost each other. I'll hang up now; please call us again if you need anything.",
];

/// The caller asks for a human before a transfer.
pub static ASK_HUMAN: &[&str] = &[
    "Actually, could I speak to a person about this?",
    "I'd rather talk to someone in the team, please.",
];

/// The assistant hands over (with the transfer tool).
pub static TRANSFER: &[&str] = &[
    "Of course. I'll transfer you to a colleague now, please hold for a moment.",
    "No problem, I'm connecting you with our team. One moment, please.",
];

/// Outbound calls: the assistant's opener and the voicemail box's greeting.
pub static VOICEMAIL_OPENERS: &[&str] =
    &["Hello, this is the virtual assistant of {company}. Am I speaking with {first_name}?"];
pub static VOICEMAIL_GREETINGS: &[&str] = &[
    "Hi, you've reached {first_name}. I can't take your call right now, please leave a message after the tone.",
    "The person you are calling is not available. Please leave a message after the beep.",
];
