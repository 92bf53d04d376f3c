#!/usr/bin/python3
"""Boot build/lamina.iso in QEMU or Bochs: one definition of every setup.

`make run`, the integration tests and the benchmarks all start emulators
through this module, so a setup means the same machine everywhere.

Library use (tests, benchmarks):

    import emu
    m = emu.start("qemu-bios", "build/lamina.iso", "build/test-logs/qemu-bios")
    try:
        m.expect(r"lamina> ", timeout=60)   # fails fast on PANIC or exit
        m.sendline("version")
    finally:
        m.stop()

The serial line is a pseudo-terminal that this module opens and sets raw;
`Machine.child` is a pexpect fdspawn on its master (text mode, UTF-8) and
everything the machine prints goes to LOGDIR/serial.log. The emulator's
own output goes to LOGDIR/qemu.log, or LOGDIR/bochs.log and bochs.out.

With start(..., serial_unix=PATH) the serial line is a Unix socket server
instead, for a client such as build/lamina-ctl (tests/integration/
test_json.py): QEMU's own `-chardev socket`, or for Bochs, which has no
such mode, a bridge in this process from its pseudo-terminal. One client
at a time; what the machine prints while none is connected goes only to
serial.log, which Machine.expect() then follows (there is no `child`).

Command line:

    emu.py run SETUP [--iso PATH] [-- EXTRA...]   serial console here
    emu.py boot SETUP [--iso PATH]                headless: time to prompt
    emu.py argv SETUP [--iso PATH]                print the command line
    emu.py list                                   the setups
    emu.py kvm                                    can QEMU use nested KVM?

Facts behind the choices (firmware paths, KVM detection, Bochs' debugger
and PTY serial): shared/PLATFORM.md.
"""

import argparse
import dataclasses
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import tty

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build")
DEFAULT_ISO = os.path.join(BUILD, "lamina.iso")

QEMU = "qemu-system-x86_64"
BOCHS = "bochs"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
BOCHS_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
BOCHS_VGABIOS = "/usr/share/vgabios/vgabios.bin"
BOCHS_PLUGINS = "/usr/lib/x86_64-linux-gnu/bochs/plugins"
BOCHS_SDL2 = os.path.join(BOCHS_PLUGINS, "libbx_sdl2_gui.so")

# Lamina's panic message starts "PANIC:"; Machine.expect stops at it.
PANIC_RE = re.compile(r"PANIC")
PROMPT = "lamina> "


@dataclasses.dataclass(frozen=True)
class Setup:
    name: str
    emulator: str           # "qemu" or "bochs"
    cpus: int
    mem_mib: int = 256
    firmware: str = "bios"  # "bios" (SeaBIOS / Bochs BIOS) or "uefi" (OVMF)
    machine: str = "pc"     # QEMU machine type
    media: str = "cdrom"    # "cdrom" or "usb" (xHCI usb-storage stick)
    bochs_model: str = ""   # Bochs `cpu: model=`
    # Bochs' emulated second is `ips` instructions: BIOS and firmware delays
    # cost fewer host seconds when it is low (GRUB reached after 1.4 s at
    # 4M, 2 s at 10M, 12 s at 100M with 2 CPUs); timeouts the kernel
    # measures in emulated time stay consistent either way.
    bochs_ips: int = 10_000_000
    # Seconds between typed bytes. Bochs reads its PTY whether or not the
    # UART's 16-byte FIFO has room and drops what does not fit; QEMU waits.
    type_delay: float = 0.0
    boot_timeout: float = 60.0  # seconds to the prompt, generous, on 2 cores
    what: str = ""


