"""Shared pieces of API replicas: token keys in the database (EdDSA, ``kid``, rotation, sealed private
halves), the JSON Web Key Set that verifies tokens without any secret, and rate limits counted in the
database.

"Two replicas" are two platforms with their own data directories sharing one database and one sealing
key (a SQLite file here, PostgreSQL under ``nox -s cluster``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet

from flow_local import signing_keys
from flow_local._generated.models import JsonWebKeySet
from flow_local.areas.auth import APPROVAL_FAILURES, AuthBackend
from flow_local.auth import ALGORITHM, JwksKeys, Principal, SingleKey, TokenSigner, TokenVerifier
from flow_local.core import Platform
from flow_local.errors import ApiError
from flow_local.harness import LocalPlatform
from flow_local.rate_limits import RateLimiter
from flow_local.sealing import SealingError
from flow_local.settings import SEALING_KEY_ENV, Settings
from flow_local.signing_keys import DatabaseKeyRing

JWKS_PATH = "/api/v1/auth/jwks"
FLOW = str(Path(sys.executable).parent / "flow")


def _database_url(tmp_path: Path) -> str:
    return os.environ.get("FLOW_DATABASE_URL") or f"sqlite:///{tmp_path}/shared.db"


@pytest.fixture(scope="module", autouse=True)
def shared_sealing_key() -> Iterator[None]:
    """One sealing key for every platform of the module, as replicas sharing a database have."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SEALING_KEY_ENV, Fernet.generate_key().decode())
        yield


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[Platform, Platform]]:
    url = _database_url(tmp_path)
    a = Platform(Settings.load(tmp_path / "a", database_url=url))
    b = Platform(Settings.load(tmp_path / "b", database_url=url))
    yield a, b
    a.close()
    b.close()


def _ring(platform: Platform) -> DatabaseKeyRing:
    keys = platform.tokens.keys
    assert isinstance(keys, DatabaseKeyRing)
    return keys


def test_a_token_signed_by_one_replica_verifies_on_the_other(replicas: tuple[Platform, Platform]) -> None:
    a, b = replicas
    token = a.tokens.mint_user_token("user-1", "org-1", "ws-1")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == ALGORITHM == "EdDSA"
    assert header["kid"] == a.tokens.keys.current()[0] == b.tokens.keys.current()[0]
    principal = b.tokens.verify(token)
    assert (principal.subject, principal.org_id, principal.workspace_id) == ("user-1", "org-1", "ws-1")
    assert a.tokens.verify(b.tokens.mint_user_token("user-2", "org-1")).subject == "user-2"


def test_after_a_rotation_both_keys_verify_on_every_replica(replicas: tuple[Platform, Platform]) -> None:
    a, b = replicas
    old_token = a.tokens.mint_user_token("before", "org-1")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new_kid = _ring(a).rotate()
    assert new_kid != old_kid
    new_token = a.tokens.mint_user_token("after", "org-1")
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    # B has not read the new key yet: the unknown kid makes it read the keys again.
    assert b.tokens.verify(new_token).subject == "after"
    assert TokenVerifier(b.tokens.keys).verify(old_token).subject == "before"
    assert b.tokens.keys.current()[0] == new_kid
    assert {k["kid"] for k in b.tokens.keys.jwks()["keys"]} == {old_kid, new_kid}


def test_keys_made_in_quick_succession_verify_at_once_on_another_replica(
    replicas: tuple[Platform, Platform],
) -> None:
    a, b = replicas
    for number in range(3):
        kid = _ring(a).rotate()
        token = a.tokens.mint_user_token(f"user-{number}", "org-1")
        assert jwt.get_unverified_header(token)["kid"] == kid
        assert b.tokens.verify(token).subject == f"user-{number}"
    unknown = TokenSigner(SingleKey()).mint_user_token("attacker", "org-1")
    with pytest.raises(ApiError) as refused:
        b.tokens.verify(unknown)
    assert refused.value.status == 401


