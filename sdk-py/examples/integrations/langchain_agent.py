"""A LangChain agent whose every tool call OakAuth checks first (docs/integrations/langchain.md)."""

from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from oakauth import OakAuth
from oakauth.integrations import ToolMapping
from oakauth.integrations.langchain import OakAuthMiddleware

files = {"todo.txt": "buy milk"}


@tool
def read_file(path: str) -> str:
    """Read a file."""
    return files[path]


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    del files[path]
    return f"deleted {path}"


@tool
def send_email(to: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


class ScriptedModel(FakeMessagesListChatModel):
    """Stands in for a real chat model so that this example runs offline: it asks for these calls."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


def call(name: str, args: dict[str, str], id: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": id}])


model = ScriptedModel(
    responses=[
        call("read_file", {"path": "todo.txt"}, "1"),
        call("delete_file", {"path": "todo.txt"}, "2"),
        call("delete_file", {"path": "todo.txt", "_reasoning": "The user asked me to delete todo.txt."}, "3"),
        call("send_email", {"to": "boss@example.com", "body": "done"}, "4"),
        AIMessage("Done."),
    ]
)

mapping = ToolMapping({"read_file": "filesystem:read", "delete_file": "filesystem:delete"})
oak = OakAuth()  # OAKAUTH_API_KEY, OAKAUTH_BASE_URL
agent = create_agent(model, tools=[read_file, delete_file, send_email], middleware=[OakAuthMiddleware(oak, mapping)])
result = agent.invoke({"messages": [{"role": "user", "content": "Clean up todo.txt and tell my boss."}]})
for message in result["messages"]:
    if isinstance(message, ToolMessage):
        print(f"{message.name} [{message.status}]: {message.content}")
