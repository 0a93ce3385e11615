"""A front door service that calls the notes service on behalf of its own caller."""

import os

from fastapi import FastAPI

from flow_sdk import FlowSDK

flow = FlowSDK()
app = FastAPI(title="Front door")
NOTES = os.environ["NOTES_SERVICE_ID"]


@app.get("/as-caller")
async def as_caller() -> dict:
    # Forward the caller's own token: the notes service sees the original caller.
    return await flow.services.get("/whoami", service_id=NOTES, auth="caller_service_token")


@app.get("/as-service")
async def as_service() -> dict:
    # Call with this service's own runtime token: the notes service sees the front door.
    return await flow.services.get("/whoami", service_id=NOTES)
