"""A Unitree-style DDS peer on cyclonedds-python 0.10.x, independent of hover (it imports nothing of it).

Run by ``tests/test_dds_cross_version.py`` in the second environment that ``scripts/build_dds010.sh``
builds (cyclonedds-python 0.10.2 on Debian's cyclonedds-dev 0.10.2). Its message types are generated
at start-up from ``unitree_go.idl`` beside this file with ``idlc -l py``; the C struct layout that the
Unitree CRC covers is computed from the same IDL (natural alignment), and the CRC is a table-driven
CRC-32 (poly 0x04C11DB7, MSB first, init 0xFFFFFFFF, over the little-endian words but the last) --
none of it shares code with hover, so agreement is evidence.

Roles:

- ``robot``: plays the H1. Publishes ``rt/lowstate`` at ``--state-hz`` (tick = ms since start,
  motor slot ``s`` at q = 0.01 * s rad, upright IMU, CRC set or 0 with ``--zero-crc``), presses remote
  buttons (``--press start@1.0``), and checks every ``rt/lowcmd`` (CRC, header, per-slot mode/q/kp/kd).
- ``controller``: plays a Unitree SDK controller. Reads ``rt/lowstate`` (CRC, tick, per-slot q) and
  publishes ``rt/lowcmd`` at ``--cmd-hz`` holding the pose it first measured, with the H1 gains per slot.

Discovery: ``--config unitree`` is the Unitree SDKs' own CycloneDDS configuration (the interface by
name, multicast as the interface allows, no peer list); ``--config unicast`` is hover's loopback one.
At the end (``--seconds`` or SIGTERM) a JSON report is written to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
IDL = HERE / "unitree_go.idl"

# H1 hardware motor slots (unitree_go, 20 slots; 9 unused) and the gains per joint, from the H1 notes.
SLOT_JOINTS = ["right_hip_roll", "right_hip_pitch", "right_knee", "left_hip_roll", "left_hip_pitch", "left_knee",
               "torso", "left_hip_yaw", "right_hip_yaw", None, "left_ankle", "right_ankle",
               "right_shoulder_pitch", "right_shoulder_roll", "right_shoulder_yaw", "right_elbow",
               "left_shoulder_pitch", "left_shoulder_roll", "left_shoulder_yaw", "left_elbow"]  # fmt: skip
GAINS = {
    "hip_yaw": (200, 5),
    "hip_roll": (200, 5),
    "hip_pitch": (200, 5),
    "knee": (300, 6),
    "ankle": (40, 2),
    "torso": (300, 6),
    "shoulder_pitch": (100, 2),
    "shoulder_roll": (100, 2),
    "shoulder_yaw": (100, 2),
    "elbow": (100, 2),
}
BUTTON_BITS = {"R1": 0, "L1": 1, "start": 2, "select": 3, "R2": 4, "L2": 5, "F1": 6, "F2": 7, "A": 8, "B": 9,
               "X": 10, "Y": 11, "up": 12, "right": 13, "down": 14, "left": 15}  # fmt: skip


def slot_gains(slot: int) -> tuple[float, float]:
    name = SLOT_JOINTS[slot]
    if name is None:
        return 0.0, 0.0
    return next(g for key, g in GAINS.items() if name.endswith(key))


def slot_mode(slot: int) -> int:
    return 0 if SLOT_JOINTS[slot] is None else (0x01 if slot >= 10 else 0x0A)


# ----- the C layout and the CRC, from the IDL -------------------------------------------------------------
_C_TYPES = {
    "octet": "B",
    "float": "f",
    "unsigned long": "I",
    "long": "i",
    "unsigned short": "H",
    "short": "h",
}


def parse_idl(text: str) -> dict[str, list[tuple[str, str, int]]]:
    """{struct name: [(IDL type, field name, count)]} for the plain structs of ``unitree_go.idl``."""
    text = re.sub(r"//[^\n]*", "", text)
    out = {}
    for name, body in re.findall(r"struct\s+(\w+)\s*\{(.*?)\};", text, re.S):
        fields = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            m = re.fullmatch(r"(.+?)\s+(\w+)(?:\[(\d+)\])?", " ".join(decl.split()))
            fields.append((m.group(1), m.group(2), int(m.group(3) or 1)))
        out[name] = fields
    return out


def c_format(structs: dict, name: str) -> tuple[str, int]:
    """(struct format without byte-order prefix, alignment) of ``name`` laid out as a C struct."""
    fmt, offset, align = [], 0, 1
    for ftype, _, count in structs[name]:
        if ftype in _C_TYPES:
            code = _C_TYPES[ftype]
            a = struct.calcsize(code)
            sub, size = code * count, a * count
        else:
            sub_fmt, a = c_format(structs, ftype)
            sub, size = sub_fmt * count, struct.calcsize("<" + sub_fmt) * count
        pad = -offset % a
        fmt.append("x" * pad + sub)
        offset += pad + size
        align = max(align, a)
    fmt.append("x" * (-offset % align))
    return "".join(fmt), align


def flatten(structs: dict, name: str, msg, out: list) -> None:
    for ftype, field, count in structs[name]:
        v = getattr(msg, field)
        if ftype in _C_TYPES:
            out.extend(list(v) if count > 1 else [v])
        else:
            for item in v if count > 1 else [v]:
                flatten(structs, ftype, item, out)


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def unitree_crc(packed: bytes) -> int:
    """CRC over all 32-bit little-endian words but the last, each word most significant bit first."""
    crc = 0xFFFFFFFF
    for (word,) in struct.iter_unpack("<I", packed[:-4]):
        for shift in (24, 16, 8, 0):
            crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) ^ (word >> shift)) & 0xFF]
    return crc


class Layout:
    def __init__(self) -> None:
        self.structs = parse_idl(IDL.read_text())
        self.formats = {
            n: struct.Struct("<" + c_format(self.structs, n)[0]) for n in ("LowCmd_", "LowState_")
        }

    def crc(self, name: str, msg) -> int:
        values: list = []
        flatten(self.structs, name, msg, values)
        return unitree_crc(self.formats[name].pack(*values))


# ----- DDS --------------------------------------------------------------------------------------------------
def config_xml(config: str, net: str) -> str:
    if config == "unitree":  # unitree_sdk2 / unitree_sdk2py ChannelFactoryInitialize(domain, net)
        return (
            "<CycloneDDS><Domain Id='any'><General><Interfaces>"
            f"<NetworkInterface name='{net}' priority='default' multicast='default'/>"
            "</Interfaces></General></Domain></CycloneDDS>"
        )
    return (
        "<CycloneDDS><Domain id='any'><General><Interfaces>"
        f"<NetworkInterface name='{net}'/></Interfaces><AllowMulticast>false</AllowMulticast></General>"
        "<Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>50</MaxAutoParticipantIndex>"
        "<Peers><Peer address='127.0.0.1'/></Peers></Discovery></Domain></CycloneDDS>"
    )


def generate_types(out_dir: str):
    """Run ``idlc -l py`` on the IDL into ``out_dir`` and import the generated module."""
    home = os.environ.get("CYCLONEDDS_HOME")
    idlc = os.path.join(home, "bin", "idlc") if home else "idlc"
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    subprocess.run([idlc, "-l", "py", str(IDL)], cwd=out_dir, env=env, check=True, capture_output=True)
    sys.path.insert(0, out_dir)
    import unitree_go.msg.dds_ as msgs  # noqa: PLC0415 - generated just now

    return msgs


class Rate:
    """Receipt times -> count, mean rate, largest gap."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def add(self, t: float) -> None:
        self.times.append(t)

    def summary(self, skip_s: float = 0.0) -> dict:
        t = [x for x in self.times if x - self.times[0] >= skip_s] if self.times else []
        if len(t) < 2:
            return {"n": len(self.times), "hz": 0.0, "max_gap_ms": None}
        gaps = [b - a for a, b in zip(t, t[1:], strict=False)]
        return {"n": len(self.times), "hz": (len(t) - 1) / (t[-1] - t[0]), "max_gap_ms": 1e3 * max(gaps)}


