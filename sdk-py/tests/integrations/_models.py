"""Scripted chat models, one per framework, built on each framework's own model interface: they ask
for the tool calls they are given, one per turn, then answer "done", and keep what they were shown.
No network: nothing here talks to a model provider."""

from __future__ import annotations

import json
from typing import Any

Call = tuple[str, dict[str, Any]]


# ---------------------------------------------------------------- LangChain

try:
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import ChatResult

    class ScriptedChatModel(FakeMessagesListChatModel):
        """langchain_core's FakeMessagesListChatModel that accepts tools and records its last input."""

        last_input: list[BaseMessage] = []  # noqa: RUF012 - pydantic field

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            self.last_input = list(messages)
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

except ImportError:  # pragma: no cover
    pass


# ---------------------------------------------------------------- OpenAI Agents SDK

try:
    from agents import Model, ModelResponse, Usage
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

    class ScriptedAgentsModel(Model):
        """An Agents SDK ``Model`` that returns one function call per turn, then a final message."""

        def __init__(self, calls: list[Call]) -> None:
            self.calls = list(calls)
            self.turn = 0
            self.outputs_seen: list[str] = []

        async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
            self.outputs_seen = [
                str(item.get("output"))
                for item in (input if isinstance(input, list) else [])
                if isinstance(item, dict) and item.get("type") == "function_call_output"
            ]
            turn = self.turn
            self.turn += 1
            if turn < len(self.calls):
                name, args = self.calls[turn]
                output: list[Any] = [
                    ResponseFunctionToolCall(
                        type="function_call",
                        id=f"fc_{turn}",
                        call_id=f"call_{turn}",
                        name=name,
                        arguments=json.dumps(args),
                        status="completed",
                    )
                ]
            else:
                output = [
                    ResponseOutputMessage(
                        type="message",
                        id=f"msg_{turn}",
                        role="assistant",
                        status="completed",
                        content=[ResponseOutputText(type="output_text", text="done", annotations=[])],
                    )
                ]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("scripted model: use Runner.run")

except ImportError:  # pragma: no cover
    pass


# ---------------------------------------------------------------- CrewAI

try:
    from crewai.llms.base_llm import BaseLLM

    class ScriptedCrewLLM(BaseLLM):
        """A CrewAI ``BaseLLM`` that answers in CrewAI's ReAct text format: one Action per turn, then a
        Final Answer; it keeps the tool results (Observations) it was shown."""

        script: list[Any] = []  # noqa: RUF012 - pydantic field
        turn: int = 0
        observations: list[str] = []  # noqa: RUF012 - pydantic field

        def __init__(self, calls: list[Call], **kw: Any) -> None:
            super().__init__(model="scripted", **kw)
            self.script = list(calls)
            self.observations = []

        def call(
            self,
            messages: Any,
            tools: Any = None,
            callbacks: Any = None,
            available_functions: Any = None,
            **kwargs: Any,
        ) -> str:
            # The tool results come back in the assistant turns, after "Observation:".
            said = (
                []
                if isinstance(messages, str)
                else [str(m.get("content", "")) for m in messages if m.get("role") == "assistant"]
            )
            self.observations = [part.strip() for text in said for part in text.split("Observation:")[1:]]
            turn = self.turn
            self.turn += 1
            if turn < len(self.script):
                name, args = self.script[turn]
                return f"Thought: I should use {name}.\nAction: {name}\nAction Input: {json.dumps(args)}"
            return "Thought: I now know the final answer\nFinal Answer: done"

        def supports_function_calling(self) -> bool:
            return False

        def supports_stop_words(self) -> bool:
            return False

        def get_context_window_size(self) -> int:
            return 8192

except ImportError:  # pragma: no cover
    pass
