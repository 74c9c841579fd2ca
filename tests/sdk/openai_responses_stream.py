"""openai SDK: `responses.stream(...).get_final_response()` with function tools, then the
outputs sent back with `responses.create` (stateless: the whole history, as Codex does)."""

import json

import openai

from common import EXPECT, GATEWAY, calls_expected, check

client = openai.OpenAI(base_url=GATEWAY + "/v1", api_key="sk-test", max_retries=0)
tools = [{"type": "function", "name": "get_weather", "description": "Current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                         "required": ["city", "unit"], "additionalProperties": False},
          "strict": True}]
history = [{"role": "user", "content": "Weather in Paris and Oslo?"}]

deltas = []
with client.responses.stream(model="gpt-4.1", input=history, tools=tools,
                             instructions="You are a weather bot.") as stream:
    for event in stream:
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    response = stream.get_final_response()

print(response.model_dump_json(indent=1))
check(response.id.startswith("resp_"), "response id starts with resp_", response.id)
check(response.status == "completed", "status completed", response.status)
check(response.output_text == EXPECT["text"], "output_text", response.output_text)
check("".join(deltas) == EXPECT["text"], "output_text deltas", deltas)
calls = [i for i in response.output if i.type == "function_call"]
got = [(c.call_id, c.name, json.loads(c.arguments)) for c in calls]
check(got == [tuple(c) for c in calls_expected()], "function_call items", got)
check(response.usage.input_tokens == EXPECT["input_tokens"], "usage.input_tokens", response.usage)
check(response.usage.input_tokens_details.cached_tokens == EXPECT["cached_tokens"], "cached tokens",
      response.usage)

# Second turn: stateless, the whole history with the calls and their outputs.
history += [{"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments,
             "id": c.id, "status": "completed"} for c in calls]
history += [{"type": "function_call_output", "call_id": c.call_id, "output": "18C"} for c in calls]
final = client.responses.create(model="gpt-4.1", input=history, tools=tools)
check(final.output_text == EXPECT["final_text"], "second turn output_text", final.output_text)
