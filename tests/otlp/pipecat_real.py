"""A real Pipecat pipeline, traced, exporting to callscope (scripts/pipecat-real.sh runs it).

Pipecat's own OpenAI STT, LLM and TTS services (`OpenAISTTService`, `OpenAILLMService`,
`OpenAITTSService`) talk to a fake OpenAI-compatible server on 127.0.0.1 started here (the
"fake services": scripted transcripts, a streamed reply or function call, silent PCM), in
a `Pipeline` with Pipecat's context aggregators and a function handler, run by a
`PipelineTask(..., enable_tracing=True, conversation_id=<callscope call id>)` with
`PipelineParams(enable_metrics=True)` and `setup_tracing(...)` around the SDK's
`OTLPSpanExporter` (configured by OTEL_EXPORTER_OTLP_ENDPOINT / _HEADERS). No transport:
the caller's speech is injected as a transport and VAD would push it (VAD and
user-speaking frames around silent audio); a small processor plays the output transport's
part (bot started / stopped speaking). Everything else is Pipecat's.

Usage: python pipecat_real.py --call-id call_00000001 [--dump spans.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pipecat.adapters.schemas.function_schema import FunctionSchema
from pipecat.adapters.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    LLMRunFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openai.stt import OpenAISTTService
from pipecat.services.openai.tts import OpenAITTSService
from pipecat.turns.user_start import ExternalUserTurnStartStrategy
from pipecat.turns.user_stop import ExternalUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.utils.tracing.setup import setup_tracing

CALLER = [
    "I'd like to check the status of my policy, P-1234.",
    "Okay, that's all, thanks.",
]
GREETING = "Hello, thanks for calling Acme Insurance. How can I help you today?"
ANSWER = "Your policy P-1234 is active and paid through the end of March."
GOODBYE = "You're welcome. Goodbye!"


class FakeOpenAI:
    """The three OpenAI endpoints Pipecat's services call, scripted."""

    def __init__(self) -> None:
        self.transcripts = list(CALLER)

    async def transcriptions(self, request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(0.15)
        return web.json_response({"text": self.transcripts.pop(0) if self.transcripts else ""})

    async def speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        await asyncio.sleep(0.12)
        response = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        await response.prepare(request)
        # 24 kHz 16-bit mono silence, 60 ms per word.
        for _ in range(max(1, len(body["input"].split()))):
            await response.write(b"\0" * 2880)
        await response.write_eof()
        return response

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        messages = body["messages"]
        last = messages[-1]
        user_turns = [m for m in messages if m["role"] == "user"]
        await asyncio.sleep(0.3)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def chunk(delta: dict, finish: str | None = None) -> None:
            data = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "gpt-4.1-mini"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            await response.write(f"data: {json.dumps(data)}\n\n".encode())

        if last["role"] == "tool":
            words = ANSWER.split(" ")
        elif not user_turns:
            words = GREETING.split(" ")
        elif "policy" in str(last.get("content", "")):
            await chunk(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_Q8bY3kW1nR5tL0mA",
                            "type": "function",
                            "function": {
                                "name": "get_policy_status",
                                "arguments": json.dumps({"policy_number": "P-1234"}),
                            },
                        }
                    ],
                }
            )
            await chunk({}, "tool_calls")
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response
        else:
            words = GOODBYE.split(" ")
        await chunk({"role": "assistant", "content": ""})
        for i, word in enumerate(words):
            await chunk({"content": word if i == 0 else " " + word})
            await asyncio.sleep(0.02)
        await chunk({}, "stop")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def start(self) -> tuple[web.AppRunner, str]:
        app = web.Application()
        app.router.add_post("/v1/audio/transcriptions", self.transcriptions)
        app.router.add_post("/v1/audio/speech", self.speech)
        app.router.add_post("/v1/chat/completions", self.completions)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return runner, f"http://127.0.0.1:{port}/v1"


class Speaker(FrameProcessor):
    """The output transport's part: the bot starts speaking with the first audio of a
    reply and stops after its last."""

    def __init__(self) -> None:
        super().__init__()
        self.speaking = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame) and not self.speaking:
            self.speaking = True
            await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
            await self.push_frame(BotStartedSpeakingFrame())
        elif isinstance(frame, TTSStoppedFrame) and self.speaking:
            await asyncio.sleep(0.4)
            self.speaking = False
            await self.push_frame(BotStoppedSpeakingFrame(), FrameDirection.UPSTREAM)
            await self.push_frame(BotStoppedSpeakingFrame())


