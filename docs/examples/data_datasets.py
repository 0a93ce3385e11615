"""Datasets: insert rows, query them with filters, and search them by vector similarity."""

import asyncio
import uuid

from flow_sdk import CLIClient, FlowConfig, FlowSDK

CUSTOMERS = [
    {"name": "Ada", "email": "ada@example.com", "plan": "enterprise", "seats": 120},
    {"name": "Linus", "email": "linus@example.com", "plan": "free", "seats": 1},
    {"name": "Grace", "email": "grace@example.com", "plan": "enterprise", "seats": 40},
]
ARTICLES = {
    "Resetting a password": "Open settings and choose reset password.",
    "Billing cycles": "Invoices are sent on the first day of every month.",
    "Exporting data": "Export any dataset to CSV from the dataset page.",
}


def create_datasets() -> tuple[str, str]:
    """Two new datasets; their ids are yours to choose (a suffix keeps this example re-runnable)."""
    suffix = uuid.uuid4().hex[:8]
    with CLIClient(FlowConfig.load()) as cli:
        customers = cli.datasets.create({"id": f"customers-{suffix}", "name": "Customers"})
        articles = cli.datasets.create({"id": f"help-articles-{suffix}", "name": "Help articles"})
    return customers["id"], articles["id"]


async def main(customers_id: str, articles_id: str) -> None:
    async with FlowSDK() as flow:
        await flow.datasets.insert_rows(customers_id, CUSTOMERS)
        result = await flow.datasets.query(
            dataset_id=customers_id,
            request={
                "fields": ["name", "email", "plan"],
                "filters": [{"field": "plan", "op": "eq", "value": "enterprise"}],
                "limit": 50,
            },
        )
        print(result["total"], "enterprise customers:", [row["name"] for row in result["rows"]])

        # Store each article with an embedding of its text, then search by meaning.
        embedded = await flow.gateway.embedding(model="offline/embed", input=list(ARTICLES.values()))
        rows = [
            {"title": title, "content": content, "content_embedding": item["embedding"]}
            for (title, content), item in zip(ARTICLES.items(), embedded["data"], strict=True)
        ]
        await flow.datasets.insert_rows(articles_id, rows)

        question = await flow.gateway.embedding(model="offline/embed", input="how do I reset my password")
        matches = await flow.datasets.vector_query(
            dataset_id=articles_id,
            embedding=question["data"][0]["embedding"],
            vector_field="content_embedding",
            top_k=2,
            distance_metric="cosine",
            fields=["title"],
        )
        for match in matches["results"]:
            print(f"{match['score']:.2f}  {match['row']['title']}")

        # Every dataset of the workspace, oldest first, fetched a page at a time.
        async for dataset in flow.datasets.iter():
            if dataset["id"] in (customers_id, articles_id):
                print(dataset["name"], "has", dataset["row_count"], "rows")


if __name__ == "__main__":
    asyncio.run(main(*create_datasets()))
