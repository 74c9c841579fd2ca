"""openai SDK chat completions with tools: non-streaming, then streaming with
`stream_options.include_usage`, then the tool loop's second turn (role: tool messages)."""

import json

import openai

from common import EXPECT, GATEWAY, calls_expected, check

client = openai.OpenAI(base_url=GATEWAY + "/v1", api_key="sk-test", max_retries=0)
tools = [{"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}}}}]
messages = [{"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": "Weather in Paris and Oslo?"}]

completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
print(completion.model_dump_json(indent=1))
choice = completion.choices[0]
check(choice.finish_reason == "tool_calls", "finish_reason tool_calls", choice.finish_reason)
got = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls]
check(got == [tuple(c) for c in calls_expected()], "tool_calls", got)
check(choice.message.content == EXPECT["text"], "content", choice.message.content)
check(completion.usage.prompt_tokens == EXPECT["input_tokens"], "prompt_tokens", completion.usage)

stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools, stream=True,
                                        stream_options={"include_usage": True})
text, calls, finish, usage = "", {}, None, None
for chunk in stream:
    if chunk.usage:
        usage = chunk.usage
    for c in chunk.choices:
        text += c.delta.content or ""
        for tc in c.delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            if tc.function and tc.function.name:
                slot["name"] = tc.function.name
            slot["arguments"] += (tc.function.arguments or "") if tc.function else ""
        finish = c.finish_reason or finish
got = [(c["id"], c["name"], json.loads(c["arguments"])) for _, c in sorted(calls.items())]
check(got == [tuple(c) for c in calls_expected()], "streamed tool_calls", got)
check(text == EXPECT["text"], "streamed content", text)
check(finish == "tool_calls", "streamed finish_reason", finish)
check(usage is not None and usage.prompt_tokens == EXPECT["input_tokens"], "usage chunk", usage)

messages.append(choice.message.model_dump(exclude_none=True))
messages += [{"role": "tool", "tool_call_id": c.id, "content": "18C"} for c in choice.message.tool_calls]
final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
check(final.choices[0].message.content == EXPECT["final_text"], "second turn content",
      final.choices[0].message.content)
check(final.choices[0].finish_reason == "stop", "second turn finish_reason", final.choices[0].finish_reason)