SETUPS = {s.name: s for s in (
    Setup("qemu-bios", "qemu", cpus=4, boot_timeout=60,
          what="QEMU, SeaBIOS, CD-ROM, 4 CPUs (SVM+NPT under TCG)"),
    Setup("qemu-linux", "qemu", cpus=4, mem_mib=768, boot_timeout=60,
          type_delay=0.02,
          what="QEMU, SeaBIOS, CD-ROM, 4 CPUs, 768 MiB (Linux guests, `make run`)"),
    Setup("qemu-uefi", "qemu", cpus=2, firmware="uefi", boot_timeout=90,
          what="QEMU, OVMF (UEFI), CD-ROM, 2 CPUs"),
    Setup("qemu-uefi-demo", "qemu", cpus=4, mem_mib=768, firmware="uefi",
          boot_timeout=90,
          what="QEMU, OVMF (UEFI), CD-ROM, 4 CPUs, 768 MiB (`make run-uefi`)"),
    Setup("qemu-usb", "qemu", cpus=2, machine="q35", media="usb",
          boot_timeout=60,
          what="QEMU q35, SeaBIOS, image as a USB stick on xHCI, 2 CPUs"),
    Setup("qemu-uefi-usb", "qemu", cpus=2, firmware="uefi", machine="q35",
          media="usb", boot_timeout=90,
          what="QEMU q35, OVMF (UEFI, no CSM), image as a USB stick on "
               "xHCI, 2 CPUs (build/lamina-usb*.img: tools/mkusb.sh)"),
    Setup("qemu-uefi-usb-demo", "qemu", cpus=4, mem_mib=768, firmware="uefi",
          machine="q35", media="usb", boot_timeout=120,
          what="QEMU q35, OVMF, USB stick, 4 CPUs, 768 MiB (the demo "
               "config on build/lamina-usb-efi.img)"),
    Setup("bochs-vmx", "bochs", cpus=2, bochs_model="corei7_skylake_x",
          boot_timeout=180, type_delay=0.01,
          what="Bochs, Core i7 Skylake-X (VMX+EPT), 2 CPUs"),
    Setup("bochs-vmx-4", "bochs", cpus=4, mem_mib=512,
          bochs_model="corei7_skylake_x",
          boot_timeout=180, type_delay=0.01,
          what="Bochs, Core i7 Skylake-X (VMX+EPT), 4 CPUs (multi-vCPU VMs)"),
    Setup("bochs-vmx-linux", "bochs", cpus=2, mem_mib=512,
          bochs_model="corei7_skylake_x", boot_timeout=180, type_delay=0.05,
          what="Bochs, Core i7 Skylake-X (VMX+EPT), 2 CPUs, 512 MiB (Linux guests)"),
    Setup("bochs-vmx-sandy", "bochs", cpus=1,
          bochs_model="corei7_sandy_bridge_2600k", boot_timeout=120,
          type_delay=0.01,
          what="Bochs, Core i7 Sandy Bridge (VMX+EPT, no 1G EPT pages), 1 CPU"),
    Setup("bochs-svm-2", "bochs", cpus=2, bochs_model="ryzen",
          boot_timeout=180, type_delay=0.01,
          what="Bochs, Ryzen (SVM+NPT), 2 CPUs"),
    Setup("bochs-svm", "bochs", cpus=1, bochs_model="ryzen",
          boot_timeout=120, type_delay=0.01,
          what="Bochs, Ryzen (SVM+NPT), 1 CPU"),
)}


class EmuError(Exception):
    """Base of everything this module raises about a machine."""


class MissingDependency(EmuError):
    """An emulator binary or firmware file is not installed."""

    def __init__(self, what, package):
        super().__init__(f"{what} not found: install the Debian package "
                         f"'{package}' (apt-get install {package}, or "
                         f"tools/deps.sh)")
        self.package = package


class SerialError(EmuError):
    """The serial line did not say what was expected; `tail` is its end."""

    def __init__(self, message, tail=""):
        super().__init__(message + (f"\n--- last serial output ---\n{tail}"
                                    if tail else ""))
        self.tail = tail


class Panic(SerialError):
    pass


class Exited(SerialError):
    pass


class Timeout(SerialError):
    pass


# ---------------------------------------------------------------- host checks

def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kvm_status():
    """(usable, reason): may QEMU use `-accel kvm -cpu host` here?

    Needs all three: a vmx/svm flag in /proc/cpuinfo, nested virtualisation
    on in kvm_intel/kvm_amd, and a read/writable /dev/kvm. Some hosts have
    a /dev/kvm without the rest (a paravirtual KVM on which a GRUB-booted
    kernel never runs), so /dev/kvm alone proves nothing.
    """
    flags = _cpu_flags()
    vendor = "vmx" if "vmx" in flags else "svm" if "svm" in flags else None
    if vendor is None:
        return False, "no vmx or svm flag in /proc/cpuinfo"
    module = "kvm_intel" if vendor == "vmx" else "kvm_amd"
    path = f"/sys/module/{module}/parameters/nested"
    try:
        with open(path) as f:
            nested = f.read().strip()
    except OSError:
        return False, f"{path} missing ({module} not loaded)"
    if nested not in ("Y", "1"):
        return False, f"{path} says {nested!r}: nested virtualisation off"
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        return False, f"/dev/kvm not usable: {e.strerror}"
    return True, f"{vendor} in /proc/cpuinfo, {module} nested={nested}, " \
                 "/dev/kvm read/writable"


def check_available(setup, iso=None):
    """Raise MissingDependency naming the Debian package when needed."""
    setup = _setup(setup)
    need = []
    if setup.emulator == "qemu":
        need.append((shutil.which(QEMU), QEMU, "qemu-system-x86"))
        if setup.firmware == "uefi":
            need += [(_exists(OVMF_CODE), OVMF_CODE, "ovmf"),
                     (_exists(OVMF_VARS), OVMF_VARS, "ovmf")]
    else:
        need += [(shutil.which(BOCHS), BOCHS, "bochs"),
                 (_exists(BOCHS_SDL2), "Bochs SDL2 display plugin "
                  f"({BOCHS_SDL2})", "bochs-sdl"),
                 (_exists(BOCHS_BIOS), BOCHS_BIOS, "bochsbios"),
                 (_exists(BOCHS_VGABIOS), BOCHS_VGABIOS, "vgabios")]
    for found, what, package in need:
        if not found:
            raise MissingDependency(what, package)
    if iso is not None and not os.path.isfile(iso):
        raise EmuError(f"{iso} not found: build it with `make iso`")


