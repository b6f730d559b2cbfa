"""Sends a call traced as LiveKit Agents 1.7 traces it, through the real OpenTelemetry SDK.

Shapes (livekit-agents 1.7 `livekit/agents/telemetry/`, `voice/`): one tracer,
`livekit-agents`; `set_tracer_provider(provider, metadata={...})` puts the metadata on
every span as it starts (its `_MetadataSpanProcessor`, reproduced in otlp_common).
`agent_session` (root; ends when the session closes) > `start_agent_activity` > `on_enter`;
`user_turn` (from the start of speech to the committed turn) > `eou_detection`;
`agent_turn` (parented to the session) > `llm_node` > `llm_request`, `tts_node` >
`tts_request` (which carries `lk.pii.input_text`) > `tts_request_run`, `function_tool`.
A tool call is its own `agent_turn` (the LLM's function call and the tool's run); the
spoken answer to it is the next `agent_turn`. An interrupted reply has
`lk.interrupted = true` and its `tts_request` never gets its text. Content attributes under
1.7's `lk.pii.` names; latencies in seconds.

Scene (seconds from --base): a greeting (generate_reply in on_enter); a question answered
with a tool call (`lookup_policy`); a reply the caller interrupts; a goodbye.

Usage: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT \\
       OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer%20TOKEN' \\
       python livekit_trace.py --base 1768471200 --meta callscope.agent_id=agent_… …
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.resources import Resource

from otlp_common import MetadataSpanProcessor, S, Scene, arguments, play

LK = "livekit-agents"
INSTRUCTIONS = (
    "You are Ava, the phone assistant of Acme Insurance. Keep answers short: they are "
    "spoken. Use lookup_policy to look policies up."
)
PARTICIPANT = {
    "lk.participant_id": "PA_9rXkqTz3b7Ld",
    "lk.pii.participant_identity": "sip_+31612345678",
    "lk.participant_kind": "SIP",
}
AGENT = {
    "lk.participant_id": "PA_agent4Hq2Zm",
    "lk.pii.participant_identity": "agent-AJ_7fKd",
    "lk.participant_kind": "AGENT",
}


def chat_ctx(items: list[dict[str, Any]]) -> str:
    return json.dumps({"items": items})


def message(n: int, role: str, text: str, interrupted: bool = False) -> dict[str, Any]:
    return {
        "id": f"item_{n:04x}c9e1a2",
        "type": "message",
        "role": role,
        "content": [text],
        "interrupted": interrupted,
    }


def llm_node(
    start: float,
    end: float,
    items: list[dict[str, Any]],
    text: str,
    ttft: float,
    calls: list[dict[str, Any]] | None = None,
) -> S:
    return S(
        "llm_node",
        LK,
        start,
        end,
        attrs={
            "lk.pii.chat_ctx": chat_ctx(items),
            "lk.function_tools": ["lookup_policy"],
            "lk.provider_tools": [],
            "lk.tool_sets": [],
            "gen_ai.request.model": "gpt-4.1-mini",
            "gen_ai.provider.name": "openai",
        },
        late={
            "lk.pii.response.text": text,
            "lk.pii.response.function_calls": json.dumps(calls or []),
            "lk.response.ttft": ttft,
        },
        children=[
            S(
                "llm_request",
                LK,
                start + 0.01,
                end - 0.01,
                attrs={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4.1-mini",
                    "gen_ai.provider.name": "openai",
                },
                late={"gen_ai.usage.input_tokens": 180, "gen_ai.usage.output_tokens": 20},
            )
        ],
    )


def tts_node(start: float, end: float, text: str | None, ttfb: float) -> S:
    request_late = {"lk.pii.input_text": text} if text is not None else {}
    return S(
        "tts_node",
        LK,
        start,
        end,
        attrs={"gen_ai.request.model": "sonic-2", "gen_ai.provider.name": "cartesia"},
        late={"lk.response.ttfb": ttfb},
        children=[
            S(
                "tts_request",
                LK,
                start + 0.01,
                end - 0.05,
                attrs={"lk.tts.streaming": True, "lk.tts.label": "livekit.plugins.cartesia.TTS"},
                late=request_late,
                children=[
                    S("tts_request_run", LK, start + 0.02, end - 0.10, attrs={"lk.retry_count": 0})
                ],
            )
        ],
    )


def agent_turn(
    n: int,
    start: float,
    end: float,
    children: list[S],
    interrupted: bool = False,
    user_input: str | None = None,
    e2e: float | None = None,
) -> S:
    attrs: dict[str, Any] = {"lk.generation_id": f"gen_{n:02d}a7c3", "lk.speech_id": f"speech_{n:02d}f19b"}
    attrs["lk.pii.instructions"] = INSTRUCTIONS
    if user_input is not None:
        attrs["lk.pii.user_input"] = user_input
    attrs.update(AGENT)
    late: dict[str, Any] = {}
    if e2e is not None:
        late["lk.e2e_latency"] = e2e
    late["lk.interrupted"] = interrupted
    return S("agent_turn", LK, start, end, attrs=attrs, late=late, children=children)


def user_turn(start: float, end: float, transcript: str, delay: float) -> S:
    return S(
        "user_turn",
        LK,
        start,
        end,
        attrs={**PARTICIPANT, "gen_ai.request.model": "nova-3", "gen_ai.provider.name": "deepgram"},
        late={
            "lk.pii.user_transcript": transcript,
            "lk.transcript_confidence": 0.97,
            "lk.transcription_delay": delay,
            "lk.end_of_turn_delay": 0.52,
        },
        children=[
            S(
                "eou_detection",
                LK,
                end - 0.40,
                end - 0.05,
                attrs={"lk.eou.probability": 0.93, "lk.eou.unlikely_threshold": 0.15},
            )
        ],
    )


def session() -> S:
    items = [{"id": "item_instr", "type": "message", "role": "system", "content": [INSTRUCTIONS]}]
    greeting = "Hello, thanks for calling Acme Insurance. How can I help you today?"
    greet = agent_turn(
        1,
        0.62,
        5.10,
        [llm_node(0.63, 1.55, list(items), greeting, 0.47), tts_node(1.05, 4.90, greeting, 0.21)],
    )
    on_enter = S(
        "start_agent_activity",
        LK,
        0.45,
        0.60,
        attrs={"lk.agent_label": "Assistant"},
        children=[S("on_enter", LK, 0.55, 5.12, attrs={"lk.agent_label": "Assistant"})],
    )
    items.append(message(1, "assistant", greeting))
    question = "I'd like to check the status of my policy, P-1234."
    items.append(message(2, "user", question))
    arguments = json.dumps({"policy_number": "P-1234"})
    call = {
        "id": "item_fnc0/fnc_0",
        "call_id": "call_lk7Hq2mWp9",
        "name": "lookup_policy",
        "arguments": arguments,
        "extra": {},
        "group_id": None,
    }
    output = "Policy P-1234 is active, paid through 2026-03-31."
    tool = S(
        "function_tool",
        LK,
        9.12,
        9.55,
        attrs={
            "lk.function_tool.id": "call_lk7Hq2mWp9",
            "lk.function_tool.name": "lookup_policy",
            "lk.pii.function_tool.arguments": arguments,
        },
        late={"lk.pii.function_tool.output": output, "lk.function_tool.is_error": False},
    )
    lookup = agent_turn(
        2,
        8.32,
        9.60,
        [llm_node(8.33, 9.10, list(items), "", 0.45, [call]), tool],
        user_input=question,
    )
    items.append({"type": "function_call", **call})
    items.append(
        {
            "id": "item_fnc0_out",
            "type": "function_call_output",
            "name": "lookup_policy",
            "call_id": "call_lk7Hq2mWp9",
            "output": output,
            "is_error": False,
        }
    )
    answer = "Your policy P-1234 is active and paid through the end of March."
    reply = agent_turn(
        3,
        9.62,
        14.90,
        [llm_node(9.63, 10.70, list(items), answer, 0.52), tts_node(10.02, 14.70, answer, 0.19)],
        e2e=2.31,
    )
    items.append(message(3, "assistant", answer))
    deductible = "And what is my deductible?"
    items.append(message(4, "user", deductible))
    long_answer = (
        "Your deductible is 500 euros per claim. For windscreen damage there is a separate "
        "arrangement, where the first repair is free if you use one of our partner garages."
    )
    cut = agent_turn(
        4,
        17.62,
        22.40,
        [
            llm_node(17.63, 18.90, list(items), long_answer, 0.40),
            tts_node(18.05, 22.35, None, 0.20),
        ],
        interrupted=True,
        user_input=deductible,
        e2e=0.98,
    )
    items.append(message(5, "assistant", "Your deductible is 500 euros per claim.", True))
    thanks = "Okay, that's all, thanks."
    items.append(message(6, "user", thanks))
    goodbye = "You're welcome. Goodbye!"
    bye = agent_turn(
        5,
        24.12,
        27.40,
        [llm_node(24.13, 24.80, list(items), goodbye, 0.36), tts_node(24.55, 27.20, goodbye, 0.18)],
        user_input=thanks,
        e2e=0.91,
    )
    return S(
        "agent_session",
        LK,
        0.40,
        29.80,
        attrs={
            "lk.agent_label": "Assistant",
            "lk.pii.room_name": "call-_+31612345678_kQ3vX9",
            "lk.job_id": "AJ_7fKdWm2Lq9Zr",
            "lk.agent_name": "acme-inbound",
        },
        children=[
            on_enter,
            greet,
            user_turn(6.00, 8.30, question, 0.28),
            lookup,
            reply,
            user_turn(15.80, 17.60, deductible, 0.24),
            cut,
            user_turn(21.90, 24.10, thanks, 0.22),
            bye,
        ],
    )


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument(
        "--meta", action="append", default=[], help="set_tracer_provider metadata K=V"
    )
    args = parser.parse_args()
    metadata = dict(pair.partition("=")[::2] for pair in args.meta)
    resource = Resource.create({"service.name": "acme-livekit-agent"})
    play([Scene(session(), args.base)], args, resource, [MetadataSpanProcessor(metadata)])


if __name__ == "__main__":
    main()
