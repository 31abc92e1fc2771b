"""A CrewAI crew whose tool calls OakAuth checks first (docs/integrations/crewai.md)."""

import json
from typing import Any

from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM
from crewai.tools import tool
from pydantic import Field

from oakauth import OakAuth
from oakauth.integrations.crewai import OakAuthCrewHooks

files = {"todo.txt": "buy milk"}


@tool("read_file")
def read_file(path: str) -> str:
    """Read a file."""
    return files[path]


@tool("delete_file")
def delete_file(path: str) -> str:
    """Delete a file."""
    del files[path]
    return f"deleted {path}"


class ScriptedLLM(BaseLLM):
    """Stands in for a real LLM so that this example runs offline: it asks for these calls."""

    calls: list[tuple[str, dict[str, str]]] = Field(
        default_factory=lambda: [("read_file", {"path": "todo.txt"}), ("delete_file", {"path": "todo.txt"})]
    )

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        said = [m["content"] for m in messages if m["role"] == "assistant"]
        if said:
            print("the model sees:", said[-1].split("Observation:")[-1].strip())
        if not self.calls:
            return "Thought: I now know the final answer\nFinal Answer: Done."
        name, arguments = self.calls.pop(0)
        return f"Thought: I use {name}.\nAction: {name}\nAction Input: {json.dumps(arguments)}"


clerk = Agent(
    role="clerk",
    goal="Tidy files",
    backstory="Careful.",
    llm=ScriptedLLM(model="scripted"),
    tools=[read_file, delete_file],
)
crew = Crew(agents=[clerk], tasks=[Task(description="Clean up todo.txt", expected_output="Done.", agent=clerk)])

with OakAuth() as oak, OakAuthCrewHooks(oak, {"read_file": "filesystem:read", "delete_file": "filesystem:delete"}):
    print(crew.kickoff())