def _exists(path):
    return path if os.path.exists(path) else None


def _setup(setup):
    if isinstance(setup, Setup):
        return setup
    try:
        return SETUPS[setup]
    except KeyError:
        raise EmuError(f"unknown setup {setup!r}; known: "
                       + ", ".join(SETUPS)) from None


# ---------------------------------------------------------------- QEMU

def qemu_argv(setup, iso, rundir, serial, extra_args=()):
    """The QEMU command line; `serial` is a -serial argument."""
    setup = _setup(setup)
    usable, _ = kvm_status()
    accel = ["-accel", "kvm", "-cpu", "host"] if usable else \
        ["-accel", "tcg", "-cpu", "qemu64,+svm,+npt"]
    argv = [QEMU, "-name", f"lamina-{setup.name}", "-machine", setup.machine,
            *accel, "-smp", str(setup.cpus), "-m", str(setup.mem_mib),
            "-display", "none", "-no-reboot", "-nic", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
            "-serial", serial]
    if not serial.startswith("mon:"):
        argv += ["-monitor", "none"]
    if setup.firmware == "uefi":
        vars_copy = os.path.join(rundir, "OVMF_VARS_4M.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        argv += ["-drive", "if=pflash,format=raw,unit=0,readonly=on,"
                 f"file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    if setup.media == "usb":
        argv += ["-drive", f"if=none,id=stick,format=raw,readonly=on,"
                 f"file={_qemu_path(iso)}",
                 "-device", "qemu-xhci,id=xhci",
                 "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0"]
    else:
        argv += ["-drive", f"media=cdrom,index=2,readonly=on,"
                 f"file={_qemu_path(iso)}", "-boot", "d"]
    return argv + list(extra_args)


def _qemu_path(path):
    # A comma in a -drive file= value is written twice.
    return os.path.abspath(path).replace(",", ",,")


# ---------------------------------------------------------------- Bochs

def bochs_files(setup, iso, rundir, serial_dev, extra_lines=()):
    """Write bochsrc and the debugger command file; return the argv."""
    setup = _setup(setup)
    cpu = f"cpu: model={setup.bochs_model}, count={setup.cpus}, " \
          f"ips={setup.bochs_ips}"
    if setup.cpus > 1:
        cpu += ", quantum=1"
    lines = [
        f"# Generated by tools/emu.py for setup {setup.name}",
        f"romimage: file={BOCHS_BIOS}",
        f"vgaromimage: file={BOCHS_VGABIOS}",
        cpu,
        f"memory: guest={setup.mem_mib}, host={setup.mem_mib}",
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        f"ata0-master: type=cdrom, path=\"{os.path.abspath(iso)}\", "
        "status=inserted",
        "boot: cdrom",
        "display_library: sdl2",
        "magic_break: enabled=1",
        "port_e9_hack: enabled=1",
        f"log: {os.path.join(rundir, 'bochs.log')}",
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        f"com1: enabled=1, mode=term, dev={serial_dev}",
        *extra_lines,
    ]
    rc = os.path.join(rundir, "bochsrc")
    with open(rc, "w") as f:
        f.write("\n".join(lines) + "\n")
    # This Debian build has the internal debugger: without "c" it stops at
    # its prompt. Later stops are answered by BochsDebugger: "quit" at a
    # magic break (xchg bx,bx), "c" at anything else.
    cmds = os.path.join(rundir, "bochs-cmds")
    with open(cmds, "w") as f:
        f.write("c\n")
    return [BOCHS, "-q", "-f", rc, "-rc", cmds]


def bochs_env():
    env = dict(os.environ)
    env["SDL_VIDEODRIVER"] = "dummy"
    env["SDL_AUDIODRIVER"] = "dummy"
    return env


class BochsDebugger(threading.Thread):
    """Answers the Bochs debugger's stops; copies its output to bochs.out.

    A magic break (`xchg bx,bx`, "(N) Magic breakpoint") is the guest's
    way to end the run: answer "quit" (Bochs exits 0). With 2 or more
    CPUs, Bochs 2.7's debugger also stops after a machine reset (the
    `reboot` command); answer "c" there, or Bochs would sit at its prompt.
    The stops seen are in `stops`.
    """

    MAX_CONTINUES = 50

    def __init__(self, proc, out_path):
        super().__init__(name="bochs-debugger", daemon=True)
        self.proc = proc
        self.out_path = out_path
        self.stops = []

    def run(self):
        fd = self.proc.stdout.fileno()
        startup_seen = False
        pending = ""
        with open(self.out_path, "ab") as out:
            while True:
                data = self._read(fd, None)
                if not data:
                    break
                out.write(data)
                pending += data.decode("utf-8", "replace")
                if "Next at t=" not in pending:
                    continue
                # The rest of the stop report (one line per CPU) follows.
                while True:
                    more = self._read(fd, 0.3)
                    if not more:
                        break
                    out.write(more)
                    pending += more.decode("utf-8", "replace")
                out.flush()
                if not startup_seen:  # the report before the rc file's "c"
                    startup_seen = True
                    pending = ""
                    continue
                magic = "Magic breakpoint" in pending
                self.stops.append("magic" if magic else "other")
                cmd = "quit" if magic or len(self.stops) > \
                    self.MAX_CONTINUES else "c"
                out.write(f"[emu.py] debugger stop ({self.stops[-1]}): "
                          f"{cmd}\n".encode())
                out.flush()
                pending = ""
                try:
                    os.write(self.proc.stdin.fileno(), cmd.encode() + b"\n")
                except OSError:
                    break

    @staticmethod
    def _read(fd, timeout):
        if timeout is not None:
            r, _, _ = select.select([fd], [], [], timeout)
            if not r:
                return b""
        try:
            return os.read(fd, 65536)
        except OSError:
            return b""


def spawn_bochs(setup, iso, rundir, serial_dev, extra_lines=()):
    """Start Bochs on `iso` with COM1 on `serial_dev`; return the Popen.
    bochs.out in `rundir` gets its console output."""
    argv = bochs_files(setup, iso, rundir, serial_dev, extra_lines)
    with open(os.path.join(rundir, "command"), "w") as f:
        f.write(" ".join(argv) + "\n")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=rundir, env=bochs_env(),
                            start_new_session=True)
    proc.debugger = BochsDebugger(proc, os.path.join(rundir, "bochs.out"))
    proc.debugger.start()
    return proc


