"""Lab console: one teacher screen for a whole computer lab (asyncio, no Qt).

The teacher's PC runs the console, which listens on one LAN port (TLS 1.3); student PCs
are seats that connect out to it. A seat joins once with the short class code (SPAKE2,
the code is never sent), pins the console's certificate and keeps a secret for later
reconnects. The seat side only ever reaches the operations of
:class:`~ai4artsed_desktop.lab.seat_actions.SeatActions`, which the app implements.
Threat model: docs/lab-console-threat-model.md.

Console (teacher PC)::

    console = LabConsole(data_dir, port=DEFAULT_PORT, on_change=refresh)  # class is loaded
    await console.start()
    console.class_code        # "K7Q-F3P", for the screen
    console.new_class_code()  # fresh code; also unlocks pairing after too many wrong codes
    console.pairing_open = False          # stop accepting new seats
    console.seats()           # [SeatView(seat_id, name, online, address, status, ...)]
    await console.push_profile(profile_dict)              # -> {seat_id: SeatResult}
    await console.prepare_lesson(on_progress=lambda seat_id, fraction, text: ...)
    await console.set_paused(True, "Eyes on me!"); await console.set_paused(False)
    await console.blocked_attempts(limit=50)             # SeatResult.value: list of rows
    await console.collect_portfolios()                   # SeatResult.path: the saved zip
    await console.wipe()                                 # refused before collection unless
    await console.wipe(without_collection=True)          # the teacher confirmed it
    await console.send(action, args, seat_ids)           # the general form
    console.forget_seat(seat_id); await console.close()

Every wrapper takes ``seat_ids`` (None: every known seat). An offline seat answers at once
with ``SeatResult(ok=False, error="the seat is offline")``; a seat that drops while working
gets the command again (same id, never run twice) when it is back within
``reconnect_grace_s`` (default 60 s), else it answers "the seat went offline during this
command". ``SeatResult.error`` is English (the log); ``error_key`` and ``error_params`` name
the same reason in the UI's catalogues (the console's own refusals and the seat's errors),
``error_problems`` lists a refused lesson profile's problems (``ContentProblem``, keyed).
``prepare_lesson`` and ``collect_portfolios`` also take ``timeout_s``.
``console.start()`` raises ``LabError`` (key ``error.lab.port_busy``) when the port is taken;
``console.remove_listener(cb)`` undoes ``add_listener``. Both sides keep their files in
``DATA_DIR/lab`` (:data:`~ai4artsed_desktop.lab.state.LAB_FOLDER`).

Seat (student PC)::

    seat = LabSeat(data_dir, actions, on_link=show_link_state)   # SeatLink enum
    if not seat.paired:
        await seat.pair(host, port, code, seat_name)   # raises LabError (friendly, with key)
    task = asyncio.create_task(seat.run())            # connects, reconnects with backoff
    seat.notify_status_changed()                      # push SeatStatus now
    seat.unpair(); await seat.close()
"""

from .console import DEFAULT_PORT, LabConsole, SeatResult, SeatView
from .protocol import LabError
from .seat import LabSeat, SeatLink
from .seat_actions import ProgressFn, SeatActions, SeatStatus

__all__ = [
    "DEFAULT_PORT",
    "LabConsole",
    "LabError",
    "LabSeat",
    "ProgressFn",
    "SeatActions",
    "SeatLink",
    "SeatResult",
    "SeatStatus",
    "SeatView",
]