async def get_policy_status(params: FunctionCallParams) -> None:
    await asyncio.sleep(0.2)
    await params.result_callback({"status": "active", "paid_through": "2026-03-31"})


async def caller_says(task: PipelineTask) -> None:
    """What a transport with VAD pushes for 1.2 s of speech."""
    await task.queue_frames([VADUserStartedSpeakingFrame(start_secs=0.2), UserStartedSpeakingFrame()])
    for _ in range(60):
        await task.queue_frame(
            InputAudioRawFrame(audio=b"\0" * 640, sample_rate=16000, num_channels=1)
        )
        await asyncio.sleep(0.02)
    await task.queue_frames([VADUserStoppedSpeakingFrame(stop_secs=0.2), UserStoppedSpeakingFrame()])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--call-id", required=True)
    parser.add_argument("--dump", help="write the spans as sent (JSON) to this file")
    args = parser.parse_args()

    fake = FakeOpenAI()
    fake_runner, base_url = await fake.start()

    setup_tracing("acme-voice-bot", exporter=OTLPSpanExporter())
    memory = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))

    stt = OpenAISTTService(api_key="sk-fake", base_url=base_url)
    llm = OpenAILLMService(api_key="sk-fake", base_url=base_url, model="gpt-4.1-mini")
    tts = OpenAITTSService(api_key="sk-fake", base_url=base_url, voice="alloy")
    llm.register_function("get_policy_status", get_policy_status)
    tools = ToolsSchema(
        standard_tools=[
            FunctionSchema(
                name="get_policy_status",
                description="The status of a policy by its number.",
                properties={"policy_number": {"type": "string"}},
                required=["policy_number"],
            )
        ]
    )
    context = LLMContext(
        [
            {
                "role": "system",
                "content": "You are Ava, the phone assistant of Acme Insurance. Keep "
                "answers short. Use get_policy_status to look policies up.",
            },
            {"role": "system", "content": "Greet the caller and ask how you can help."},
        ],
        tools,
    )
    aggregators = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            user_turn_strategies=UserTurnStrategies(
                start=[ExternalUserTurnStartStrategy()], stop=[ExternalUserTurnStopStrategy()]
            )
        ),
    )
    pipeline = Pipeline([stt, aggregators.user(), llm, tts, Speaker(), aggregators.assistant()])
    task = PipelineTask(
        pipeline,
        params=PipelineParams(enable_metrics=True),
        enable_tracing=True,
        conversation_id=args.call_id,
        additional_span_attributes={"callscope.call_id": args.call_id},
    )

    async def conversation() -> None:
        await asyncio.sleep(0.5)
        await task.queue_frame(LLMRunFrame())
        await asyncio.sleep(4.0)
        for _ in CALLER:
            await caller_says(task)
            await asyncio.sleep(6.0)
        await task.queue_frame(EndFrame())

    runner = PipelineRunner(handle_sigint=False)
    await asyncio.gather(runner.run(task), conversation())
    trace.get_tracer_provider().shutdown()
    await fake_runner.cleanup()

    spans = sorted(memory.get_finished_spans(), key=lambda s: s.start_time)
    t0 = spans[0].start_time
    print(f"{len(spans)} spans exported:")
    for s in spans:
        parent = next((p.name for p in spans if s.parent and p.context.span_id == s.parent.span_id), "-")
        attrs = {k: v for k, v in s.attributes.items() if k not in ("input", "tools", "gen_ai.system_instructions")}
        print(
            f"  {s.name:<12} scope={s.instrumentation_scope.name:<12} parent={parent:<12} "
            f"+{(s.start_time - t0) / 1e9:6.2f}s..+{(s.end_time - t0) / 1e9:6.2f}s {attrs}"
        )
    if args.dump:
        with open(args.dump, "w") as f:
            json.dump([json.loads(s.to_json()) for s in spans], f, indent=1)


if __name__ == "__main__":
    asyncio.run(main())
