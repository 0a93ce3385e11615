"""``--nats``: an external cluster's URLs and credentials, parsed once for the platform and ``flow runner``."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow_local.runtime.nats_endpoint import NatsEndpoint, NatsEndpointError, external_endpoint
from flow_local.settings import Settings


def test_a_cluster_url_list_keeps_credentials_out_of_the_public_url() -> None:
    endpoint = NatsEndpoint.parse("nats://runner:s%40cret@a:4222, nats://b:4223,c", password="")
    assert endpoint.servers == ("nats://a:4222", "nats://b:4223", "nats://c:4222")
    assert (endpoint.user, endpoint.password) == ("runner", "s@cret")
    assert endpoint.public_url == "nats://a:4222,nats://b:4223,nats://c:4222"
    assert endpoint.replicas == 3
    assert endpoint.user_urls()[1] == "nats://runner:s%40cret@b:4223"
    assert endpoint.connect_options() == {
        "servers": ["nats://a:4222", "nats://b:4223", "nats://c:4222"],
        "user": "runner",
        "password": "s@cret",
    }
    assert "s@cret" not in repr(endpoint)


def test_options_win_over_url_credentials_and_small_clusters_keep_one_replica() -> None:
    endpoint = NatsEndpoint.parse("nats://old:pw@a:1", user="platform", password="new")
    assert (endpoint.user, endpoint.password, endpoint.replicas) == ("platform", "new", 1)


@pytest.mark.parametrize(
    ("url", "extra", "message"),
    [
        ("http://a:1", {}, "is not a NATS server URL"),
        (" , ", {}, "no NATS server given"),
        ("nats://a:1", {"password": "x"}, "without a user"),
        ("nats://a:1", {"user": "u", "creds_file": "/etc/hostname"}, "not both"),
        ("nats://a:1", {"creds_file": "/no/such.creds"}, "does not exist"),
    ],
)
def test_malformed_endpoints_are_refused_with_the_reason(
    url: str, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(NatsEndpointError, match=message):
        NatsEndpoint.parse(url, **extra)


def test_a_refused_url_does_not_echo_its_password() -> None:
    with pytest.raises(NatsEndpointError) as caught:
        NatsEndpoint.parse("http://u:hunter2@a:1")
    assert "hunter2" not in str(caught.value)


def test_a_creds_file_is_passed_to_the_client(tmp_path: Path) -> None:
    creds = tmp_path / "runner.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\n")
    endpoint = NatsEndpoint.parse("nats://a:1", creds_file=str(creds))
    assert endpoint.connect_options()["user_credentials"] == str(creds)


def test_settings_choose_the_embedded_server_unless_a_cluster_is_named(tmp_path: Path) -> None:
    assert external_endpoint(Settings(data_dir=tmp_path)) is None
    assert external_endpoint(Settings(data_dir=tmp_path, nats_url="embedded")) is None
    settings = Settings(data_dir=tmp_path, nats_url="nats://a:1,nats://b:2", nats_user="p", nats_password="x")
    endpoint = external_endpoint(settings)
    assert endpoint is not None and endpoint.connect_options()["user"] == "p"
