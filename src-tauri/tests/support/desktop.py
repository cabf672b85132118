#!/usr/bin/python3
"""What a person does to the app's native windows, for the end-to-end tests (src-tauri/tests/e2e.rs),
which WebDriver cannot reach: it drives the web view only.

  desktop.py close TITLE             asks the top-level X window titled (…) TITLE to close, as a window
                                     manager's close button does (WM_DELETE_WINDOW)
  desktop.py answer TITLE BUTTON     waits for the native dialog titled TITLE and clicks its
                                     button BUTTON (through the accessibility bus, AT-SPI)
  desktop.py close-and-answer TITLE DIALOG BUTTON
                                     close, then answer; the close is pressed again every 5 s
                                     until the dialog shows up
  desktop.py gone TITLE              waits until no top-level X window is titled TITLE

Debian packages: python3-xlib, python3-gi, gir1.2-atspi-2.0 (scripts/install-deps.sh). Exits 1 with
a message when the window, dialog or button never shows up within 60 seconds.
"""

import sys
import time

DEADLINE = 60.0


def until(what, find, seen=lambda: ""):
    """Polls `find` until it returns something (a condition decides, not a duration); on
    timeout, says what there was instead (`seen`)."""
    end = time.monotonic() + DEADLINE
    while True:
        found = find()
        if found:
            return found
        if time.monotonic() > end:
            sys.exit(f"desktop.py: timed out waiting for {what}; {seen()}")
        time.sleep(0.1)


def x_titles():
    from Xlib import X, display

    d = display.Display()
    names = []
    todo = [d.screen().root]
    while todo:
        w = todo.pop()
        try:
            name = w.get_wm_name()
            if name and w.get_attributes().map_state == X.IsViewable:
                names.append(name)
            todo.extend(w.query_tree().children)
        except Exception:
            continue
    return "X windows: " + ", ".join(repr(n) for n in names)


def x_windows(title):
    from Xlib import X, display

    d = display.Display()
    found = []
    todo = [d.screen().root]
    while todo:
        w = todo.pop()
        try:
            name = w.get_wm_name()
            # The app may prefix the title with the open document's name.
            titled = isinstance(name, str) and (name == title or name.endswith(" " + title))
            if titled and w.get_attributes().map_state == X.IsViewable:
                found.append(w)
            todo.extend(w.query_tree().children)
        except Exception:  # a window that went away meanwhile
            continue
    return d, found


def close(title):
    from Xlib import X, protocol

    d, windows = until(f"a window titled {title!r}", lambda: (lambda r: r if r[1] else None)(x_windows(title)))
    protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    for w in windows:
        event = protocol.event.ClientMessage(
            window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
        )
        w.send_event(event, event_mask=X.NoEventMask)
    d.flush()


def gone(title):
    until(f"no window titled {title!r}", lambda: not x_windows(title)[1], x_titles)


def answer(title, button, close_title=None):
    import gi

    gi.require_version("Atspi", "2.0")
    from gi.repository import Atspi

    def find_button(node):
        if node.get_role() == Atspi.Role.PUSH_BUTTON and node.get_name() == button:
            return node
        for k in range(node.get_child_count()):
            child = node.get_child_at_index(k)
            if child is not None:
                hit = find_button(child)
                if hit is not None:
                    return hit
        return None

    def find_target():
        # GTK names a message dialog's accessible by its kind ("Warning"), not its title: the
        # dialog is the X window titled TITLE, and its button is in one of the app's dialogs.
        if not x_windows(title)[1]:
            return None
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is None:
                continue
            for j in range(app.get_child_count()):
                w = app.get_child_at_index(j)
                if w is not None and w.get_role() in (Atspi.Role.ALERT, Atspi.Role.DIALOG):
                    hit = find_button(w)
                    if hit is not None:
                        return hit
        return None

    def seen():
        desktop = Atspi.get_desktop(0)
        apps = []
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is None:
                continue
            windows = [app.get_child_at_index(j) for j in range(app.get_child_count())]
            apps.append(f"{app.get_name()!r}: {[(w.get_name(), w.get_role_name()) for w in windows if w is not None]}")
        return f"accessible apps: {'; '.join(apps) or 'none'}; {x_titles()}"

    def find_or_close_again():
        # A close that asked nothing yet (once, on a busy machine, the first close button press
        # went unanswered) is pressed again, as a person would, every few seconds.
        hit = find_target()
        if (
            hit is None
            and close_title is not None
            and time.monotonic() > state["next_close"]
            and not x_windows(title)[1]
        ):
            close(close_title)
            state["next_close"] = time.monotonic() + 5
        return hit

    state = {"next_close": time.monotonic() + 5}
    target = until(f"the button {button!r} of the dialog {title!r}", find_or_close_again, seen)
    target.get_action_iface().do_action(0)


def main(argv):
    if len(argv) == 3 and argv[1] == "close":
        close(argv[2])
    elif len(argv) == 3 and argv[1] == "gone":
        gone(argv[2])
    elif len(argv) == 4 and argv[1] == "answer":
        answer(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "close-and-answer":
        close(argv[2])
        answer(argv[3], argv[4], close_title=argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