def spawn_qemu(setup, iso, rundir, serial_dev, extra_args=()):
    """Start QEMU on `iso` with its serial port on `serial_dev`; return the
    Popen. qemu.log in `rundir` gets its output."""
    qmp = _qmp_path(rundir)
    if os.path.exists(qmp):
        os.unlink(qmp)
    argv = qemu_argv(setup, iso, rundir, serial_dev, extra_args)
    argv += ["-qmp", f"unix:{_qemu_path(qmp)},server=on,wait=off"]
    with open(os.path.join(rundir, "command"), "w") as f:
        f.write(" ".join(argv) + "\n")
    with open(os.path.join(rundir, "qemu.log"), "wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=rundir,
                                start_new_session=True)


def _qmp_path(rundir):
    """Where QEMU's QMP socket for a run in `rundir` is: RUNDIR/qmp.sock, or
    a name under /tmp when that path is too long for a Unix socket."""
    path = os.path.join(os.path.abspath(rundir), "qmp.sock")
    if len(path.encode()) < 100:
        return path
    import hashlib
    tag = hashlib.sha1(path.encode()).hexdigest()[:16]
    return f"/tmp/lamina-qmp-{tag}.sock"


class QmpError(EmuError):
    """QEMU's QMP socket refused a command or did not answer."""


def qmp_command(path, command, timeout=10.0, **arguments):
    """Run one QMP command on the socket at `path`; return its "return"
    value. Events that arrive first are skipped."""
    import json
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        while True:
            try:
                sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise QmpError(f"no QMP socket at {path}") from None
                time.sleep(0.1)
        reader = sock.makefile("rb")

        def reply():
            while True:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    line = reader.readline()
                except socket.timeout:
                    raise QmpError(f"{command}: no answer within "
                                   f"{timeout:g} s") from None
                if not line:
                    raise QmpError(f"{command}: QEMU closed the socket")
                msg = json.loads(line)
                if "return" in msg or "error" in msg or "QMP" in msg:
                    return msg

        def execute(name, args=None):
            req = {"execute": name}
            if args:
                req["arguments"] = args
            sock.sendall(json.dumps(req).encode() + b"\n")
            msg = reply()
            if "error" in msg:
                raise QmpError(f"{name}: {msg['error'].get('desc', msg)}")
            return msg.get("return")

        reply()  # the greeting
        execute("qmp_capabilities")
        return execute(command, arguments)


# ---------------------------------------------------------------- machines

class _Transcript:
    """pexpect logfile: serial.log on disk plus the whole text in memory."""

    def __init__(self, path):
        self.file = open(path, "w", encoding="utf-8", errors="replace")
        self.parts = []

    def write(self, s):
        self.parts.append(s)
        if not self.file.closed:
            self.file.write(s)

    def flush(self):
        if not self.file.closed:
            self.file.flush()

    def close(self):
        self.file.close()

    def text(self):
        return "".join(self.parts)


