"""anthropic SDK, non-streaming: `messages.create` with tools, and `messages.count_tokens`
(which must be a real estimate on a backend that has no such endpoint)."""

import anthropic

from common import EXPECT, GATEWAY, calls_expected, check

client = anthropic.Anthropic(base_url=GATEWAY, api_key="sk-ant-test", max_retries=0)
tools = [{"name": "get_weather", "description": "Current weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
message = client.messages.create(
    model="claude-sonnet-4-5", max_tokens=512, tools=tools,
    system=[{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
    messages=[{"role": "user", "content": "Weather in Paris and Oslo?"}])
print(message.model_dump_json(indent=1))
check(message.stop_reason == "tool_use", "stop_reason tool_use", message.stop_reason)
got = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
check(got == [tuple(c) for c in calls_expected()], "tool_use blocks", got)
check(message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0) == EXPECT["input_tokens"],
      "input tokens (uncached + cache reads)", message.usage)

short = client.messages.count_tokens(model="claude-sonnet-4-5",
                                     messages=[{"role": "user", "content": "Hello"}])
long = client.messages.count_tokens(model="claude-sonnet-4-5", system="You are terse. " * 50, tools=tools,
                                    messages=[{"role": "user", "content": "Hello " * 200}])
print("count_tokens:", short.input_tokens, long.input_tokens)
check(short.input_tokens > 0, "count_tokens is never zero", short)
check(long.input_tokens > short.input_tokens + 200, "count_tokens grows with the request", long)
