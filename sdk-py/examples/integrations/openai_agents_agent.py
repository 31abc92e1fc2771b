"""An OpenAI Agents SDK agent whose tools OakAuth guards (docs/integrations/openai-agents.md)."""

import asyncio
import json
from typing import Any

from agents import Agent, Model, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from oakauth import AsyncOakAuth
from oakauth.integrations.openai_agents import OakAuthGuard

files = {"todo.txt": "buy milk"}
set_tracing_disabled(True)  # this example talks to no model provider


@function_tool
def read_file(path: str) -> str:
    """Read a file."""
    return files[path]


@function_tool
def delete_file(path: str) -> str:
    """Delete a file."""
    del files[path]
    return f"deleted {path}"


class ScriptedModel(Model):
    """Stands in for a real model so that this example runs offline: it asks for these calls."""

    def __init__(self) -> None:
        self.calls = [("read_file", {"path": "todo.txt"}), ("delete_file", {"path": "todo.txt"})]

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        last = input[-1] if isinstance(input, list) else {}
        if isinstance(last, dict) and last.get("type") == "function_call_output":
            print(f"the model sees: {last['output']}")
        if not self.calls:
            text = ResponseOutputText(type="output_text", text="Done.", annotations=[])
            done = ResponseOutputMessage(type="message", id="m", role="assistant", status="completed", content=[text])
            return ModelResponse(output=[done], usage=Usage(), response_id=None)
        name, arguments = self.calls.pop(0)
        call = ResponseFunctionToolCall(
            type="function_call", call_id=f"call_{name}", name=name, arguments=json.dumps(arguments), status="completed"
        )
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


async def main() -> None:
    async with AsyncOakAuth() as oak:  # OAKAUTH_API_KEY, OAKAUTH_BASE_URL
        guard = OakAuthGuard(oak, {"read_file": "filesystem:read", "delete_file": "filesystem:delete"})
        agent = Agent(name="files", model=ScriptedModel(), tools=guard.protect([read_file, delete_file]))
        result = await Runner.run(agent, "Clean up todo.txt")
        print(result.final_output)


asyncio.run(main())