class _LogFile:
    """The transcript when another writer owns serial.log (socket mode)."""

    def __init__(self, path):
        self.path = path

    def text(self):
        try:
            with open(self.path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def write(self, s):
        pass

    def flush(self):
        pass

    def close(self):
        pass


class _SerialBridge(threading.Thread):
    """A Unix socket server for a pseudo-terminal serial line, as QEMU's
    `-chardev socket,server=on,wait=off` is for its own: one client at a
    time, output while none is connected dropped; everything the machine
    prints goes to `log_path`. What the client sends is typed with the
    setup's pace (Setup.type_delay)."""

    def __init__(self, master, path, log_path, delay):
        super().__init__(name="serial-unix", daemon=True)
        self.master = master
        self.delay = delay
        self.log = open(log_path, "ab", buffering=0)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(4)
        self.client = None
        self._stopping = threading.Event()

    def stop(self):
        self._stopping.set()
        self.join(2)
        for s in (self.client, self.listener):
            if s is not None:
                s.close()
        self.log.close()

    def run(self):
        while not self._stopping.is_set():
            peer = self.client or self.listener
            r, _, _ = select.select([self.master, peer], [], [], 0.1)
            if self.master in r:
                self._output()
            if peer not in r:
                continue
            if peer is self.listener:
                self.client, _ = self.listener.accept()
                continue
            if peer is not self.client:
                continue  # _output() dropped it: the client went away
            try:
                data = self.client.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.client.close()
                self.client = None
            for i in range(len(data)):
                os.write(self.master, data[i:i + 1])
                # Keep showing output while typing slowly.
                if select.select([self.master], [], [], self.delay)[0]:
                    self._output()

    def _output(self):
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        self.log.write(data)
        if self.client is not None:
            try:
                self.client.sendall(data)
            except OSError:
                self.client.close()
                self.client = None


class Machine:
    """A running emulator with its serial line.

    child: pexpect fdspawn on the serial line (text, UTF-8, bad bytes
    replaced). Prefer expect()/send()/sendline() here: they stop at once on
    PANIC or when the emulator exits instead of waiting for the timeout.
    """

    def __init__(self, setup, proc, master, slave, logdir, emulator_log,
                 serial_unix=None, bridge=None):
        import pexpect.fdpexpect
        self.setup = setup
        self.proc = proc
        self.logdir = logdir
        self.emulator_log = emulator_log
        self.serial_log = os.path.join(logdir, "serial.log")
        self.serial_unix = serial_unix
        self.started = time.monotonic()
        self._master = master
        self._slave = slave
        self._bridge = bridge
        self._stopped = False
        if serial_unix:
            # The emulator (or the bridge) writes serial.log: follow it.
            self.transcript = _LogFile(self.serial_log)
            self.child = None
            self.before = ""
            self.match = None
            self._log_pos = 0
            return
        self.transcript = _Transcript(self.serial_log)
        self.child = pexpect.fdpexpect.fdspawn(
            master, timeout=30, maxread=4096, encoding="utf-8",
            codec_errors="replace")
        self.child.logfile_read = self.transcript

    # -- process
    @property
    def returncode(self):
        return self.proc.poll()

    def wait(self, timeout):
        """The exit status, or None if still running after `timeout`."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Kill the emulator's process group and close the line. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.proc.poll() is None:
            _killpg(self.proc.pid, signal.SIGTERM)
            if self.wait(3) is None:
                _killpg(self.proc.pid, signal.SIGKILL)
                self.wait(5)
        else:
            _killpg(self.proc.pid, signal.SIGKILL)  # stray children
        _close_pipes(self.proc)
        if self._bridge is not None:
            self._bridge.stop()
        try:
            if self.child is not None:
                self._drain(0.2)
        except Exception:
            pass
        for fd in (self._master, self._slave):
            try:
                if fd is not None:
                    os.close(fd)
            except OSError:
                pass
        self.transcript.close()
        qmp = _qmp_path(self.logdir)
        if qmp.startswith("/tmp/") and os.path.exists(qmp):
            os.unlink(qmp)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- QEMU's monitor (QMP)
    def qmp(self, command, timeout=10.0, **arguments):
        """Run a QMP command in this QEMU (e.g. "inject-nmi", or
        "human-monitor-command" with command_line=...); return its result."""
        if self.setup.emulator != "qemu":
            raise EmuError(f"{self.setup.name}: QMP needs QEMU")
        return qmp_command(_qmp_path(self.logdir), command, timeout,
                           **arguments)

    def hmp(self, line, timeout=10.0):
        """A human-monitor command (e.g. "mce 0 1 ..."); return its text."""
        return self.qmp("human-monitor-command", timeout,
                        **{"command-line": line})

    def screendump(self, name="screen.ppm"):
        """Save the display as a PPM under the log directory; return the
        path. The file stays there for a person to look at."""
        path = os.path.join(self.logdir, name)
        if os.path.exists(path):
            os.unlink(path)
        self.qmp("screendump", filename=path)
        return path

    # -- serial line
    def send(self, data):
        """Type `data` (str or bytes) on the serial line, paced as the
        setup needs (see Setup.type_delay)."""
        if self.serial_unix:
            raise EmuError(f"{self.setup.name}: the serial line is the Unix "
                           f"socket {self.serial_unix}: connect there")
        if isinstance(data, str):
            data = data.encode("utf-8")
        delay = self.setup.type_delay
        if not delay:
            os.write(self._master, data)
            return
        for i in range(len(data)):
            os.write(self._master, data[i:i + 1])
            time.sleep(delay)

    def sendline(self, line=""):
        """Type a line and Enter (CR, as a terminal sends it)."""
        self.send((line.encode("utf-8") if isinstance(line, str) else line)
                  + b"\r")

    def expect(self, patterns, timeout):
        """Wait for a regex (or one of a list); return the index matched.

        Raises Panic when PANIC appears first, Exited when the emulator ends
        and Timeout after `timeout` seconds; each carries the output's end.
        child.before / child.match / child.after are set as in pexpect.
        """
        import pexpect
        single = not isinstance(patterns, (list, tuple))
        pats = [patterns] if single else list(patterns)
        compiled = [re.compile(p) if isinstance(p, str) else p for p in pats]
        if self.serial_unix:
            i = self._expect_log(compiled, pats, timeout)
            return 0 if single else i
        panic = len(compiled)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                i = self.child.expect(compiled + [PANIC_RE],
                                      timeout=max(0.0, min(0.25, left)))
            except pexpect.TIMEOUT:
                if self.proc.poll() is not None:
                    self._drain(0.3)
                    raise Exited(f"{self.setup.name}: emulator exited with "
                                 f"status {self.proc.returncode} while "
                                 f"waiting for {_describe(pats)}",
                                 self.tail()) from None
                if left <= 0:
                    raise Timeout(f"{self.setup.name}: no {_describe(pats)}"
                                  f" within {timeout:g} s", self.tail()) \
                        from None
                continue
            except pexpect.EOF:
                raise Exited(f"{self.setup.name}: serial line closed while "
                             f"waiting for {_describe(pats)}",
                             self.tail()) from None
            if i == panic:
                self._drain(1.0)
                raise Panic(f"{self.setup.name}: PANIC on the serial line "
                            f"while waiting for {_describe(pats)}",
                            self.tail())
            return 0 if single else i

    def _expect_log(self, compiled, pats, timeout):
        """expect() on serial.log, from where the last match ended; sets
        self.before and self.match."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.transcript.text()
            found = None
            for i, c in enumerate(compiled + [PANIC_RE]):
                m = c.search(text, self._log_pos)
                if m and (found is None or m.start() < found[1].start()):
                    found = (i, m)
            if found:
                i, m = found
                self.before = text[self._log_pos:m.start()]
                self.match = m
                self._log_pos = m.end()
                if i == len(compiled):
                    time.sleep(1.0)
                    raise Panic(f"{self.setup.name}: PANIC on the serial "
                                f"line while waiting for {_describe(pats)}",
                                self.tail())
                return i
            if self.proc.poll() is not None:
                raise Exited(f"{self.setup.name}: emulator exited with "
                             f"status {self.proc.returncode} while waiting "
                             f"for {_describe(pats)}", self.tail())
            if time.monotonic() > deadline:
                raise Timeout(f"{self.setup.name}: no {_describe(pats)} "
                              f"within {timeout:g} s", self.tail())
            time.sleep(0.05)

    def tail(self, chars=3000):
        """The end of the serial output, line ends made plain for reading."""
        text = self.transcript.text()[-chars:]
        return text.replace("\r\n", "\n").replace("\r", "")

    def text_until_halted(self, timeout=60):
        """The serial output up to "PANIC: cpu N: system halted", line ends
        made plain, read on past the PANIC that expect() stops at. Raises
        Timeout when it does not come within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.transcript.text()
            end = re.search(r"PANIC: cpu \d+: system halted", text)
            if end:
                return text[:end.end()].replace("\r\n", "\n")
            self._drain(0.5)
        raise Timeout(f"no 'system halted' within {timeout} s", self.tail())

    def _drain(self, seconds):
        """Read what is left on the line for up to `seconds` (into the log)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self._master], [], [], 0.05)
            if not r:
                if self.proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                break
            if not data:
                break
            self.transcript.write(data.decode("utf-8", "replace"))
        self.transcript.flush()


