"""anthropic SDK: `messages.stream(...).get_final_message()` with a tool-use turn, then the tool
result sent back (a two-step tool loop), against whatever backend the harness put behind the
gateway. Expected values come from the harness in EXPECT."""

import anthropic

from common import EXPECT, GATEWAY, calls_expected, check

client = anthropic.Anthropic(base_url=GATEWAY, api_key="sk-ant-test", max_retries=0)
tools = [{
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                     "required": ["city"]},
}]
messages = [{"role": "user", "content": "Weather in Paris and Oslo?"}]

texts = []
with client.messages.stream(model="claude-sonnet-4-5", max_tokens=1024, tools=tools,
                            messages=messages) as stream:
    for text in stream.text_stream:
        texts.append(text)
    message = stream.get_final_message()

print(message.model_dump_json(indent=1))
check(message.id.startswith("msg_"), "message id starts with msg_", message.id)
check(message.role == "assistant", "role assistant")
check(message.stop_reason == "tool_use", "stop_reason tool_use", message.stop_reason)
check(message.usage.input_tokens > 0, "message_start carried input tokens", message.usage)
check(message.usage.output_tokens == EXPECT["output_tokens"], "output tokens", message.usage)
check("".join(texts) == EXPECT["text"], "text_stream", "".join(texts))
uses = [b for b in message.content if b.type == "tool_use"]
got = [(b.id, b.name, b.input) for b in uses]
check(got == [tuple(c) for c in calls_expected()], "tool_use blocks with streamed input", got)
if EXPECT.get("reasoning"):
    thinking = [b for b in message.content if b.type == "thinking"]
    check(len(thinking) == 1 and thinking[0].thinking == EXPECT["reasoning"], "thinking block", thinking)

# The tool loop: answer every call, get the final text.
messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content
                                                    if b.type != "thinking"]})
messages.append({"role": "user", "content": [
    {"type": "tool_result", "tool_use_id": b.id, "content": f"{b.input['city']}: 18C"} for b in uses]})
with client.messages.stream(model="claude-sonnet-4-5", max_tokens=1024, tools=tools,
                            messages=messages) as stream:
    final = stream.get_final_message()
check(final.stop_reason == "end_turn", "second turn ends the turn", final.stop_reason)
check(final.content[0].type == "text" and final.content[0].text == EXPECT["final_text"],
      "second turn text", final.content)
