"""CLIClient: the synchronous client for scripts, logged in with an org API key."""

import os

from flow_sdk import CLIClient, FlowConfig

SOURCE = """
def main(text: str) -> dict:
    return {"shout": text.upper()}
"""


def main() -> None:
    url = os.environ["PLATFORM_API_URL"]
    # Trade the org API key for a short-lived access token.
    token = CLIClient.exchange_api_key(url, os.environ["FLOW_API_KEY"], ttl_minutes=30)
    me = CLIClient.get_current_user_with_token(url, token)
    print("logged in as", me["subject_id"])

    config = FlowConfig(url, token, os.environ["ORG_ID"], os.environ["WORKSPACE_ID"])
    with CLIClient(config) as client:
        print("orgs:", [org["name"] for org in client.list_orgs()])
        print("workspaces:", [ws["name"] for ws in client.list_workspaces(config.org_id)])

        block = client.create_component("code_block", {"name": "shout", "spec": {"source": SOURCE}})
        output = client.code_blocks.run(block["id"], {"text": "hello"}, result_mode="output")
        print(output)


if __name__ == "__main__":
    main()
