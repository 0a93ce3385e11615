"""The engines harness: each engine starts from its wheel on loopback, serves, and leaves nothing behind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import obstore
import psycopg
from obstore.store import S3Store

from flow_local.cluster.engines import NatsCluster, PostgresEngine, SeaweedEngine


def test_postgres_has_pgvector_and_stops_cleanly(tmp_path: Path) -> None:
    engine = PostgresEngine(tmp_path / "pg")
    engine.start()
    processes = list(engine.processes)
    try:
        with psycopg.connect(engine.create_database("probe")) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
            vector = conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector").fetchone()
        assert version is not None and int(version[0]) >= 180000
        assert vector is not None and vector[0] == 1.0
    finally:
        engine.close()
    assert all(process.poll() is not None for process in processes)


def test_postgres_keeps_committed_data_across_a_crash(tmp_path: Path) -> None:
    engine = PostgresEngine(tmp_path / "pg")
    engine.start()
    try:
        url = engine.create_database("durable")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (v TEXT)")
            conn.execute("INSERT INTO t VALUES ('committed')")
        engine.kill()
        engine.start()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT v FROM t").fetchall() == [("committed",)]
    finally:
        engine.close()


def test_seaweed_serves_s3_and_stops_cleanly(tmp_path: Path) -> None:
    engine = SeaweedEngine(tmp_path / "s3")
    engine.start()
    processes = list(engine.processes)
    try:
        store = S3Store(
            "probe",
            endpoint=engine.endpoint,
            access_key_id=engine.access_key,
            secret_access_key=engine.secret_key,
            region="us-east-1",
            client_options={"allow_http": True},
        )
        obstore.put(store, "a/b.txt", b"hello")
        assert bytes(obstore.get(store, "a/b.txt").bytes()) == b"hello"
        wrong = S3Store(
            "probe",
            endpoint=engine.endpoint,
            access_key_id=engine.access_key,
            secret_access_key="not-the-secret",
            region="us-east-1",
            client_options={"allow_http": True},
        )
        try:
            obstore.get(wrong, "a/b.txt")
            raise AssertionError("a wrong secret key was accepted")
        except Exception as exc:
            assert "403" in str(exc) or "Forbidden" in str(exc) or "SignatureDoesNotMatch" in str(exc)
    finally:
        engine.stop()
    assert all(process.poll() is not None for process in processes)


async def _roundtrip(urls: list[str], stream: str) -> int:
    client = await nats.connect(urls)
    try:
        js = client.jetstream()
        await js.add_stream(name=stream, subjects=[f"{stream}.>"], num_replicas=3)
        for number in range(10):
            await js.publish(f"{stream}.x", str(number).encode())
        info = await js.stream_info(stream)
        return int(info.state.messages) if len(info.cluster.replicas or []) == 2 else -1  # type: ignore[union-attr]
    finally:
        await client.close()


def test_nats_cluster_replicates_a_stream_on_three_nodes_and_survives_one(nats_cluster: NatsCluster) -> None:
    assert len(nats_cluster.urls) == 3
    assert asyncio.run(_roundtrip(nats_cluster.user_urls("platform"), "PROBE")) == 10
    nats_cluster.kill_node(0)
    try:
        assert asyncio.run(_count_after_loss(nats_cluster.user_urls("platform")[1:], "PROBE")) == 10
    finally:
        nats_cluster.start_node(0)


async def _count_after_loss(urls: list[str], stream: str) -> int:
    client = await nats.connect(urls)
    try:
        js = client.jetstream()
        for _ in range(50):
            try:
                info = await js.stream_info(stream)
                return int(info.state.messages)
            except Exception:
                await asyncio.sleep(0.2)
        return -1
    finally:
        await client.close()
