"""Sends a call traced as Pipecat 1.x traces it, through the real OpenTelemetry SDK.

Shapes (pipecat-ai 1.7 `src/pipecat/utils/tracing/`): `setup_tracing()`'s resource; tracer
`pipecat.turn` for `conversation` (root, started at the pipeline's StartFrame, ended when
the task cleans up: last) and `turn` (turn 1 starts with the pipeline and is the bot's
greeting; later turns start when the user starts speaking and end when the user speaks
again or 2.5 s after the bot stopped); tracer `pipecat` for `stt` (from the start of speech
to the finalized transcript), `llm` (one per inference; a function call leaves no span of
its own: it shows in the next `llm` span's `input`), `tts` (from the audio context's
creation to TTSStoppedFrame, or the interruption, which sets `tts.interrupted`).
Attributes by name, type and the order the framework sets them; `metrics.ttfb` in seconds
(PipelineParams(enable_metrics=True)).

Scene (seconds from --base): a greeting; a question answered with a tool call
(`get_policy_status`); a reply the caller interrupts; a goodbye. `--interleave` plays a
second, shorter call starting 2.5 s later in the same process, its spans exported in the
same requests as the first call's.

Usage: OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT \\
       OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer%20TOKEN' \\
       python pipecat_trace.py --base 1768471200 [--conversation-id ID] \\
           [--attr callscope.agent_id=agent_… --attr callscope.from_number=+31… …]
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from opentelemetry.sdk.resources import Resource

from otlp_common import S, Scene, arguments, play

SYSTEM = (
    "You are Ava, the phone assistant of Acme Insurance. Keep answers short: they are "
    "spoken. Use get_policy_status to look policies up."
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_policy_status",
            "description": "The status of a policy by its number.",
            "parameters": {
                "type": "object",
                "properties": {"policy_number": {"type": "string"}},
                "required": ["policy_number"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "end_call",
            "description": "Ends the call after the goodbye.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


def stt(start: float, end: float, transcript: str, ttfb: float) -> S:
    return S(
        "stt",
        "pipecat",
        start,
        end,
        attrs={
            "gen_ai.provider.name": "deepgram",
            "gen_ai.request.model": "nova-3-general",
            "gen_ai.operation.name": "stt",
            "vad_enabled": False,
            "settings.model": "nova-3-general",
            "settings.language": "en-US",
        },
        late={
            "transcript": transcript,
            "is_final": True,
            "language": "en-US",
            "metrics.ttfb": ttfb,
            "metrics.audio_seconds": round(end - start, 3),
        },
    )


def llm(
    start: float,
    end: float,
    messages: list[dict[str, Any]],
    ttfb: float,
    output: str | None,
    tokens: tuple[int, int],
) -> S:
    late: dict[str, Any] = {
        "gen_ai.usage.input_tokens": tokens[0],
        "gen_ai.usage.output_tokens": tokens[1],
    }
    if output:
        late["output"] = output
    late["metrics.ttfb"] = ttfb
    return S(
        "llm",
        "pipecat",
        start,
        end,
        attrs={
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4.1-mini",
            "gen_ai.operation.name": "chat",
            "gen_ai.output.type": "text",
            "stream": True,
            "input": json.dumps(messages),
            "tools": json.dumps(TOOLS),
            "tool_count": len(TOOLS),
            "gen_ai.system_instructions": SYSTEM,
            "gen_ai.request.temperature": 0.7,
            "param.model": "gpt-4.1-mini",
        },
        late=late,
    )


def tts(start: float, end: float, text: str, ttfb: float, interrupted: bool = False) -> S:
    late: dict[str, Any] = {
        "text": text,
        "metrics.character_count": len(text),
        "metrics.ttfb": ttfb,
    }
    if interrupted:
        late["tts.interrupted"] = True
    return S(
        "tts",
        "pipecat",
        start,
        end,
        attrs={
            "gen_ai.provider.name": "cartesia",
            "gen_ai.request.model": "sonic-2",
            "gen_ai.operation.name": "tts",
            "gen_ai.output.type": "speech",
            "voice_id": "71a7ad14-091c-4e8e-a314-022ece01c121",
            "settings.model": "sonic-2",
            "settings.voice": "71a7ad14-091c-4e8e-a314-022ece01c121",
        },
        late=late,
    )


def turn(
    number: int,
    conversation_id: str,
    start: float,
    end: float,
    children: list[S],
    interrupted: bool = False,
    latency: float | None = None,
) -> S:
    late: dict[str, Any] = {}
    if latency is not None:
        late["turn.user_bot_latency_seconds"] = latency
    late["turn.duration_seconds"] = round(end - start, 6)
    late["turn.was_interrupted"] = interrupted
    return S(
        "turn",
        "pipecat.turn",
        start,
        end,
        attrs={
            "turn.number": number,
            "turn.type": "conversation",
            "conversation.id": conversation_id,
        },
        late=late,
        children=children,
    )


def conversation(
    conversation_id: str, extra: dict[str, Any], start: float, end: float, turns: list[S]
) -> S:
    return S(
        "conversation",
        "pipecat.turn",
        start,
        end,
        attrs={"conversation.id": conversation_id, "conversation.type": "voice", **extra},
        children=turns,
    )


def main_call(conversation_id: str, extra: dict[str, Any]) -> S:
    """A greeting, a tool call, an interrupted reply, a goodbye (33.6 s)."""
    m: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "system", "content": "Greet the caller and ask how you can help."},
    ]
    greeting = "Hello, thanks for calling Acme Insurance. How can I help you today?"
    t1 = turn(
        1,
        conversation_id,
        0.30,
        7.10,
        [
            llm(0.35, 1.30, list(m), 0.42, greeting, (118, 16)),
            tts(0.90, 4.60, greeting, 0.18),
        ],
    )
    m.append({"role": "assistant", "content": greeting})
    question = "I'd like to check the status of my policy, P-1234."
    m.append({"role": "user", "content": question})
    call = {
        "id": "call_Q8bY3kW1nR5tL0mA",
        "function": {
            "name": "get_policy_status",
            "arguments": json.dumps({"policy_number": "P-1234"}),
        },
        "type": "function",
    }
    asked = list(m)
    m.append({"role": "assistant", "tool_calls": [call]})
    result = json.dumps({"status": "active", "paid_through": "2026-03-31"})
    m.append({"role": "tool", "content": result, "tool_call_id": call["id"]})
    answer = "Your policy P-1234 is active and paid through the end of March."
    t2 = turn(
        2,
        conversation_id,
        8.00,
        19.50,
        [
            stt(7.80, 10.90, question, 0.21),
            llm(11.00, 11.90, asked, 0.38, None, (161, 21)),
            llm(12.60, 13.80, list(m), 0.41, answer, (214, 17)),
            tts(13.10, 16.00, answer, 0.20),
        ],
        latency=2.62,
    )
    m.append({"role": "assistant", "content": answer})
    deductible = "And what is my deductible?"
    m.append({"role": "user", "content": deductible})
    long_answer = (
        "Your deductible is 500 euros per claim. For windscreen damage there is a separate "
        "arrangement, where the first repair is free if you use one of our partner garages."
    )
    t3 = turn(
        3,
        conversation_id,
        19.50,
        25.00,
        [
            stt(19.30, 21.00, deductible, 0.19),
            llm(21.10, 22.40, list(m), 0.35, long_answer, (236, 38)),
            tts(21.60, 25.00, long_answer, 0.19, interrupted=True),
        ],
        interrupted=True,
        latency=0.95,
    )
    m.append({"role": "assistant", "content": "Your deductible is 500 euros per claim."})
    thanks = "Okay, that's all, thanks."
    m.append({"role": "user", "content": thanks})
    goodbye = "You're welcome. Goodbye!"
    t4 = turn(
        4,
        conversation_id,
        25.00,
        32.00,
        [
            stt(24.80, 26.50, thanks, 0.18),
            llm(26.60, 27.30, list(m), 0.33, goodbye, (262, 7)),
            tts(27.00, 28.40, goodbye, 0.17),
        ],
        latency=0.71,
    )
    return conversation(conversation_id, extra, 0.25, 33.60, [t1, t2, t3, t4])


def short_call(conversation_id: str, extra: dict[str, Any]) -> S:
    """A second caller reporting a broken window (16.4 s)."""
    m: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "system", "content": "Greet the caller and ask how you can help."},
    ]
    greeting = "Good afternoon, you're through to Acme claims."
    t1 = turn(
        1,
        conversation_id,
        0.05,
        5.90,
        [
            llm(0.10, 0.80, list(m), 0.36, greeting, (118, 11)),
            tts(0.50, 3.40, greeting, 0.16),
        ],
    )
    m.append({"role": "assistant", "content": greeting})
    report = "I want to report a broken window."
    m.append({"role": "user", "content": report})
    opened = "I've opened claim C-77 for the broken window."
    t2 = turn(
        2,
        conversation_id,
        6.20,
        15.00,
        [
            stt(6.00, 8.40, report, 0.24),
            llm(8.50, 9.30, list(m), 0.31, opened, (140, 12)),
            tts(8.90, 11.60, opened, 0.15),
        ],
        latency=0.88,
    )
    return conversation(conversation_id, extra, 0.00, 16.40, [t1, t2])


def pairs(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in values:
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--conversation-id", help="PipelineTask(conversation_id=...)")
    parser.add_argument(
        "--attr", action="append", default=[], help="additional_span_attributes K=V"
    )
    parser.add_argument("--interleave", action="store_true", help="a second call alongside")
    parser.add_argument("--conversation-id-2")
    parser.add_argument("--attr-2", action="append", default=[])
    args = parser.parse_args()

    def conversation_id(given: str | None, n: int) -> str:
        # Pipecat's own default is a random UUID; seeded here so a rerun is the same trace.
        return given or str(uuid.UUID(int=args.seed * 1000 + n, version=4))

    # setup_tracing(service_name, exporter=...)'s resource.
    resource = Resource.create(
        {
            "service.name": "acme-voice-bot",
            "service.instance.id": "unknown",
            "deployment.environment": "development",
        }
    )
    scenes = [Scene(main_call(conversation_id(args.conversation_id, 1), pairs(args.attr)), args.base)]
    if args.interleave:
        scenes.append(
            Scene(
                short_call(conversation_id(args.conversation_id_2, 2), pairs(args.attr_2)),
                args.base + 2.5,
            )
        )
    play(scenes, args, resource)


if __name__ == "__main__":
    main()
