#!/usr/bin/env python3
"""Emulated Arduino running StandardFirmata, on one end of a pty pair.

Speaks enough of Firmata 2.5 for firmata-io/johnny-five to connect unchanged: REPORT_VERSION, firmware
report, capability and analog-mapping responses, pin modes, REPORT_DIGITAL, DIGITAL_MESSAGE both ways,
SET_DIGITAL_PIN_VALUE. Like the real firmware, a digital port is reported only when it changes (and once
when reporting is switched on). Test control: JSON lines on stdin; events as JSON lines on stdout.
"""
import json, os, sys, threading, time, tty

path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)
lock = threading.Lock()
PINS = 20
modes = [0] * PINS            # 0 INPUT, 1 OUTPUT, 0x0B PULLUP
levels = [0] * PINS           # level the board sees on input pins / drives on outputs
reporting = [False] * 3
written = set()
pulses_sent = 0


def say(ev):
    sys.stdout.write(json.dumps(ev) + "\n")
    sys.stdout.flush()


def send(data):
    with lock:
        os.write(fd, bytes(data))


def seven_bit(s):
    out = []
    for ch in s.encode():
        out += [ch & 0x7F, (ch >> 7) & 0x7F]
    return out


def report_version():
    send([0xF9, 2, 5])


def report_firmware():
    send([0xF0, 0x79, 2, 5] + seven_bit("StandardFirmata.ino") + [0xF7])


def capabilities():
    body = [0xF0, 0x6C]
    for pin in range(PINS):
        body += [0x00, 1, 0x01, 1, 0x0B, 1]
        if pin >= 14:
            body += [0x02, 10]
        body += [0x7F]
    send(body + [0xF7])


def analog_mapping():
    send([0xF0, 0x6A] + [0x7F if p < 14 else p - 14 for p in range(PINS)] + [0xF7])


def port_value(port):
    v = 0
    for bit in range(8):
        pin = port * 8 + bit
        if pin < PINS and modes[pin] in (0, 0x0B) and levels[pin]:
            v |= 1 << bit
    return v


def send_port(port):
    if port < len(reporting) and reporting[port]:
        v = port_value(port)
        send([0x90 | port, v & 0x7F, (v >> 7) & 0x7F])


def set_output(pin, value):
    levels[pin] = value
    say({"event": "pin", "pin": pin, "value": value, "mode": modes[pin]})


def handle_sysex(msg):
    if not msg:
        return
    cmd = msg[0]
    if cmd == 0x79:
        report_firmware()
    elif cmd == 0x6B:
        capabilities()
    elif cmd == 0x69:
        analog_mapping()


def reader():
    buf = []
    sysex = None
    while True:
        try:
            data = os.read(fd, 256)
        except OSError:
            say({"event": "closed"})
            os._exit(0)
        if not data:
            continue
        for b in data:
            if sysex is not None:
                if b == 0xF7:
                    handle_sysex(sysex)
                    sysex = None
                else:
                    sysex.append(b)
                continue
            if b == 0xF0:
                sysex = []
                buf = []
                continue
            if b & 0x80:
                buf = [b]
            else:
                if not buf:
                    continue
                buf.append(b)
            cmd = buf[0]
            hi = cmd & 0xF0
            if cmd == 0xF9:
                report_version(); buf = []
            elif cmd == 0xFF:
                buf = []
            elif cmd == 0xF4 and len(buf) == 3:
                pin, mode = buf[1], buf[2]
                if pin < PINS:
                    modes[pin] = mode
                    if mode == 0x0B:
                        levels[pin] = 1   # pulled up: idles high
                    say({"event": "mode", "pin": pin, "mode": mode})
                buf = []
            elif cmd == 0xF5 and len(buf) == 3:
                set_output(buf[1], buf[2]); buf = []
            elif hi == 0xD0 and len(buf) == 2:
                port = cmd & 0x0F
                if port < len(reporting):
                    reporting[port] = bool(buf[1])
                    send_port(port)
                    say({"event": "report", "port": port, "on": reporting[port]})
                buf = []
            elif hi == 0xC0 and len(buf) == 2:
                buf = []
            elif hi == 0x90 and len(buf) == 3:
                port = cmd & 0x0F
                value = buf[1] | (buf[2] << 7)
                for bit in range(8):
                    pin = port * 8 + bit
                    if pin < PINS and modes[pin] == 1:
                        new = (value >> bit) & 1
                        if new != levels[pin] or pin not in written:
                            written.add(pin)
                            set_output(pin, new)
                buf = []
            elif hi == 0xE0 and len(buf) == 3:
                buf = []


def pulse_train(pin, count, hz, width_ms):
    global pulses_sent
    period = 1.0 / hz
    for _ in range(count):
        active = 0 if modes[pin] == 0x0B else 1
        levels[pin] = active
        send_port(pin >> 3)
        time.sleep(width_ms / 1000.0)
        levels[pin] = 1 - active
        send_port(pin >> 3)
        pulses_sent += 1
        time.sleep(max(0.0, period - width_ms / 1000.0))
    say({"event": "pulsed", "pin": pin, "total": pulses_sent})


threading.Thread(target=reader, daemon=True).start()
# A real Uno announces itself after the bootloader when the port is opened.
time.sleep(0.05)
report_version()
report_firmware()
say({"event": "ready"})

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["cmd"] == "pulses":
        threading.Thread(target=pulse_train, args=(cmd["pin"], cmd["count"], cmd.get("hz", 10), cmd.get("widthMs", 30)), daemon=True).start()
    elif cmd["cmd"] == "reset":
        report_version(); report_firmware()
    say({"event": "ack", "cmd": cmd["cmd"]})
