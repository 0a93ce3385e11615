"""A streamed chat completion in sync code: read the text as it arrives, then the whole answer."""

from flow_sdk.sync_flow_sdk import SyncFlowSDK


def main() -> None:
    with SyncFlowSDK() as flow:
        # A SyncChatCompletionStream: each piece is read from the open response as the loop asks for it.
        with flow.gateway.stream_chat_completion(
            model="offline/chat",
            messages=[{"role": "user", "content": "Stream this from a script."}],
        ) as stream:
            for text in stream.text_stream():
                print(text, end="", flush=True)
            print()
            completion = stream.final_completion()  # assembled from the chunks already read
        print("sync stream finished:", completion["choices"][0]["finish_reason"])


if __name__ == "__main__":
    main()
