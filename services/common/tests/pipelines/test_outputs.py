"""Output nodes become emissions the runtime publishes: kind, channel, recipients, template and a
payload a message template can use."""

from __future__ import annotations

import uuid

from services.common.tests.pipelines.support import CAMERA, CHANNEL, NIGHT, PIPELINE, Runner, chain, detection, node


def emit(output: dict) -> list:
    return Runner(chain(node("cam", "camera_rtsp"), output)).run(detection(700, 700)).emissions


def test_each_output_kind_becomes_its_channel_kind() -> None:
    cases = {
        "whatsapp": ({"recipients": ["+5511999990000"]}, "whatsapp"),
        "telegram": ({"recipients": ["-1001234567", "@vigia_alerts"]}, "telegram"),
        "email": ({"recipients": ["sec@example.com"]}, "email"),
        "plc_control": ({"address": 3}, "modbus"),
        "http_post": ({}, "webhook"),
    }
    for node_type, (config, kind) in cases.items():
        (emission,) = emit(node("o", node_type, channel=CHANNEL, template="{{ label }} at {{ zone }}", **config))
        assert (emission.kind, emission.channel, emission.template) == (kind, uuid.UUID(CHANNEL),
                                                                        "{{ label }} at {{ zone }}")
        assert emission.recipients == tuple(config.get("recipients", ()))
        assert emission.pipeline == PIPELINE and emission.node == "o"
        assert emission.payload["camera"] == CAMERA and emission.payload["label"] == "person"
        assert emission.payload["observed_at"] == NIGHT.isoformat() and emission.payload["item_kind"] == "detection"


def test_plc_and_email_carry_their_settings_in_the_payload() -> None:
    (plc,) = emit(node("o", "plc_control", channel=CHANNEL, register_type="holding", address=40, value=7, pulse_s=2))
    assert {k: plc.payload[k] for k in ("register_type", "address", "value", "pulse_s")} == \
        {"register_type": "holding", "address": 40, "value": 7, "pulse_s": 2.0}
    (mail,) = emit(node("o", "email", channel=CHANNEL, recipients=["a@example.com"], subject="Alarm {{ zone }}"))
    assert mail.payload["subject"] == "Alarm {{ zone }}"


def test_a_coil_takes_only_zero_or_one() -> None:
    import pytest

    from vigia.common.pipelines import GraphError

    with pytest.raises(GraphError, match="coil takes the value 0 or 1"):
        emit(node("o", "plc_control", channel=CHANNEL, address=1, value=5))


def test_dashboard_raises_an_event_with_the_records_severity_unless_set() -> None:
    (event,) = emit(node("o", "dashboard", title="Intrusion", event_type="intrusion"))
    assert (event.kind, event.channel, event.recipients) == ("dashboard", None, ())
    assert {k: event.payload[k] for k in ("title", "event_type", "severity")} == \
        {"title": "Intrusion", "event_type": "intrusion", "severity": "medium"}
    (critical,) = emit(node("o", "dashboard", severity="critical"))
    assert critical.payload["severity"] == "critical" and critical.payload["title"] == "o"