def run_robot(args, msgs, layout: Layout, stop: threading.Event) -> dict:
    from cyclonedds.domain import Domain, DomainParticipant
    from cyclonedds.pub import DataWriter
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    qos = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(1))
    domain = Domain(args.domain, config_xml(args.config, args.net))  # keep: the config lives with it
    dp = DomainParticipant(args.domain)
    writer = DataWriter(dp, Topic(dp, "rt/lowstate", msgs.LowState_), qos=qos)
    reader = DataReader(dp, Topic(dp, "rt/lowcmd", msgs.LowCmd_), qos=qos)
    presses = []
    for spec in args.press:
        button, _, at = spec.partition("@")
        presses.append((float(at), BUTTON_BITS[button]))
    rate = Rate()
    report = {"role": "robot", "cmd_received": 0, "cmd_crc_ok": 0, "cmd_crc_bad": 0, "cmd_bad_header": 0,
              "states_sent": 0, "first_active": None, "last": None, "damping_after": 0, "kinds": {}}  # fmt: skip
    period = 1.0 / args.state_hz
    t0 = time.monotonic()
    k = 0
    print("peer ready", flush=True)
    while not stop.is_set() and (args.seconds <= 0 or time.monotonic() - t0 < args.seconds):
        now = time.monotonic() - t0
        buttons = sum(1 << bit for at, bit in presses if at <= now < at + 0.2)
        motors = [msgs.MotorState_(mode=slot_mode(s), q=0.01 * s, dq=0.0, ddq=0.0, tau_est=0.0, q_raw=0.0,
                                   dq_raw=0.0, ddq_raw=0.0, temperature=30, lost=0, reserve=[0, 0])
                  for s in range(20)]  # fmt: skip
        remote = [0] * 40
        remote[2], remote[3] = buttons & 0xFF, buttons >> 8
        imu = msgs.IMUState_(
            quaternion=[1.0, 0.0, 0.0, 0.0],
            gyroscope=[0.0] * 3,
            accelerometer=[0.0, 0.0, 9.81],
            rpy=[0.0] * 3,
            temperature=40,
        )
        bms = msgs.BmsState_(
            version_high=1,
            version_low=0,
            status=0,
            soc=90,
            current=0,
            cycle=0,
            bq_ntc=[0, 0],
            mcu_ntc=[0, 0],
            cell_vol=[0] * 15,
        )
        state = msgs.LowState_(head=[0xFE, 0xEF], level_flag=0xFF, frame_reserve=0, sn=[0, 0], version=[0, 0],
                               bandwidth=0, imu_state=imu, motor_state=motors, bms_state=bms, foot_force=[0] * 4,
                               foot_force_est=[0] * 4, tick=int(now * 1000) & 0xFFFFFFFF, wireless_remote=remote,
                               bit_flag=0, adc_reel=0.0, temperature_ntc1=0, temperature_ntc2=0, power_v=50.0,
                               power_a=1.0, fan_frequency=[0] * 4, reserve=0, crc=0)  # fmt: skip
        if not args.zero_crc:
            state.crc = layout.crc("LowState_", state)
        writer.write(state)
        report["states_sent"] += 1
        for cmd in reader.take(N=16):
            if not isinstance(cmd, msgs.LowCmd_):
                continue
            t = time.monotonic() - t0
            rate.add(t)
            report["cmd_received"] += 1
            ok = int(cmd.crc) == layout.crc("LowCmd_", cmd)
            report["cmd_crc_ok" if ok else "cmd_crc_bad"] += 1
            if bytes(cmd.head) != b"\xfe\xef" or cmd.level_flag != 0xFF:
                report["cmd_bad_header"] += 1
            slots = [
                {"mode": int(m.mode), "q": m.q, "dq": m.dq, "tau": m.tau, "kp": m.kp, "kd": m.kd}
                for m in cmd.motor_cmd
            ]
            kps = [s["kp"] for s in slots]
            kind = (
                "zero_torque"
                if not any(kps) and not any(s["kd"] for s in slots)
                else "damping"
                if not any(kps)
                else "position"
            )
            report["kinds"][kind] = report["kinds"].get(kind, 0) + 1
            entry = {"time": t, "slots": slots, "crc_ok": ok}
            if kind == "position" and report["first_active"] is None:
                report["first_active"] = entry
            report["last"] = entry
            if kind == "position":
                report["last_position"] = entry
        k += 1
        time.sleep(max(t0 + k * period - time.monotonic(), 0.0))
    report["cmd_rate"] = rate.summary(skip_s=0.5)
    report["state_hz"] = report["states_sent"] / max(time.monotonic() - t0, 1e-9)
    del reader, writer, dp, domain
    return report


