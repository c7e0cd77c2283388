"""The shared vocabulary of the model and the reference: enumerations and constants.

Everything is in integer MiB. Enumerations are ``IntEnum`` so that the same comparison
(``vm.channel == Channel.READY``) works on Python values and on Z3 integer terms.
See specs/domain.md for the meaning of every name.
"""

from __future__ import annotations

from enum import IntEnum


class Power(IntEnum):
    """Power state of a VM (specs/domain.md §1.3)."""

    OFF = 0
    RUNNING = 1
    SAVED = 2  # saved to disk: owns no host memory, remembers its image size (saved_mib)
    STARTING = 3  # a start waiting for reclaim: owns nothing until StartAdmit (specs/lifecycle.md)


class Channel(IntEnum):
    """State of the DM channel between the host (VSP) and the guest (VSC), specs/protocol.md §1."""

    NONE = 0  # no DM session: the VM is off, static, or its guest has no DM-capable VSC
    NEGOTIATING = 1  # waiting for an acceptable VersionRequest
    CAPS = 2  # version accepted, waiting for the CapabilitiesReport
    QUIET = 3  # capabilities accepted; the quiet period runs, no DM request may be sent
    READY = 4  # the host may send DM requests
    FAILED = 5  # version negotiation exhausted (DM_INIT_ERROR): the VM stays at startup


class TxnKind(IntEnum):
    """The DM transaction a VM has in flight (at most one), specs/protocol.md §3."""

    NONE = 0
    BALLOON = 1
    UNBALLOON = 2
    HOT_ADD = 3


# Protocol versions: (major << 16) | minor, as on the wire (specs/protocol.md §1).
VERSION_WIN7 = 0x00000003  # 0.3
VERSION_WIN8 = 0x00010000  # 1.0
VERSION_WIN10 = 0x00020000  # 2.0
SUPPORTED_VERSIONS = (VERSION_WIN10, VERSION_WIN8, VERSION_WIN7)  # the guest's try order
VERSION_NAMES = {
    VERSION_WIN7: "0.3 (WIN7)", VERSION_WIN8: "1.0 (WIN8)", VERSION_WIN10: "2.0 (WIN10)",
}


class HostProfile(IntEnum):
    """Which host the VSP is: it decides the protocol versions the host accepts
    (specs/protocol.md §1.1). Spelled in files by :data:`HOST_PROFILE_WORDS`."""

    QEMU = 0  # accepts every version in [0.3, 2.0], as QEMU's hv-balloon does (the default)
    WS2008R2SP1 = 1  # Windows Server 2008 R2 SP1: 0.3 (WIN7) only
    WS2012 = 2  # Windows Server 2012: 0.3 and 1.0 (WIN8)

    def __repr__(self) -> str:
        return f"HostProfile.{self.name}"  # Python source, as in a printed program


# The versions each host profile accepts (specs/protocol.md §1.1, with the sources).
ACCEPTED_VERSIONS: dict[HostProfile, tuple[int, ...]] = {
    HostProfile.QEMU: (VERSION_WIN10, VERSION_WIN8, VERSION_WIN7),
    HostProfile.WS2008R2SP1: (VERSION_WIN7,),
    HostProfile.WS2012: (VERSION_WIN8, VERSION_WIN7),
}
# How a profile is spelled in scenario files, states, traces, the CLI and the oracle's hello.
HOST_PROFILE_WORDS: dict[HostProfile, str] = {
    HostProfile.QEMU: "qemu", HostProfile.WS2008R2SP1: "2008r2sp1", HostProfile.WS2012: "2012",
}
HOST_PROFILE_NAMES: dict[HostProfile, str] = {
    HostProfile.QEMU: "QEMU hv-balloon", HostProfile.WS2008R2SP1: "Windows Server 2008 R2 SP1",
    HostProfile.WS2012: "Windows Server 2012",
}

# Settings ranges, profile 2008R2SP1 (specs/domain.md §1.2).
MIN_STARTUP_MIB = 32
MAX_MAXIMUM_MIB = 65536
MIN_BUFFER_PERCENT = 5
MAX_BUFFER_PERCENT = 2000
MIN_WEIGHT = 0
MAX_WEIGHT = 10000
MEMORY_UNIT_MIB = 2  # every memory setting and every DM amount is a multiple of 2 MiB

DEFAULT_STARTUP_MIB = 512
DEFAULT_MAXIMUM_MIB = 65536
DEFAULT_BUFFER_PERCENT = 20
DEFAULT_WEIGHT = 5000

# Protocol caps per request (specs/protocol.md §4): QEMU hv-balloon's chunks in MiB.
BALLOON_REQUEST_CAP_MIB = 2288  # HR_CHUNK_PAGES = 585 728 pages of 4 KiB
HOT_ADD_REQUEST_CAP_MIB = 2048  # HA_CHUNK = 2 GiB
UNBALLOON_REQUEST_CAP_MIB = 2048  # one unballoon range of at most 2 GiB
BALLOON_RESPONSE_CAP_MIB = 1020  # 510 ranges of 2 MiB fit in one response message

# Hot-add alignment (specs/protocol.md §2, R-HOT-ADD-ALIGN): the capabilities report's 4-bit
# ``hot_add_alignment`` is log2 of MiB, so a guest advertises 1 MiB .. 32 GiB (Linux: its
# memory block size, typically 128 MiB). The host aligns hot-adds to the larger of it and the
# 2 MiB unit; before a report (and on the default guest) that is 2 MiB, as before alignment
# was modelled.
ADVERTISED_ALIGNMENTS_MIB = tuple(1 << k for k in range(16))  # what a report may say
DEFAULT_HOT_ADD_ALIGN_MIB = MEMORY_UNIT_MIB
HOT_ADD_ALIGNMENTS_MIB = tuple(a for a in ADVERTISED_ALIGNMENTS_MIB if a >= MEMORY_UNIT_MIB)
