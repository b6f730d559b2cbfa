"""Plays a voice agent's spans through the real OpenTelemetry Python SDK.

A scene is a tree of spans with explicit times (seconds from the scene's base instant) and
attributes in the order the framework sets them. `play` creates them with a real
`TracerProvider` (the tracer scope each framework uses), ends them in the order of their end
times, and exports them with the SDK's `OTLPSpanExporter` (protobuf) or with the JSON
exporter below, configured only through `OTEL_EXPORTER_OTLP_ENDPOINT` and
`OTEL_EXPORTER_OTLP_HEADERS`, as a user's process would be.

Delivery, as exporters deliver: `batch` (the default) is a `BatchSpanProcessor` flushed
every 5 s of the scene's time (the SDK's default schedule), so turns and service spans
arrive in requests long before their root; `simple` exports each span alone as it ends.
`--duplicate` sends every export request twice (a retry after a lost answer); `--until`
stops the scene midway (the call goes on: its open spans are never sent). Ids come
from a seeded generator, so running a scene again with the same seed sends the very same
spans again.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.util.re import parse_env_headers

# Seconds of scene time between two batch exports (BatchSpanProcessor's default
# schedule_delay_millis is 5000).
FLUSH_EVERY = 5.0


@dataclass
class S:
    """A span of a scene: name, tracer scope, start and end (seconds from the base), the
    attributes set at start and those set later (before the end), and its children."""

    name: str
    scope: str
    start: float
    end: float
    attrs: dict[str, Any] = field(default_factory=dict)
    late: dict[str, Any] = field(default_factory=dict)
    children: list[S] = field(default_factory=list)


@dataclass
class Scene:
    """One trace: its root span and the base instant (Unix seconds, may be fractional)."""

    root: S
    base: float


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator: the same seed, the same ids."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1

    def is_trace_id_random(self) -> bool:
        return True


class Recording(SpanExporter):
    """Wraps an exporter: counts requests and failures, and with `twice` sends each
    request a second time."""

    def __init__(self, inner: SpanExporter, twice: bool) -> None:
        self.inner = inner
        self.twice = twice
        self.requests = 0
        self.failures = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = SpanExportResult.SUCCESS
        for _ in range(2 if self.twice else 1):
            self.requests += 1
            if self.inner.export(spans) is not SpanExportResult.SUCCESS:
                self.failures += 1
                result = SpanExportResult.FAILURE
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids
    as hex."""
    if isinstance(value, dict):
        return {
            k: (
                base64.b64decode(v).hex()
                if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
                else _hex_ids(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The OTLP/JSON body of an export request: the exporter's own protobuf message
    (`encode_spans`) in protobuf's JSON mapping (lowerCamelCase keys, 64-bit integers as
    decimal strings), enums as integers and ids as hex, as the OTLP spec asks."""
    message = encode_spans(spans)
    return _hex_ids(
        MessageToDict(
            message,
            use_integers_for_enums=True,
            preserving_proto_field_name=False,
        )
    )


class OTLPJsonSpanExporter(SpanExporter):
    """OTLP/HTTP with `Content-Type: application/json` (the Python SDK only sends
    protobuf), configured from the same environment variables as the SDK's exporter."""

    def __init__(self) -> None:
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
        self.endpoint = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", base.removesuffix("/") + "/v1/traces"
        )
        self.headers = dict(
            parse_env_headers(os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""), liberal=True)
        )
        self.headers["Content-Type"] = "application/json"
        self.session = requests.Session()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        body = json.dumps(otlp_json(spans)).encode()
        response = self.session.post(self.endpoint, data=body, headers=self.headers, timeout=10)
        if response.status_code != 200:
            print(f"export failed: {response.status_code} {response.text}", file=sys.stderr)
            return SpanExportResult.FAILURE
        answer = response.json()
        if answer.get("partialSuccess"):
            print(f"partial success: {answer['partialSuccess']}", file=sys.stderr)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.session.close()


class MetadataSpanProcessor(SpanProcessor):
    """LiveKit Agents' `_MetadataSpanProcessor`, which
    `livekit.agents.telemetry.set_tracer_provider(provider, metadata=...)` adds: the
    metadata on every span as it starts."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata

    def on_start(self, span, parent_context=None) -> None:
        span.set_attributes(self.metadata)


def ns(base: float, seconds: float) -> int:
    """An instant as Unix nanoseconds, exact to the microsecond."""
    return round(base * 1_000_000) * 1000 + round(seconds * 1_000_000) * 1000


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--base", type=float, required=True, help="the call's start, Unix s")
    parser.add_argument("--seed", type=int, default=1, help="seeds trace and span ids")
    parser.add_argument("--encoding", choices=["protobuf", "json"], default="protobuf")
    parser.add_argument("--delivery", choices=["batch", "simple"], default="batch")
    parser.add_argument("--duplicate", action="store_true", help="send every request twice")
    parser.add_argument(
        "--until",
        type=float,
        help="stop at this second of the scene: spans still open then are never sent (a "
        "call still going on)",
    )
    return parser


def play(
    scenes: list[Scene],
    args: argparse.Namespace,
    resource: Resource,
    processors: Sequence[SpanProcessor] = (),
) -> None:
    """Creates every scene's spans with the SDK, ends them by end time (scenes interleave)
    and exports them as `args` says; exits non-zero when an export failed."""
    inner: SpanExporter = (
        OTLPJsonSpanExporter() if args.encoding == "json" else OTLPSpanExporter()
    )
    exporter = Recording(inner, args.duplicate)
    provider = TracerProvider(resource=resource, id_generator=SeededIds(args.seed))
    for processor in processors:
        provider.add_span_processor(processor)
    if args.delivery == "batch":
        processor: SpanProcessor = BatchSpanProcessor(
            exporter, schedule_delay_millis=3_600_000, max_export_batch_size=512
        )
    else:
        processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)

    # Start every span (parents first, each in its parent's context), then end them all in
    # the order of their end instants, flushing at each FLUSH_EVERY of scene time.
    ends: list[tuple[int, int, trace.Span, S]] = []

    def start(spec: S, base: float, parent: trace.Span | None) -> None:
        tracer = provider.get_tracer(spec.scope)
        context = trace.set_span_in_context(parent) if parent is not None else None
        span = tracer.start_span(
            spec.name, context=context, start_time=ns(base, spec.start), attributes=spec.attrs
        )
        ends.append((ns(base, spec.end), len(ends), span, spec))
        for child in spec.children:
            start(child, base, span)

    for scene in scenes:
        start(scene.root, scene.base, None)
    ends.sort(key=lambda e: (e[0], -e[1]))
    first = min(ns(scene.base, scene.root.start) for scene in scenes)
    next_flush = first + int(FLUSH_EVERY * 1e9)
    stop = None if args.until is None else ns(scenes[0].base, args.until)
    ended = 0
    for end, _, span, spec in ends:
        if stop is not None and end > stop:
            break
        ended += 1
        while args.delivery == "batch" and end >= next_flush:
            provider.force_flush()
            next_flush += int(FLUSH_EVERY * 1e9)
        for key, value in spec.late.items():
            span.set_attribute(key, value)
        span.end(end_time=end)
    provider.force_flush()
    provider.shutdown()
    print(
        f"exported {ended} spans in {exporter.requests} requests "
        f"({args.encoding}, {args.delivery}{', each twice' if args.duplicate else ''})"
    )
    if exporter.failures:
        print(f"{exporter.failures} export requests failed", file=sys.stderr)
        sys.exit(1)
