"""Lab console: one teacher screen for a whole computer lab (no Qt).

The teacher's PC runs the console, which listens on one LAN port; student PCs are seats that
connect out to it. The seat side only ever reaches the operations of
:class:`~ai4artsed_desktop.lab.seat_actions.SeatActions`, which the app implements.
"""
