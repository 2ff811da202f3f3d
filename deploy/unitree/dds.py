"""CycloneDDS participants for the Unitree topics: domain id + network interface, no global config.

The robot speaks on domain 0 over its Ethernet NIC; simulators and tests use another domain on
``lo``. The loopback interface has no multicast, so on ``lo`` discovery runs over unicast to
127.0.0.1 (several participants on one host find each other through their port numbers).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic


def dds_config_xml(interface: str | None = None) -> str:
    """CycloneDDS XML for one domain bound to ``interface`` (None = CycloneDDS's own choice)."""
    if interface is None:
        return "<CycloneDDS><Domain id='any'></Domain></CycloneDDS>"
    loopback = interface in ("lo", "lo0") or interface.startswith("127.")
    discovery = (
        "<Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>50</MaxAutoParticipantIndex>"
        "<Peers><Peer address='127.0.0.1'/></Peers></Discovery>"
        if loopback
        else ""
    )
    multicast = "<AllowMulticast>false</AllowMulticast>" if loopback else ""
    return (
        "<CycloneDDS><Domain id='any'><General><Interfaces>"
        f"<NetworkInterface name='{interface}'/></Interfaces>{multicast}</General>{discovery}"
        "</Domain></CycloneDDS>"
    )


@dataclass
class DdsDomain:
    """A participant on ``domain_id`` over ``interface``; keeps the Domain object alive with it."""

    domain_id: int
    interface: str | None
    domain: Domain
    participant: DomainParticipant

    def writer(self, topic_name: str, msg_type: type, depth: int = 1) -> DataWriter:
        """Best-effort, keep-last writer (low-level control: the newest sample is the only one that matters)."""
        topic: Topic[Any] = Topic(self.participant, topic_name, msg_type)
        return DataWriter(self.participant, topic, qos=_qos(depth))

    def reader(self, topic_name: str, msg_type: type, depth: int = 1, listener: Any = None) -> DataReader:
        topic: Topic[Any] = Topic(self.participant, topic_name, msg_type)
        return DataReader(self.participant, topic, qos=_qos(depth), listener=listener)


def _qos(depth: int) -> Qos:
    return Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(depth))


def check_interface(interface: str | None, option: str = "interface") -> None:
    """ValueError naming ``option`` unless ``interface`` is None, an IP address or an interface of this machine."""
    if interface is None:
        return
    with contextlib.suppress(ValueError):  # not an IP address: an interface name
        ipaddress.ip_address(interface)
        return
    names = [name for _, name in socket.if_nameindex()]
    if interface not in names:
        raise ValueError(
            f"{option} {interface}: no such network interface on this machine (have: {', '.join(names)})"
        )


def open_domain(domain_id: int, interface: str | None = None) -> DdsDomain:
    """Create the participant. ``domain_id`` 0-232; ``interface`` e.g. ``"lo"`` or ``"eth0"``.

    ValueError (one line, naming domain and interface) for a bad domain id, an unknown interface or a
    domain CycloneDDS refuses to create.
    """
    from cyclonedds.core import DDSException

    if not 0 <= domain_id <= 232:
        raise ValueError(f"DDS domain id must be in [0, 232], got {domain_id}")
    check_interface(interface)
    try:
        domain = Domain(domain_id, dds_config_xml(interface))
        return DdsDomain(domain_id, interface, domain, DomainParticipant(domain_id))
    except DDSException as e:
        raise ValueError(
            f"DDS domain {domain_id} on interface {interface}: CycloneDDS refused it ({e})"
        ) from e