def _describe(pats):
    return " or ".join(repr(p if isinstance(p, str) else p.pattern)
                       for p in pats)


def _close_pipes(proc):
    debugger = getattr(proc, "debugger", None)
    if debugger is not None:
        debugger.join(2)
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass


def _killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _open_serial_pty():
    master, slave = os.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[4] = attrs[5] = termios.B115200
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave, os.ttyname(slave)


def start(setup, iso=DEFAULT_ISO, logdir=None, extra_args=(),
          serial_unix=None):
    """Boot `iso` in `setup`; return a Machine. Logs and run files go to
    `logdir` (default build/run/SETUP), which is emptied first.

    extra_args: more QEMU arguments (e.g. "-icount", "shift=0"), or for
    Bochs more bochsrc lines (e.g. "clock: sync=none").
    serial_unix: a path for a Unix socket server that is the serial line
    (see the top of this file); a file there is removed first.
    """
    setup = _setup(setup)
    check_available(setup, iso)
    logdir = os.path.abspath(logdir or os.path.join(BUILD, "run", setup.name))
    if os.path.isdir(logdir):
        shutil.rmtree(logdir)
    os.makedirs(logdir)
    if serial_unix:
        return _start_unix(setup, iso, logdir, extra_args, serial_unix)
    master, slave, slave_name = _open_serial_pty()
    try:
        if setup.emulator == "qemu":
            proc = spawn_qemu(setup, iso, logdir, slave_name, extra_args)
            emulator_log = os.path.join(logdir, "qemu.log")
        else:
            proc = spawn_bochs(setup, iso, logdir, slave_name, extra_args)
            emulator_log = os.path.join(logdir, "bochs.log")
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    # The slave stays open here too: with no slave open, reads of the
    # master fail, and Bochs opens the device only once it is configured.
    return Machine(setup, proc, master, slave, logdir, emulator_log)


