// Runs once when the conversation component loads (`element` is its root). Handlers are delegated so they keep
// working as the conversation HTML is replaced while answers stream in.
const state = { chat: null, turns: 0, busy: false, following: true, open: new Set(), quietUntil: 0, lastY: 0 };
const scroller = () => document.scrollingElement || document.documentElement;
const composerHeight = () => {
  const composer = document.getElementById("composer");
  return composer ? composer.getBoundingClientRect().height : 0;
};

function scrollBy(dy) {
  if (Math.abs(dy) < 1) return;
  state.quietUntil = Date.now() + 300;
  scroller().scrollBy({ top: dy, left: 0, behavior: "instant" });
  state.lastY = scroller().scrollTop;
}

// A new question: bring it to the top of the window.
function showQuestion(turn) {
  const question = turn.querySelector(".question");
  if (question) scrollBy(question.getBoundingClientRect().top - 12);
}

// While an answer streams: keep the end of its text above the question box.
function followAnswer(turn) {
  const text = turn.querySelector(".answer-text") || turn.querySelector(".answer");
  if (!text) return;
  const limit = window.innerHeight - composerHeight() - 12;
  const bottom = text.getBoundingClientRect().bottom;
  if (bottom > limit) scrollBy(bottom - limit);
}

// The reader scrolled up on purpose: stop following until the next question.
function stopFollowing() { if (state.busy) state.following = false; }
window.addEventListener("wheel", (e) => { if (e.deltaY < 0) stopFollowing(); }, { passive: true });
window.addEventListener("touchmove", stopFollowing, { passive: true });
window.addEventListener("keydown", (e) => {
  if (["PageUp", "ArrowUp", "Home"].includes(e.key) && !e.target.closest("textarea, input")) stopFollowing();
});
window.addEventListener("scroll", () => {
  const y = scroller().scrollTop;
  if (Date.now() > state.quietUntil && y < state.lastY - 4) stopFollowing();
  state.lastY = y;
}, { passive: true });

// Which <details> the reader opened, so a re-render (a new answer, a streamed token) keeps them open.
function detailsKey(details) {
  const turn = details.closest(".turn");
  const turns = Array.from(element.querySelectorAll(".conversation > .turn"));
  return `${state.chat}/${turns.indexOf(turn)}/${details.classList[0]}`;
}
element.addEventListener("toggle", (e) => {
  if (e.target.tagName !== "DETAILS" || e.target.closest(".unfinished")) return;
  const key = detailsKey(e.target);
  if (e.target.open) state.open.add(key); else state.open.delete(key);
}, true);

function restoreOpen() {
  element.querySelectorAll(".conversation > .turn details").forEach((d) => {
    if (state.open.has(detailsKey(d))) d.open = true;
  });
}

function onRender() {
  const conversation = element.querySelector(".conversation");
  if (!conversation) return;
  const turns = conversation.querySelectorAll(":scope > .turn");
  const last = turns[turns.length - 1];
  const busy = !!(last && last.querySelector(".unfinished"));
  const switched = conversation.dataset.chat !== state.chat;
  state.chat = conversation.dataset.chat;
  restoreOpen();
  if (switched || turns.length > state.turns || (busy && !state.busy)) {
    state.following = true;
    if (last) showQuestion(last);
  } else if (state.following && last && (busy || state.busy)) {
    followAnswer(last);
  }
  state.turns = turns.length;
  state.busy = busy;
}
watch("value", onRender);
onRender();

// Show one cited passage (n) in the answer's sources list with sentence s's support lit, or all of them.
function focusSource(answer, n, s) {
  const list = answer.querySelector("details.sources");
  if (!list) return null;
  list.classList.toggle("focused", n !== null);
  list.querySelectorAll("li.source").forEach((li) => { li.hidden = n !== null && li.dataset.cite !== n; });
  list.querySelectorAll("mark").forEach((m) => {
    m.classList.toggle("dim", s !== null && !(m.dataset.s || "").split(" ").includes(s));
  });
  answer.querySelectorAll(".cite-chip").forEach((c) => {
    const on = n !== null && c.dataset.cite === n && c.dataset.s === s;
    c.classList.toggle("active", on);
    c.setAttribute("aria-expanded", on ? "true" : "false");
  });
  return list.querySelector(`li.source[data-cite="${n}"]`);
}

function copyText(button) {
  const text = button.dataset.copy;
  const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy answer"; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, done);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
}

element.addEventListener("click", (event) => {
  const chip = event.target.closest(".cite-chip:not(.pending)");
  if (chip) {
    const answer = chip.closest(".answer");
    const list = answer.querySelector("details.sources");
    const opening = !chip.classList.contains("active");
    const item = focusSource(answer, opening ? chip.dataset.cite : null, opening ? chip.dataset.s : null);
    if (list) list.open = opening;
    if (opening && item) item.scrollIntoView({ block: "nearest" });
    return;
  }
  const summary = event.target.closest("details.sources.focused > summary");
  if (summary) {
    event.preventDefault();
    focusSource(summary.closest(".answer"), null, null);
    return;
  }
  const copy = event.target.closest(".copy-btn");
  if (copy) copyText(copy);
});