def run_controller(args, msgs, layout: Layout, stop: threading.Event) -> dict:
    from cyclonedds.domain import Domain, DomainParticipant
    from cyclonedds.pub import DataWriter
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic

    qos = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(1))
    domain = Domain(args.domain, config_xml(args.config, args.net))  # keep: the config lives with it
    dp = DomainParticipant(args.domain)
    writer = DataWriter(dp, Topic(dp, "rt/lowcmd", msgs.LowCmd_), qos=qos)
    reader = DataReader(dp, Topic(dp, "rt/lowstate", msgs.LowState_), qos=qos)
    rate = Rate()
    report = {
        "role": "controller",
        "state_received": 0,
        "state_crc_ok": 0,
        "state_crc_bad": 0,
        "cmds_sent": 0,
        "first_state": None,
        "last_state": None,
        "ticks": [],
    }
    hold_q = None
    period = 1.0 / args.cmd_hz
    t0 = time.monotonic()
    k = 0
    print("peer ready", flush=True)
    while not stop.is_set() and (args.seconds <= 0 or time.monotonic() - t0 < args.seconds):
        for st in reader.take(N=16):
            if not isinstance(st, msgs.LowState_):
                continue
            t = time.monotonic() - t0
            rate.add(t)
            report["state_received"] += 1
            ok = int(st.crc) == layout.crc("LowState_", st)
            report["state_crc_ok" if ok else "state_crc_bad"] += 1
            entry = {
                "time": t,
                "tick": int(st.tick),
                "q": [m.q for m in st.motor_state],
                "quaternion": list(st.imu_state.quaternion),
                "crc_ok": ok,
            }
            report["first_state"] = report["first_state"] or entry
            report["last_state"] = entry
            report["ticks"].append((t, int(st.tick)))
            if hold_q is None and ok:
                hold_q = entry["q"]
        if hold_q is not None:
            motors = []
            for s in range(20):
                kp, kd = slot_gains(s)
                q = hold_q[s] if SLOT_JOINTS[s] is not None else 2.146e9
                dq = 0.0 if SLOT_JOINTS[s] is not None else 16000.0
                motors.append(
                    msgs.MotorCmd_(mode=slot_mode(s), q=q, dq=dq, tau=0.0, kp=kp, kd=kd, reserve=[0] * 3)
                )
            cmd = msgs.LowCmd_(head=[0xFE, 0xEF], level_flag=0xFF, frame_reserve=0, sn=[0, 0], version=[0, 0],
                               bandwidth=0, motor_cmd=motors, bms_cmd=msgs.BmsCmd_(off=0, reserve=[0] * 3),
                               wireless_remote=[0] * 40, led=[0] * 12, fan=[0] * 2, gpio=0, reserve=0, crc=0)  # fmt: skip
            cmd.crc = layout.crc("LowCmd_", cmd)
            writer.write(cmd)
            report["cmds_sent"] += 1
        k += 1
        time.sleep(max(t0 + k * period - time.monotonic(), 0.0))
    ticks = report.pop("ticks")
    report["state_rate"] = rate.summary(skip_s=0.5)
    report["tick_advance_ms"] = ticks[-1][1] - ticks[0][1] if ticks else 0
    report["tick_wall_ms"] = 1e3 * (ticks[-1][0] - ticks[0][0]) if ticks else 0
    report["cmd_hz"] = report["cmds_sent"] / max(time.monotonic() - t0, 1e-9)
    del reader, writer, dp, domain
    return report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("role", choices=["robot", "controller"])
    p.add_argument("--domain", type=int, default=1)
    p.add_argument("--net", default="lo")
    p.add_argument("--config", choices=["unitree", "unicast"], default="unitree")
    p.add_argument("--seconds", type=float, default=0.0)
    p.add_argument("--state-hz", type=float, default=500.0)
    p.add_argument("--cmd-hz", type=float, default=500.0)
    p.add_argument("--press", action="append", default=[], help="BUTTON@SECONDS (robot role)")
    p.add_argument("--zero-crc", action="store_true", help="robot role: send crc = 0")
    p.add_argument("--report", required=True)
    args = p.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    import cyclonedds.__library__

    with tempfile.TemporaryDirectory() as tmp:
        msgs = generate_types(tmp)
        layout = Layout()
        run = run_robot if args.role == "robot" else run_controller
        report = run(args, msgs, layout, stop)
    from importlib.metadata import version

    report["cyclonedds_python"] = version("cyclonedds")
    report["cyclonedds_library"] = getattr(getattr(cyclonedds, "__library__", None), "library_path", None)
    report["layout_sizes"] = {n: s.size for n, s in layout.formats.items()}
    Path(args.report).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