def test_a_retired_key_stops_verifying_when_its_time_is_up(replicas: tuple[Platform, Platform]) -> None:
    a, b = replicas
    old_token = a.tokens.mint_user_token("before", "org-1")
    _ring(a).rotate()
    a.db.execute("UPDATE token_keys SET verify_until = ? WHERE retired_at IS NOT NULL", (time.time() - 1,))
    fresh = TokenSigner(DatabaseKeyRing(b.db, b.sealer))
    with pytest.raises(ApiError) as refused:
        fresh.verify(old_token)
    assert refused.value.status == 401
    assert "key this platform does not know" in refused.value.detail
    assert len(fresh.keys.jwks()["keys"]) == 1


def test_the_private_keys_are_sealed_and_need_the_sealing_key(
    replicas: tuple[Platform, Platform], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = replicas
    rows = a.db.query("SELECT private_key, public_key FROM token_keys")
    assert rows and all(str(r[0]).startswith("sealed:") for r in rows)
    monkeypatch.setenv(SEALING_KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(SealingError):
        Platform(Settings.load(tmp_path / "c", database_url=_database_url(tmp_path)))


def test_a_forged_token_naming_the_platforms_kid_is_refused(replicas: tuple[Platform, Platform]) -> None:
    a, b = replicas
    kid = a.tokens.keys.current()[0]
    forged = TokenSigner(SingleKey(kid)).mint_user_token("attacker", "org-1")
    with pytest.raises(ApiError) as refused:
        b.tokens.verify(forged)
    assert refused.value.status == 401


def test_a_wrong_sealing_key_in_the_environment_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SEALING_KEY_ENV, "not-a-key")
    with pytest.raises(ValueError, match=SEALING_KEY_ENV):
        Settings.load(tmp_path / "d")


VERIFY_WITH_JWKS = """
import sys
from flow_local.auth import JwksKeys, TokenVerifier
from flow_local.errors import ApiError

verifier = TokenVerifier(JwksKeys(sys.argv[1]))
for token in sys.argv[2:]:
    try:
        print(verifier.verify(token).subject)
    except ApiError as exc:
        print(exc.status, exc.detail)
"""


def test_the_jwks_verifies_tokens_in_another_process_without_the_private_key(local: LocalPlatform) -> None:
    answer = httpx.get(local.url + JWKS_PATH)
    assert answer.status_code == 200
    key_set = JsonWebKeySet.model_validate(answer.json())
    assert key_set.keys and all(k.kty == "OKP" and k.alg == ALGORITHM for k in key_set.keys)
    assert all("d" not in k for k in answer.json()["keys"])  # no private part is published
    assert local.platform is not None
    good = local.platform.tokens.mint_user_token("jwks-user", local.org_id)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    forged = TokenSigner(SingleKey(jwt.get_unverified_header(good)["kid"])).mint_user_token("x", "org")
    # The child gets no data directory, no sealing key and no database: only the JWKS address.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", VERIFY_WITH_JWKS, local.url + JWKS_PATH, good, tampered, forged],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "jwks-user"
    assert lines[1].startswith("401") and lines[2].startswith("401")


def _principal(subject: str) -> Principal:
    return Principal(
        subject=subject,
        org_id="org-1",
        workspace_id=None,
        scopes=["read", "write"],
        token_type="user",
        expires_at=int(time.time()) + 600,
        jti="j",
    )


def test_the_approval_limit_is_one_limit_across_replicas(replicas: tuple[Platform, Platform]) -> None:
    a, b = replicas
    caller = _principal("user-1")
    for n in range(APPROVAL_FAILURES):
        replica = (a, b)[n % 2]
        with pytest.raises(ApiError) as wrong:
            replica.backend(AuthBackend).approve(f"NOPE-{n:04d}", caller)
        assert wrong.value.status == 404
    for replica in (a, b):
        with pytest.raises(ApiError) as limited:
            replica.backend(AuthBackend).approve("NOPE-LAST", caller)
        assert limited.value.status == 429
        assert int(limited.value.headers["Retry-After"]) > 0
    other = _principal("user-2")
    with pytest.raises(ApiError) as unaffected:
        b.backend(AuthBackend).approve("NOPE-OTHER", other)
    assert unaffected.value.status == 404


def test_a_request_limit_is_one_limit_across_replicas(replicas: tuple[Platform, Platform]) -> None:
    a, b = replicas
    on_a = RateLimiter(a.db, "test-limit", 3, 600.0)
    on_b = RateLimiter(b.db, "test-limit", 3, 600.0)
    on_a.check("caller")
    on_b.check("caller")
    on_a.check("caller")
    with pytest.raises(ApiError) as limited:
        on_b.check("caller")
    assert limited.value.status == 429
    on_b.check("someone else")


def _flow_keys(*arguments: str) -> list[str]:
    """Run ``flow platform keys ...`` as an operator would; its output lines."""
    done = subprocess.run(
        [FLOW, "platform", "keys", *arguments], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _kids(jwks: dict[str, object]) -> set[str]:
    keys = jwks["keys"]
    assert isinstance(keys, list)
    return {str(key["kid"]) for key in keys}


def test_the_rotate_command_gives_every_replica_a_new_key_and_keeps_the_old_one(
    replicas: tuple[Platform, Platform], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    old_token = a.tokens.mint_user_token("before", "org-1")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    lines = _flow_keys(
        "rotate", "--data-dir", str(tmp_path / "operator"), "--database-url", _database_url(tmp_path)
    )
    new_kid = lines[0].removeprefix("new signing key ")
    assert new_kid != old_kid and any(line.split()[0] == old_kid and "retired" in line for line in lines[1:])
    assert not any("sealed:" in line or "PRIVATE" in line for line in lines)
    monkeypatch.setattr(signing_keys, "RELOAD_SECONDS", 0.0)  # as if each replica's minute had passed
    for replica in (a, b):
        token = replica.tokens.mint_user_token("after", "org-1")
        assert jwt.get_unverified_header(token)["kid"] == new_kid
        assert TokenVerifier(replica.tokens.keys).verify(old_token).subject == "before"
        assert {old_kid, new_kid} <= _kids(replica.tokens.keys.jwks())
    listed = _flow_keys(
        "list", "--data-dir", str(tmp_path / "operator"), "--database-url", _database_url(tmp_path)
    )
    assert listed[-1].split()[:2] == [new_kid, "signing"]


def test_a_retired_key_is_deleted_once_its_time_is_up(
    replicas: tuple[Platform, Platform], tmp_path: Path
) -> None:
    a, b = replicas
    old_token = a.tokens.mint_user_token("before", "org-1")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    _ring(a).rotate()
    a.db.execute("UPDATE token_keys SET verify_until = ? WHERE kid = ?", (time.time() - 1, old_kid))
    newest = _ring(b).rotate()
    assert a.db.query("SELECT kid FROM token_keys WHERE kid = ?", (old_kid,)) == []
    assert old_kid not in _kids(b.tokens.keys.jwks()) and newest in _kids(b.tokens.keys.jwks())
    with pytest.raises(ApiError) as refused:
        TokenVerifier(DatabaseKeyRing(a.db, a.sealer)).verify(old_token)
    assert refused.value.status == 401


def test_over_http_a_rotation_keeps_old_tokens_valid_and_new_tokens_carry_the_new_kid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalPlatform(tmp_path / "served") as served:
        assert served.platform is not None
        with httpx.Client(base_url=served.url, timeout=30) as http:
            old_token = http.post("/api/v1/auth/token", json={"api_key": served.api_key}).json()[
                "access_token"
            ]
            old_kid = jwt.get_unverified_header(old_token)["kid"]
            new_kid = _flow_keys("rotate", "--data-dir", str(served.data_dir))[0].removeprefix(
                "new signing key "
            )
            monkeypatch.setattr(signing_keys, "RELOAD_SECONDS", 0.0)  # the server's minute has passed
            new_token = http.post("/api/v1/auth/token", json={"api_key": served.api_key}).json()[
                "access_token"
            ]
            assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
            for token in (old_token, new_token):
                me = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
                assert me.status_code == 200, me.text
            assert {old_kid, new_kid} <= _kids(http.get(JWKS_PATH).json())
            served.platform.db.execute(
                "UPDATE token_keys SET verify_until = ? WHERE kid = ?", (time.time() - 1, old_kid)
            )
            _flow_keys("rotate", "--data-dir", str(served.data_dir))
            assert old_kid not in _kids(http.get(JWKS_PATH).json())
            fresh = TokenVerifier(JwksKeys(served.url + JWKS_PATH))
            with pytest.raises(ApiError):
                fresh.verify(old_token)
            assert fresh.verify(new_token).org_id == served.org_id
