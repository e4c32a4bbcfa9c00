// Live conversation: catch up on (re)connect, read marks, typing, quick replies, scrolling.
// The page works without this file: the form then posts and the page reloads.
(function () {
  "use strict";
  let socket = null; // htmx ws extension's socket wrapper, set while connected
  let lastTyping = 0;
  let lastReadSent = 0;
  let typingTimer = null;

  function messages() { return document.getElementById("messages"); }

  function lastSeq() {
    const items = messages() ? messages().querySelectorAll("li[data-seq]") : [];
    let max = 0;
    items.forEach((item) => { max = Math.max(max, Number(item.dataset.seq)); });
    return max;
  }

  function viewerSide() {
    const live = document.getElementById("live");
    return live ? live.dataset.side : "";
  }

  function send(payload) {
    if (socket) socket.send(JSON.stringify(payload));
  }

  function markRead() {
    if (!socket || document.visibilityState !== "visible") return;
    const seq = lastSeq();
    if (seq > lastReadSent) {
      lastReadSent = seq;
      send({ type: "read", seq: seq });
    }
  }

  document.addEventListener("htmx:wsOpen", (event) => {
    socket = event.detail.socketWrapper;
    // Everything after the last message this page shows, in order, once.
    socket.sendImmediately(JSON.stringify({ type: "hello", last_seq: lastSeq() }));
    document.getElementById("live")?.setAttribute("data-connected", "true");
  });

  document.addEventListener("htmx:wsClose", () => {
    socket = null;
    document.getElementById("live")?.setAttribute("data-connected", "false");
  });

  document.addEventListener("htmx:wsConfigSend", (event) => {
    const form = event.target;
    const file = form.querySelector("input[type=file]");
    // Attachments, and sending while disconnected, go through the plain form post instead
    // (htmx has already cancelled the submit event; form.submit() fires no second one).
    if (!socket || (file && file.files.length > 0)) {
      event.preventDefault();
      form.submit();
      return;
    }
    delete event.detail.parameters.csrfmiddlewaretoken;
    delete event.detail.parameters.attachment;
    event.detail.headers = null;
  });

  document.addEventListener("htmx:wsAfterMessage", () => {
    const list = messages();
    if (list && list.lastElementChild) list.lastElementChild.scrollIntoView({ block: "nearest" });
    markRead();
    const typing = document.getElementById("typing");
    if (typing && typing.textContent.trim()) {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typing.textContent = ""; }, 4000);
    }
  });

  document.addEventListener("visibilitychange", markRead);

  document.addEventListener("input", (event) => {
    if (event.target.id !== "compose-body") return;
    const now = Date.now();
    if (now - lastTyping > 2500) {
      lastTyping = now;
      send({ type: "typing" });
    }
  });

  // Quick replies: inserted on an explicit action only (the Insert button, or Enter on the
  // list). Never on "change": keyboard users go through the options with the arrow keys, and
  // browsers fire "change" on every arrow press of a closed <select>.
  function insertQuickReply() {
    const select = document.getElementById("quick-reply");
    const body = document.getElementById("compose-body");
    if (!select || !body || !select.value) return;
    body.value = body.value ? body.value + "\n" + select.value : select.value;
    select.value = "";
    body.focus();
    body.setSelectionRange(body.value.length, body.value.length);
  }

  function showQuickReplies() {
    document.querySelectorAll("[data-quick-reply-box][hidden]").forEach((box) => {
      box.hidden = false;
    });
  }

  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("[data-quick-reply-insert]")) {
      insertQuickReply();
    }
  });

  document.addEventListener("keydown", (event) => {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-quick-reply")) return;
    if (event.key === "Enter") {
      event.preventDefault(); // never submits the message
      insertQuickReply();
    }
  });

  // The compose form is replaced after each message sent over the socket: show it again.
  document.addEventListener("DOMContentLoaded", showQuickReplies);
  document.addEventListener("htmx:wsAfterMessage", showQuickReplies);

  // Keeps the presence row fresh, so the "new message" e-mail is not sent while reading.
  setInterval(() => send({ type: "ping" }), 60000);
})();
