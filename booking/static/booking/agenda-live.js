// The agenda updates itself: a websocket says which shown day changed, and the grid, which
// listens for "agenda-changed" on <body> (hx-trigger), reloads itself over HTTP.
// The page works without this file: the grid is then as fresh as its last load.
(function () {
  "use strict";
  const MAX_DAYS = 7; // what the server accepts (booking/consumers.py)
  const DEBOUNCE_MS = 300; // a burst of changes (a closure cancelling ten) is one reload
  const MAX_WAIT_MS = 30000; // back-off ceiling between reconnection attempts
  const NOTE_AFTER_MS = 3000; // paused this long before the note shows
  let socket = null;
  let attempts = 0; // failed attempts since the last open socket
  let retry = null;
  let pending = null;
  let reloading = false; // the grid's own reload is on its way
  let again = false; // a notice came during that reload: reload once more after it
  let missed = false; // disconnected since the grid was loaded: changes may have been missed
  let noteTimer = null;

  function grid() {
    return document.querySelector("#agenda-grid[data-agenda-day]");
  }

  function shownDays() {
    const element = grid();
    if (!element) return [];
    return element.dataset.agendaDay.split(/[\s,]+/).filter(Boolean).slice(0, MAX_DAYS);
  }

  // data-live="on" / "paused" on the grid and <body>; an element marked data-agenda-live-note
  // (a "live updates paused" note, hidden in the markup) is shown after NOTE_AFTER_MS paused,
  // so that a reload or a reconnection does not make it flicker.
  function mark(state) {
    document.body.dataset.agendaLive = state;
    const element = grid();
    if (element) element.dataset.live = state;
    clearTimeout(noteTimer);
    if (state === "on") {
      showNote(false);
    } else {
      noteTimer = setTimeout(() => {
        showNote(document.body.dataset.agendaLive !== "on");
      }, NOTE_AFTER_MS);
    }
  }

  function showNote(shown) {
    document.querySelectorAll("[data-agenda-live-note]").forEach((note) => {
      note.hidden = !shown;
    });
  }

  function watch() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "watch", days: shownDays() }));
    }
  }

  function changed() {
    // At most one reload per DEBOUNCE_MS, and never later than that after the first notice.
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      if (reloading) {
        // A reload is on its way: its answer may predate this notice, and while the grid is
        // being swapped the event would find no listener. Reload once more when it is in.
        again = true;
        return;
      }
      document.body.dispatchEvent(new Event("agenda-changed"));
    }, DEBOUNCE_MS);
  }

  function isGrid(element) {
    return Boolean(element && element.id === "agenda-grid");
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (isGrid(event.detail.elt)) reloading = true;
  });

  function reloaded() {
    if (!reloading) return;
    reloading = false;
    if (again) {
      again = false;
      changed();
    }
  }
  // The swap is done (or the reload failed): a notice that came meanwhile is honoured now.
  document.addEventListener("htmx:afterSettle", reloaded);
  document.addEventListener("htmx:responseError", reloaded);
  document.addEventListener("htmx:sendError", reloaded);

  function connect() {
    retry = null;
    if (socket || !grid()) return;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const opened = new WebSocket(scheme + window.location.host + "/ws/agenda/");
    socket = opened;
    opened.addEventListener("open", () => {
      attempts = 0;
      watch();
      if (missed) changed(); // catch up on what happened while the socket was down
      missed = false;
    });
    opened.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame.type === "watching") mark("on"); // the server now sends this page's days
      if (frame.type === "changed" && shownDays().includes(frame.day)) changed();
    });
    opened.addEventListener("close", (event) => {
      if (socket === opened) socket = null;
      missed = true;
      mark("paused");
      // 4403: signed out, or no longer staff. The next page load decides, not a retry loop.
      if (event.code === 4403) return;
      reconnectLater();
    });
  }

  function reconnectLater() {
    if (retry) return;
    // Exponential back-off with jitter (as htmx's websocket extension does for messaging), so
    // a restarted server is not met by every desk at the same instant.
    const ceiling = Math.min(1000 * 2 ** attempts, MAX_WAIT_MS);
    attempts += 1;
    retry = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  // A reload asked by a notice is not the receptionist's activity: it must not keep an
  // unattended session signed in (portal/sessions.py reads this header).
  document.addEventListener("htmx:configRequest", (event) => {
    const trigger = event.detail.triggeringEvent;
    if (trigger && trigger.type === "agenda-changed") {
      event.detail.headers["X-Accueil-Background"] = "1";
    }
  });

  // After any swap (the grid reloaded, another day or week chosen): watch what is shown now.
  document.addEventListener("htmx:afterSettle", () => {
    if (!grid()) return;
    if (socket) {
      mark("paused"); // until the server confirms the new days
      watch();
    } else {
      connect();
    }
  });

  // Back online (the laptop woke up, the network came back): try at once.
  window.addEventListener("online", () => {
    attempts = 0;
    if (!socket) connect();
  });

  connect();
})();