# A PCI 16550 at a fixed slot, so that SeaBIOS gives its I/O BAR the same
# port on every boot (tests/integration/test_console_select.py).
PCI_SERIAL_ADDR = "0x5"


def start_pci_serial(setup, iso=DEFAULT_ISO, logdir=None, extra_args=()):
    """Boot `iso` in QEMU `setup` with a PCI serial card (-device pci-serial
    at slot PCI_SERIAL_ADDR) as the Machine's serial line: Machine.child and
    LOGDIR/serial.log are the card, and COM1 goes to LOGDIR/com1.log. For
    Lamina's console= and SPCR console selection on machines without COM1.
    """
    setup = _setup(setup)
    if setup.emulator != "qemu":
        raise EmuError(f"{setup.name}: a PCI serial card needs QEMU")
    check_available(setup, iso)
    logdir = os.path.abspath(logdir or os.path.join(BUILD, "run", setup.name))
    if os.path.isdir(logdir):
        shutil.rmtree(logdir)
    os.makedirs(logdir)
    master, slave, slave_name = _open_serial_pty()
    card = ["-chardev", f"serial,id=pciserial,path={slave_name}",
            "-device", f"pci-serial,chardev=pciserial,addr={PCI_SERIAL_ADDR}"]
    com1 = "file:" + os.path.join(logdir, "com1.log")
    try:
        proc = spawn_qemu(setup, iso, logdir, com1, card + list(extra_args))
    except BaseException:
        os.close(master)
        os.close(slave)
        raise
    return Machine(setup, proc, master, slave, logdir,
                   os.path.join(logdir, "qemu.log"))


def _start_unix(setup, iso, logdir, extra_args, path):
    if os.path.exists(path):
        os.unlink(path)
    serial_log = os.path.join(logdir, "serial.log")
    if setup.emulator == "qemu":
        chardev = ["-chardev", f"socket,id=serial0,path={_qemu_path(path)},"
                   f"server=on,wait=off,logfile={_qemu_path(serial_log)}"]
        proc = spawn_qemu(setup, iso, logdir, "chardev:serial0",
                          chardev + list(extra_args))
        return Machine(setup, proc, None, None, logdir,
                       os.path.join(logdir, "qemu.log"), serial_unix=path)
    master, slave, slave_name = _open_serial_pty()
    bridge = None
    try:
        bridge = _SerialBridge(master, path, serial_log, setup.type_delay)
        proc = spawn_bochs(setup, iso, logdir, slave_name, extra_args)
    except BaseException:
        if bridge is not None:
            bridge.listener.close()
            bridge.log.close()
        os.close(master)
        os.close(slave)
        raise
    bridge.start()
    return Machine(setup, proc, master, slave, logdir,
                   os.path.join(logdir, "bochs.log"), serial_unix=path,
                   bridge=bridge)


# ---------------------------------------------------------------- CLI

def _cmd_run(args):
    setup = _setup(args.setup)
    check_available(setup, args.iso)
    rundir = os.path.join(BUILD, "run", setup.name)
    if os.path.isdir(rundir):
        shutil.rmtree(rundir)
    os.makedirs(rundir)
    print(f"Lamina on {setup.name}: Ctrl-A X quits", flush=True)
    if setup.emulator == "qemu":
        argv = qemu_argv(setup, args.iso, rundir, "mon:stdio", args.extra)
        os.execvp(argv[0], argv)
    return _bochs_console(setup, args.iso, rundir, args.extra)


