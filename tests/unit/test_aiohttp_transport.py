"""The default async transport: aiohttp under httpx, with connect errors that mean nothing was sent."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from flow_sdk._aiohttp import FlowAiohttpTransport
from flow_sdk._transport import build_async_client, default_async_transport


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_default_async_transport_is_the_aiohttp_one() -> None:
    assert isinstance(default_async_transport(httpx.Limits(max_connections=4)), FlowAiohttpTransport)


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with httpx.AsyncClient(transport=FlowAiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{free_port()}/")


async def test_a_connection_dropped_after_the_request_is_a_read_error_and_a_post_is_sent_once() -> None:
    received: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, build_async_client(f"http://127.0.0.1:{port}", httpx.Auth(), max_retries=2) as client:
        with pytest.raises(httpx.ReadError):
            await client.post("/things", content=b"{}")
    assert len(received) == 1, "a POST whose connection dropped after sending must not be sent again"


async def test_a_get_answers_through_aiohttp() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"a": 1.5}\n'
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, build_async_client(f"http://127.0.0.1:{port}", httpx.Auth()) as client:
        response = await client.get("/x")
    assert response.json() == {"a": 1.5}
