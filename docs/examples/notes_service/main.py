"""A small hosted service: who is calling, a summary endpoint, and a slow report meant for a job."""

import asyncio

from fastapi import FastAPI
from pydantic import BaseModel

from flow_sdk import FlowSDK

flow = FlowSDK()  # configured by the platform; each request's caller is bound on it
app = FastAPI(title="Notes service")


class Note(BaseModel):
    text: str


@app.get("/whoami")
async def whoami() -> dict:
    return {
        "subject_id": flow.auth.subject_id,
        "token_type": flow.auth.token_type,
        "tenant_id": flow.auth.claim("tenant_id"),
    }


@app.post("/summarize")
async def summarize(note: Note) -> dict:
    words = note.text.split()
    return {"words": len(words), "summary": " ".join(words[:5])}


@app.post("/reports")
async def build_report(note: Note) -> dict:
    await asyncio.sleep(0.5)  # stands in for slow work
    return {"report": note.text.upper()}