def _bochs_console(setup, iso, rundir, extra):
    """Bridge a Bochs serial pty to this terminal, QEMU-style Ctrl-A keys."""
    master, slave, slave_name = _open_serial_pty()
    proc = spawn_bochs(setup, iso, rundir, slave_name, extra)
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    if saved is not None:
        tty.setraw(stdin)
    status = None
    try:
        status = _bridge(proc, master, stdin, sys.stdout.fileno(),
                         setup.type_delay)
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        if proc.poll() is None:
            _killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        _close_pipes(proc)
        os.close(master)
        os.close(slave)
    print(f"\r\nbochs ended (status {proc.returncode}); its log: "
          f"{os.path.join(rundir, 'bochs.log')}")
    return 0 if status == "quit" else (proc.returncode or 0)


CTRL_A = 0x01
_CTRL_A_HELP = (b"\r\nC-a x  quit\r\nC-a C-a  send C-a\r\n"
                b"C-a h  this help\r\n")


def _bridge(proc, master, stdin, stdout, delay):
    escape = False
    stdin_open = True
    while proc.poll() is None:
        fds = [master] + ([stdin] if stdin_open else [])
        r, _, _ = select.select(fds, [], [], 0.2)
        if master in r:
            try:
                os.write(stdout, os.read(master, 4096))
            except OSError:
                pass
        if stdin in r:
            data = os.read(stdin, 1024)
            if not data:
                stdin_open = False
                continue
            out = bytearray()
            for b in data:
                if escape:
                    escape = False
                    if b in (ord("x"), ord("X")):
                        return "quit"
                    if b in (ord("h"), ord("H"), ord("?")):
                        os.write(stdout, _CTRL_A_HELP)
                    elif b == CTRL_A:
                        out.append(CTRL_A)
                    else:
                        out += bytes((CTRL_A, b))
                elif b == CTRL_A:
                    escape = True
                else:
                    out.append(b)
            for i in range(len(out)):  # paced: see Setup.type_delay
                os.write(master, bytes(out[i:i + 1]))
                time.sleep(delay)
    return "exited"


def _cmd_boot(args):
    """Boot headless, wait for the prompt, print seconds to it."""
    setup = _setup(args.setup)
    m = start(setup, args.iso, extra_args=args.extra)
    try:
        m.expect(re.escape(args.until), timeout=args.timeout or
                 setup.boot_timeout)
        took = time.monotonic() - m.started
        print(f"{setup.name}: {args.until.strip()!r} after {took:.1f} s "
              f"(log {m.serial_log})")
        return 0
    except EmuError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        m.stop()


def _cmd_argv(args):
    setup = _setup(args.setup)
    rundir = os.path.join(BUILD, "run", setup.name)
    os.makedirs(rundir, exist_ok=True)
    if setup.emulator == "qemu":
        argv = qemu_argv(setup, args.iso, rundir, "mon:stdio", args.extra)
    else:
        argv = bochs_files(setup, args.iso, rundir, "/dev/pts/N", args.extra)
        argv = ["env", "SDL_VIDEODRIVER=dummy"] + argv
        print(f"# bochsrc: {os.path.join(rundir, 'bochsrc')}")
    print(" ".join(argv))
    return 0


def _cmd_list(_args):
    for s in SETUPS.values():
        print(f"{s.name:10}  {s.what}")
    return 0


def _cmd_kvm(_args):
    usable, why = kvm_status()
    print(f"KVM nested: {'usable' if usable else 'not usable'}: {why}")
    print("QEMU runs with " + ("-accel kvm -cpu host" if usable else
                               "-accel tcg -cpu qemu64,+svm,+npt"))
    return 0 if usable else 1


def main(argv=None):
    p = argparse.ArgumentParser(prog="emu.py", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, fn, text in (
            ("run", _cmd_run, "boot SETUP with its serial console here"),
            ("boot", _cmd_boot, "boot SETUP headless and time the prompt"),
            ("argv", _cmd_argv, "print SETUP's emulator command line")):
        sp = sub.add_parser(name, help=text)
        sp.add_argument("setup", choices=list(SETUPS))
        sp.add_argument("--iso", default=DEFAULT_ISO)
        sp.add_argument("extra", nargs="*", help="more QEMU arguments or "
                        "bochsrc lines (after --)")
        sp.set_defaults(fn=fn)
        if name == "boot":
            sp.add_argument("--until", default=PROMPT)
            sp.add_argument("--timeout", type=float, default=0)
    sub.add_parser("list", help="the setups").set_defaults(fn=_cmd_list)
    sub.add_parser("kvm", help="can QEMU use nested KVM here, and why"
                   ).set_defaults(fn=_cmd_kvm)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except EmuError as e:
        print(f"emu.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
