"""The channel registry reaches all the way: every module of vigia.common.channels that defines
CHANNEL is a kind, and the action message types and the notifier's bindings are exactly those
kinds. Each kind's config keeps its secrets out of what the API shows."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from pydantic import SecretStr, ValidationError

import vigia.common.channels as package
from vigia.common.broker.topology import NOTIFIER_ACTIONS, build_topology, route
from vigia.common.channels import ACTION_KINDS, CHANNELS, channel_kind
from vigia.common.channels.netguard import NetworkPolicy
from vigia.common.messages import MESSAGE_TYPES, ActionRequested, make


def test_every_module_with_a_channel_is_a_kind_and_nothing_else_is() -> None:
    kinds = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"vigia.common.channels.{info.name}")
        if hasattr(module, "CHANNEL"):
            kinds.add(module.CHANNEL.kind)
    assert kinds == set(ACTION_KINDS) == set(CHANNELS) == {"webhook", "email", "telegram", "whatsapp", "modbus"}


def test_action_types_and_notifier_bindings_come_from_the_registry() -> None:
    actions = {t for t in MESSAGE_TYPES if t.startswith("action.")}
    assert actions == {f"action.{kind}" for kind in ACTION_KINDS}
    assert all(MESSAGE_TYPES[t] is ActionRequested for t in actions)
    topology = build_topology()
    bound = {b.routing_key for b in topology.bindings if b.destination == NOTIFIER_ACTIONS}
    assert bound == actions
    envelope = make("action.modbus", "01890a5d-ac96-774b-bcce-b302099a8057", "test",
                    {"channel": "01890a5d-ac96-774b-bcce-b302099a8058"})
    assert route(envelope) == ("vigia.actions", "action.modbus")


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="webhook"):
        channel_kind("pigeon")


@pytest.mark.parametrize("kind", sorted(CHANNELS))
def test_secret_fields_are_secret_strings_left_out_of_the_public_view(kind: str) -> None:
    config_model = CHANNELS[kind].config
    for name in config_model.secrets():
        assert config_model.model_fields[name].annotation in (SecretStr, SecretStr | None)
    examples = {
        "webhook": {"url": "https://hooks.example.com/x", "secret": "0123456789abcdef"},
        "email": {"host": "smtp.example.com", "sender": "vigia@example.com", "password": "pw-123"},
        "telegram": {"bot_token": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
        "whatsapp": {"phone_number_id": "1234567", "access_token": "EAAG-0123456789-abcdefghij"},
        "modbus": {"host": "plc.local"},
    }
    config = config_model.model_validate(examples[kind])
    public, plain = config.public(), config.plain()
    for name in config_model.secrets():
        assert name not in public
        assert plain[name] == examples[kind].get(name)
    assert config_model.model_validate(plain) == config  # what is encrypted reads back the same


def test_configs_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="nope"):
        channel_kind("modbus").config.model_validate({"host": "plc", "nope": 1})


@pytest.mark.parametrize(("address", "allowed"), [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("10.1.2.3", False), ("192.168.0.1", False),
    ("172.16.0.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("::1", False),
    ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False), ("0.0.0.0", False),
    ("255.255.255.255", False), ("100.64.0.1", False),
])
def test_network_policy_lets_through_public_addresses_only(address: str, allowed: bool) -> None:
    import ipaddress

    assert NetworkPolicy().allows(ipaddress.ip_address(address)) is allowed


def test_the_allow_list_opens_exactly_its_networks() -> None:
    import ipaddress

    policy = NetworkPolicy.from_string("10.1.0.0/16, 127.0.0.1")
    assert policy.allows(ipaddress.ip_address("10.1.200.3"))
    assert policy.allows(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allows(ipaddress.ip_address("10.2.0.1"))
    assert not policy.allows(ipaddress.ip_address("127.0.0.2"))
