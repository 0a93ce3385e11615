"""The agent loop: model → tool calls (code blocks) → model, until an answer or ``max_steps``.

The same loop runs inline (in the platform) and isolated (in a runner's worker); only the way a tool
code block is run differs. The model is called through the platform gateway.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

DEFAULT_MAX_STEPS = 8
_ANNOTATION_TYPES = {
    "int": "integer",
    "float": "number",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}
_PROMPT_KEYS = ("question", "message", "prompt", "input", "text", "query")

Chat = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
RunTool = Callable[[str, dict[str, Any]], Awaitable[Any]]
Emit = Callable[[str, dict[str, Any]], Awaitable[None]]


def tool_name(component_id: str) -> str:
    """A function name the model can call for a code block id."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", component_id)[:64]


def parameters_schema(source: str, entrypoint: str = "main") -> dict[str, Any]:
    """A JSON schema of ``main``'s parameters (from annotations), without ``flow``."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {"type": "object", "properties": {}}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entrypoint:
            args = node.args.args
            defaults_from = len(args) - len(node.args.defaults)
            for index, arg in enumerate(args):
                if arg.arg == "flow":
                    continue
                annotation = ast.unparse(arg.annotation) if arg.annotation is not None else "str"
                properties[arg.arg] = {"type": _ANNOTATION_TYPES.get(annotation, "string")}
                if index < defaults_from:
                    required.append(arg.arg)
    return {"type": "object", "properties": properties, "required": required}


def tool_definition(component: dict[str, Any]) -> dict[str, Any]:
    """The gateway tool definition of a code block component (id, name, spec)."""
    spec = component.get("spec") or {}
    return {
        "type": "function",
        "function": {
            "name": tool_name(str(component["id"])),
            "description": str(component.get("description") or component.get("name") or component["id"]),
            "parameters": parameters_schema(
                str(spec.get("source", "")), str(spec.get("entrypoint") or "main")
            ),
        },
        "x-component-id": str(component["id"]),
    }


def first_user_message(input_data: dict[str, Any]) -> str:
    """The user's turn from an agent's input: a known prompt key, the only string value, or the JSON."""
    for key in _PROMPT_KEYS:
        if isinstance(input_data.get(key), str):
            return str(input_data[key])
    strings = [v for v in input_data.values() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    return json.dumps(input_data)


def _add_usage(total: dict[str, int], usage: dict[str, Any] | None) -> None:
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        total[key] += int((usage or {}).get(key) or 0)


async def agent_loop(
    spec: dict[str, Any], input_data: dict[str, Any], chat: Chat, run_tool: RunTool, emit: Emit
) -> dict[str, Any]:
    """Run the loop; return ``{"output", "usage", "messages"}``.

    Raises:
        ValueError: The spec has no model, or the model asked for a tool that is not offered.
    """
    model = spec.get("model")
    if not model:
        raise ValueError("the agent's spec has no 'model'")
    definitions = list(spec.get("tool_definitions") or [])
    by_name = {d["function"]["name"]: d["x-component-id"] for d in definitions}
    tools = [{"type": d["type"], "function": d["function"]} for d in definitions] or None
    messages: list[dict[str, Any]] = []
    if spec.get("system_prompt"):
        messages.append({"role": "system", "content": str(spec["system_prompt"])})
    messages.append({"role": "user", "content": first_user_message(input_data)})
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    answer: str | None = None
    for _step in range(int(spec.get("max_steps") or DEFAULT_MAX_STEPS)):
        request: dict[str, Any] = {"model": model, "messages": messages, "tools": tools}
        if spec.get("temperature") is not None:
            request["temperature"] = spec["temperature"]
        completion = await chat(request)
        _add_usage(usage, completion.get("usage"))
        message = dict(completion["choices"][0]["message"])
        message = {k: v for k, v in message.items() if v is not None}
        messages.append(message)
        await emit(
            "message",
            {"role": "assistant", "content": message.get("content"), "tool_calls": message.get("tool_calls")},
        )
        calls = message.get("tool_calls") or []
        if not calls:
            answer = message.get("content") or ""
            break
        for call in calls:
            messages.append(await _call_tool(call, by_name, run_tool, emit))
    output = {
        "answer": answer,
        "steps": sum(1 for m in messages if m.get("role") == "assistant"),
        "finished": answer is not None,
    }
    await emit("done", {"answer": answer})
    return {"output": output, "usage": usage, "messages": messages}


async def _call_tool(
    call: dict[str, Any], by_name: dict[str, str], run_tool: RunTool, emit: Emit
) -> dict[str, Any]:
    name = call["function"]["name"]
    if name not in by_name:
        raise ValueError(f"the model called the tool '{name}', which this agent does not offer")
    arguments = json.loads(call["function"].get("arguments") or "{}")
    result = await run_tool(by_name[name], arguments)
    await emit(
        "tool_call", {"name": name, "component_id": by_name[name], "arguments": arguments, "result": result}
    )
    return {"role": "tool", "tool_call_id": call["id"], "name": name, "content": json.dumps(result)}


async def run_isolated_agent(emit: Emit, spec: dict[str, Any], input_data: dict[str, Any]) -> dict[str, Any]:
    """Run the loop in a worker: the gateway and tools through ``FlowSDK()`` (runtime variables).

    Args:
        emit: Sends one event of the execution (the worker hands it to its runner).
        spec: The agent's spec.
        input_data: The execution's input.
    """
    from flow_sdk import FlowSDK

    flow = FlowSDK()

    async def chat(request: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in request.items() if k not in ("model", "messages")}
        return dict(
            await flow.gateway.chat_completion(model=request["model"], messages=request["messages"], **body)
        )

    async def run_tool(component_id: str, arguments: dict[str, Any]) -> Any:
        return await flow.code_blocks.run(
            code_block_id=component_id, input_parameters=arguments, result_mode="output"
        )

    try:
        return await agent_loop(spec, input_data, chat, run_tool, emit)
    finally:
        await flow.close()
