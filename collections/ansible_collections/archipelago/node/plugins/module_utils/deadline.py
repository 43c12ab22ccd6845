# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""One deadline per module run.

The clients check the deadline themselves between attempts and between the pieces of a reply,
which gives the clearest message. What they cannot interrupt (a name lookup, a server that
trickles its status line or headers one byte at a time, a read inside a library) is cut by a
backstop: a real-time timer (SIGALRM) armed for the whole run that raises DeadlinePassed. It
derives from BaseException so that no `except Exception` on the way swallows it.

The timer is armed only in the main thread of a process (a module run by AnsiballZ). Where that
is not so (Mitogen runs modules in threads), the clients' own checks remain.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import math
import signal
import threading
import time


BACKSTOP_S = 15   # the hard deadline comes this long after the clients' own, which word it better


class DeadlinePassed(BaseException):
    """The run's time is up."""


def budget_for(timeout, retries, slack=120):
    """Seconds one run may take: every exchange (each up to `timeout`) of every attempt, plus
    the back-offs between them (capped at 30 s each, `slack` in all)."""
    return timeout * (retries + 3) + slack


def remaining(deadline, floor=0.1):
    """Seconds left until `deadline` (time.monotonic()), at least `floor`; None without one."""
    if deadline is None:
        return None
    return max(floor, deadline - time.monotonic())


def socket_timeout(timeout, deadline):
    """The timeout for one socket operation: `timeout`, shortened to what is left of the run."""
    left = remaining(deadline)
    return timeout if left is None else min(timeout, left)


def _armable():
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def hard_deadline(seconds):
    """Raise DeadlinePassed in the body when it runs longer than `seconds` (a finite number
    above 0). Restores the previous SIGALRM handler and timer afterwards."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds) \
            or seconds <= 0:
        raise ValueError("a deadline is a finite number of seconds above 0, not %r" % (seconds,))
    if not _armable():
        yield
        return

    def _expired(signum, frame):
        raise DeadlinePassed("the run took longer than %g s" % seconds)

    previous = signal.signal(signal.SIGALRM, _expired)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay:
            signal.setitimer(signal.ITIMER_REAL, old_delay, old_interval)
